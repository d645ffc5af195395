"""GLM results: statsmodels' names and numbers, from one pass at the solution.

Everything :class:`GLMResults` reports about the fitted model comes from a
single pass over the data at the solution (:func:`statistics_pass`): the
Fisher information ``X' W X``, the sandwich meat of the robust covariances,
the deviance, Pearson's chi-squared, the log-likelihood, and the same
quantities for the null (intercept-only) model, whose coefficients are
known before the pass (a weighted mean of ``y``, or a small intercept-only
fit when there is an offset).

Conventions follow statsmodels' ``GLMResults`` (0.15): ``nobs`` counts rows,
frequency weights enter ``df_resid``, ``aic`` and ``bic`` through their sum;
``scale`` is Pearson's chi-squared over ``df_resid`` for the Normal family
and 1 otherwise; the Normal identity-link log-likelihood is profiled over
the scale; ``bic`` is ``bic_llf``.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import numpy as np
import pandas as pd
from scipy import stats

from ..math.families import Normal
from ..math.links import Identity
from ..passes.objective import _gram_and_moment, _in_row_blocks, _weighted_gram

__all__ = ["GLMResults", "statistics_pass"]

COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")

_N_SCALARS = 8  # deviance, pearson, rss, llf at scale 1, sum fw log vw, null: dev, rss, llf


@dataclass(frozen=True)
class FitStatistics:
    """The sums one pass at the solution returns."""

    deviance: float
    pearson_chi2: float
    rss: float                    # sum of weighted squared response residuals
    llf_unit_scale: float         # sum fw * loglike_obs(y, mu, vw, scale=1)
    sum_freq_log_var: float       # sum fw * log(vw)
    null_deviance: float
    null_rss: float
    null_llf_unit_scale: float
    information: np.ndarray       # X' diag(fw * vw * Fisher weight) X
    meat: np.ndarray | None       # sum over rows of score_i score_i' (HC0's meat), if asked
    observed_information: np.ndarray  # X' diag(fw * vw * d2 nll / d eta2) X
    score: np.ndarray | None = None   # X' (fw * vw * -d nll / d eta): the summed scores
    group_scores: np.ndarray | None = None  # per cluster, the sum of its rows' scores


def _statistics_chunk(*args):
    return _in_row_blocks(_statistics_rows, *args)


def _statistics_rows(X_aug, y, offset, weights, layout, family, coef, null_coef, null_mean,
                     meat, observed, n_groups):
    X, fw, vw = layout.split(X_aug)
    n = X.shape[0]
    iw = np.ones(n) if weights is None else weights
    fw = np.ones(n) if fw is None else fw
    vw = np.ones(n) if vw is None else vw
    eta = np.asarray(X @ coef)
    null_eta = None if null_coef is None else np.full(n, null_coef)
    if offset is not None:
        eta = eta + offset
        null_eta = None if null_eta is None else null_eta + offset
    with np.errstate(all="ignore"):
        mu = family.mean(eta)
        _, grad, fisher = family.derivatives(y, eta, hessian=True)
        score = -grad * iw
        meat_weight = np.divide(np.square(score), fw, out=np.zeros(n), where=fw > 0)
        resid = y - mu
        null_mu = np.full(n, null_mean) if null_eta is None else family.mean(null_eta)
        sums = [
            iw @ family.unit_deviance(y, mu),
            iw @ (np.square(resid) / family.variance(mu)),
            iw @ np.square(resid),
            fw @ family.loglike_obs(y, mu, vw, 1.0),
            fw @ np.log(vw),
            iw @ family.unit_deviance(y, null_mu),
            iw @ np.square(y - null_mu),
            fw @ family.loglike_obs(y, null_mu, vw, 1.0),
        ]
    information, score_sum = _gram_and_moment(X, iw * fisher, score)
    parts = [np.asarray(sums, dtype=float), score_sum, information.ravel()]
    if meat:
        parts.append(_weighted_gram(X, meat_weight).ravel())
    if observed:  # not a Gram matrix: its weights may be negative
        parts.append((X.T @ (X * (iw * family.observed_weights(y, eta))[:, None])).ravel())
    if n_groups:
        group_scores = np.zeros((n_groups, X.shape[1]))
        np.add.at(group_scores, layout.group_codes(X_aug), X * score[:, None])
        parts.append(group_scores.ravel())
    return np.concatenate(parts)


def statistics_pass(design, family, coef, *, null_coef=None, null_mean=None,
                    groups=None, cov_type="HC0") -> FitStatistics:
    """One pass over ``design`` at ``coef``: every sum the results need.

    The null model is ``mu = null_mean`` in every row, or, with an offset,
    ``mu = g^{-1}(null_coef + offset)``. For a non-canonical link the
    observed information (the robust covariances' bread, as in statsmodels)
    is summed too; for a canonical link it is the Fisher information.
    ``groups``, ``(codes, n_groups)`` from :func:`daskglm.design.group_codes`,
    adds each cluster's summed scores (``n_groups x n_features`` numbers).
    Only what ``cov_type`` needs is summed: the HC meat for ``"HC0"`` and
    ``"HC1"``, the observed information for a robust covariance.
    """
    codes, n_groups = (None, 0) if groups is None else groups
    X_aug, layout = design.augmented(codes)
    data = design.chunked(X_aug)
    meat = cov_type in ("HC0", "HC1")
    observed = cov_type != "nonrobust" and not family.is_canonical
    flat = data.map_reduce(_statistics_chunk, layout, family, np.asarray(coef, dtype=float),
                           null_coef, null_mean, meat, observed, n_groups)
    p = design.n_features
    scalars, score, rest = np.split(flat, [_N_SCALARS, _N_SCALARS + p])
    n_matrices = 1 + meat + observed
    matrices = list(rest[:n_matrices * p * p].reshape(-1, p, p))
    group_scores = rest[n_matrices * p * p:].reshape(n_groups, p) if n_groups else None
    information = matrices.pop(0)
    return FitStatistics(*map(float, scalars), information=information,
                         meat=matrices.pop(0) if meat else None,
                         observed_information=matrices.pop(0) if observed else information,
                         score=score, group_scores=group_scores)


def _normal_loglike(rss, sum_fw, sum_fw_log_vw, scale):
    """sum fw * log N(y | mu, scale / vw), from its three sums."""
    return -0.5 * (rss / scale + sum_fw * np.log(2.0 * np.pi * scale) - sum_fw_log_vw)


class GLMResults:
    """Results of a GLM fit, with statsmodels' names and values.

    Built by :meth:`daskglm.GLM.fit` and :meth:`daskglm.GLM.fit_regularized`;
    not meant to be constructed directly.

    Attributes
    ----------
    model : GLM
    params : pandas.Series
        Coefficients, indexed by column name.
    bse, tvalues, pvalues : pandas.Series
        Standard errors, z statistics and two-sided normal p-values (NaN for
        regularized fits).
    llf, llnull, deviance, null_deviance, pearson_chi2, scale : float
    aic, bic, bic_llf, bic_deviance : float
        ``bic`` is ``bic_llf``, as statsmodels 0.15.
    nobs : int
        Rows used (not weighted). ``df_resid`` uses the sum of ``freq_weights``.
    df_model, df_resid : int or float
    converged : bool
    n_iter : int
    method : str
        The solver.
    cov_type : str
    solver_result : SolverResult
    """

    use_t = False

    def __init__(self, model, design, solver_result, statistics: FitStatistics, *,
                 method, cov_type="nonrobust", regularizer=None, sum_freq_weights,
                 use_correction=True):
        self.model = model
        self.family = model.family
        self._design = design
        self.solver_result = solver_result
        self.method = method
        self.cov_type = cov_type
        self.regularizer = regularizer
        self._stats = statistics
        self.params = pd.Series(solver_result.coef, index=list(design.exog_names))
        self.converged = solver_result.converged
        self.n_iter = solver_result.n_iter
        self.nobs = design.n_rows
        self.wnobs = sum_freq_weights
        self.df_model = design.n_features - 1
        self.df_resid = self.wnobs - self.df_model - 1
        if design.freq_weights is None:
            self.df_resid = int(round(self.df_resid))
        self.deviance = statistics.deviance
        self.null_deviance = statistics.null_deviance
        self.pearson_chi2 = statistics.pearson_chi2
        self.scale = self.pearson_chi2 / self.df_resid if self.family.estimates_scale else 1.0
        self.llf, self.llnull = self._loglikelihoods()
        self.cov_kwds = {"description": _COV_DESCRIPTIONS[cov_type]}
        if cov_type == "cluster":
            self.n_groups = statistics.group_scores.shape[0]
            self.cov_kwds["use_correction"] = bool(use_correction)
        self._cov = self._covariance()

    # -- likelihood and information criteria ---------------------------------
    def _loglikelihoods(self):
        s = self._stats
        if not self.family.estimates_scale:
            return s.llf_unit_scale, s.null_llf_unit_scale
        if not isinstance(self.family, Normal):
            raise NotImplementedError(
                f"the log-likelihood of {self.family!r} at an estimated scale is not implemented")
        profiled = isinstance(self.family.link, Identity)
        llf_scale = s.rss / self.wnobs if profiled else self.scale
        llf = _normal_loglike(s.rss, self.wnobs, s.sum_freq_log_var, llf_scale)
        llnull = _normal_loglike(s.null_rss, self.wnobs, s.sum_freq_log_var, self.scale)
        return llf, llnull

    @property
    def aic(self) -> float:
        """-2 llf + 2 (df_model + 1)."""
        return -2.0 * self.llf + 2.0 * (self.df_model + 1)

    @property
    def bic_llf(self) -> float:
        """-2 llf + log(sum of freq_weights) (df_model + 1)."""
        return -2.0 * self.llf + np.log(self.wnobs) * (self.df_model + 1)

    @property
    def bic_deviance(self) -> float:
        """deviance - df_resid log(sum of freq_weights)."""
        return self.deviance - (self.wnobs - self.df_model - 1) * np.log(self.wnobs)

    @property
    def bic(self) -> float:
        """The Bayes information criterion from the log-likelihood (``bic_llf``)."""
        return self.bic_llf

    def pseudo_rsquared(self, kind="cs") -> float:
        """Cox-Snell (``"cs"``, default) or McFadden (``"mcf"``) pseudo R-squared."""
        kind = kind.lower()
        if kind.startswith("mcf"):
            return 1.0 - self.llf / self.llnull
        if kind.startswith("cox") or kind in ("cs", "lr"):
            return 1.0 - np.exp((self.llnull - self.llf) * (2.0 / self.nobs))
        raise ValueError(f"kind must be 'cs' or 'mcf', got {kind!r}")

    # -- covariance and tests ----------------------------------------------
    def _covariance(self):
        p = len(self.params)
        if self.regularizer is not None:
            return np.full((p, p), np.nan)
        if self.cov_type == "nonrobust":
            return self.scale * np.linalg.inv(self._stats.information)
        bread = np.linalg.inv(self._stats.observed_information)
        if self.cov_type != "cluster":
            # HC0 and HC1 alike: statsmodels' GLM applies no small-sample factor to HC1.
            return bread @ self._stats.meat @ bread
        scores = self._stats.group_scores
        cov = bread @ (scores.T @ scores) @ bread
        if self.cov_kwds["use_correction"]:
            n, k, groups = self.nobs, p, self.n_groups
            cov *= groups / (groups - 1.0) * (n - 1.0) / (n - k)
        return cov

    @property
    def normalized_cov_params(self) -> np.ndarray:
        """The inverse Fisher information (covariance at unit scale)."""
        if self.regularizer is not None:
            return np.full_like(self._cov, np.nan)
        return np.linalg.inv(self._stats.information)

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates (of ``cov_type``)."""
        names = self.params.index
        return pd.DataFrame(self._cov, index=names, columns=names)

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self._cov)), index=self.params.index)

    @property
    def tvalues(self) -> pd.Series:
        return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2.0 * stats.norm.sf(np.abs(self.tvalues)), index=self.params.index)

    def conf_int(self, alpha=0.05) -> pd.DataFrame:
        """Normal confidence intervals, columns 0 (lower) and 1 (upper)."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        half = stats.norm.ppf(1.0 - alpha / 2.0) * self.bse
        return pd.DataFrame({0: self.params - half, 1: self.params + half})

    # -- fitted values and residuals (lazy for dask data) ---------------------
    def _rowwise(self, func, *arrays):
        """``func(family, *blocks)`` per chunk (dask) or on the arrays (numpy)."""
        if self._design.is_dask:
            return da.map_blocks(func, self.family, *arrays, dtype=float)
        return func(self.family, *arrays)

    @property
    def _linear_predictor(self):
        eta = self._design.X @ self.params.to_numpy()
        return eta if self._design.offset is None else eta + self._design.offset

    @property
    def mu(self):
        """Fitted means ``g^{-1}(X b + offset)`` (a dask array for dask data)."""
        return self._rowwise(_mean, self._linear_predictor)

    fittedvalues = mu

    @property
    def resid_response(self):
        """``y - mu``."""
        return self._design.y - self.mu

    @property
    def resid_working(self):
        """``(y - mu) * g'(mu)``."""
        return self._rowwise(_working_residuals, self._design.y, self.mu)

    @property
    def resid_pearson(self):
        """``(y - mu) sqrt(var_weights / V(mu))``."""
        return self._rowwise(_pearson_residuals, *self._with_var_weights())

    @property
    def resid_deviance(self):
        """Signed square roots of the (variance-weighted) unit deviances."""
        return self._rowwise(_deviance_residuals, *self._with_var_weights())

    def _with_var_weights(self):
        arrays = [self._design.y, self.mu]
        if self._design.var_weights is not None:
            arrays.append(self._design.var_weights)
        return arrays

    # -- prediction and display ---------------------------------------------
    def predict(self, new_data=None, which="mean", offset=None, exposure=None):
        """Predicted means (``which="mean"``) or linear predictors (``"linear"``).

        Parameters
        ----------
        new_data : DataFrame (formula models) or array (array models), optional
            Without it, the fitted values of the training rows.
        which : {"mean", "linear"}
        offset, exposure : column name (formula models) or array aligned with
            ``new_data``'s rows, optional. As in statsmodels, new data get no
            offset unless one is given here.

        Returns
        -------
        dask Series for a dask DataFrame (rows with a missing value: NaN);
        pandas Series for a pandas DataFrame; an array like ``new_data`` for arrays.
        """
        return self.model.predict(self.params.to_numpy(), new_data, which=which,
                                  offset=offset, exposure=exposure)

    def summary(self, yname=None, xname=None, title=None, alpha=0.05):
        """statsmodels' GLM summary (a ``statsmodels.iolib.summary.Summary``)."""
        from .summary import glm_summary

        return glm_summary(self, yname=yname, xname=xname, title=title, alpha=alpha)

    def plot_convergence(self, ax=None):
        """Plot the solver's history (see :meth:`SolverResult.plot`)."""
        return self.solver_result.plot(ax=ax)

    def __repr__(self):
        return (f"<GLMResults: {self.family!r}, {self.method}, nobs={self.nobs}, "
                f"converged={self.converged}>")


# Row-wise functions of the lazy arrays: module-level, so they pickle for workers.
def _mean(family, eta):
    return family.mean(eta)


def _working_residuals(family, y, mu):
    return (y - mu) * family.link.deriv(mu)


def _pearson_residuals(family, y, mu, var_weights=1.0):
    return (y - mu) * np.sqrt(var_weights / family.variance(mu))


def _deviance_residuals(family, y, mu, var_weights=1.0):
    unit = np.clip(var_weights * family.unit_deviance(y, mu), 0.0, None)
    return np.sign(y - mu) * np.sqrt(unit)


_COV_DESCRIPTIONS = {
    "nonrobust": "Standard Errors assume that the covariance matrix of the errors is "
                 "correctly specified.",
    "HC0": "Standard Errors are heteroscedasticity robust (HC0)",
    "HC1": "Standard Errors are heteroscedasticity robust (HC1)",
    "cluster": "Standard Errors are robust to cluster correlation (cluster)",
}
