"""GLM results: statsmodels' names and numbers, from one pass at the solution.

Everything :class:`GLMResults` reports about the fitted model comes from a
single pass over the data at the solution
(:func:`daskglm.passes.statistics.statistics_pass`): the
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

import dask.array as da
import numpy as np
import pandas as pd
from scipy import stats

from ..math.families import Normal
from ..math.links import Identity
from ..passes.block_hessian import BlockHessian
from ..passes.statistics import FitStatistics
from .covariance import COV_TYPES, covariance_matrix

__all__ = ["GLMResults", "DENSE_COVARIANCE_LIMIT"]

#: A fit with coded categorical terms builds its dense covariance matrix only
#: up to this many coefficients (its standard errors come without it).
DENSE_COVARIANCE_LIMIT = 5000


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
                 cov_options=None):
        self.model = model
        self.family = model.family
        self._design = design
        self.solver_result = solver_result
        self.method = method
        self.cov_type = cov_type
        self.regularizer = regularizer
        self._stats = statistics
        # the fit's layout may differ from the names' order (coded terms)
        self.params = pd.Series(design.to_patsy(solver_result.coef),
                                index=list(design.exog_names))
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
        # statsmodels' cov_kwds: the description and the options (not the groups' labels)
        self.cov_kwds = {"description": COV_TYPES[cov_type].description,
                         **{k: v for k, v in (cov_options or {}).items() if k != "groups"}}
        if statistics.group_scores is not None:
            self.n_groups = statistics.group_scores.shape[0]
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
        if isinstance(self._stats.information, BlockHessian):
            return None                # blocks: see _coded_covariance and bse
        if self.regularizer is not None:
            return np.full((p, p), np.nan)
        return covariance_matrix(self.cov_type, self._stats, scale=self.scale, nobs=self.nobs,
                                 options=self.cov_kwds)

    @property
    def normalized_cov_params(self) -> np.ndarray:
        """The inverse Fisher information (covariance at unit scale)."""
        if self._cov is None:
            return self._coded_covariance() / self.scale
        if self.regularizer is not None:
            return np.full_like(self._cov, np.nan)
        return np.linalg.inv(self._stats.information)

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates (of ``cov_type``)."""
        names = self.params.index
        cov = self._cov if self._cov is not None else self._coded_covariance()
        return pd.DataFrame(cov, index=names, columns=names)

    def _coded_covariance(self) -> np.ndarray:
        """The dense covariance of a fit with coded terms, in the names' order,
        from the blocks of the information (moderate sizes only)."""
        p = len(self.params)
        if p > DENSE_COVARIANCE_LIMIT:
            raise ValueError(
                f"the covariance matrix of {p} coefficients (coded categorical terms) is "
                f"not built above {DENSE_COVARIANCE_LIMIT} coefficients; bse, tvalues, "
                "pvalues and conf_int come without it")
        if self.regularizer is not None:
            return np.full((p, p), np.nan)
        order = self._design.coded.order
        cov = np.empty((p, p))
        cov[np.ix_(order, order)] = self.scale * self._stats.information.inverse()
        return cov

    @property
    def bse(self) -> pd.Series:
        if self._cov is not None:
            return pd.Series(np.sqrt(np.diag(self._cov)), index=self.params.index)
        if self.regularizer is not None:
            variances = np.full(len(self.params), np.nan)
        else:           # the diagonal of the inverse from its Schur factorisation
            variances = self.scale * self._stats.information.inverse_diagonal()
        return pd.Series(np.sqrt(self._design.to_patsy(variances)), index=self.params.index)

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
    def mu(self):
        """Fitted means ``g^{-1}(X b + offset)`` (a dask array for dask data), made
        by the model's prediction path."""
        return self.predict()

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
def _working_residuals(family, y, mu):
    return (y - mu) * family.link.deriv(mu)


def _pearson_residuals(family, y, mu, var_weights=1.0):
    return (y - mu) * np.sqrt(var_weights / family.variance(mu))


def _deviance_residuals(family, y, mu, var_weights=1.0):
    unit = np.clip(var_weights * family.unit_deviance(y, mu), 0.0, None)
    return np.sign(y - mu) * np.sqrt(unit)

