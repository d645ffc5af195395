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
``scale`` is, as ``GLM.fit(scale=...)`` asks, Pearson's chi-squared over
``df_resid`` (the default for the families that estimate it: Normal, Gamma,
inverse Gaussian, Tweedie), the deviance over ``df_resid``, a given number, or 1 (the
default for Binomial and Poisson); ``llf`` and ``llnull`` are at that scale,
except that the Normal identity-link log-likelihood is profiled over the
scale; ``bic`` is ``bic_llf``.

The log-likelihood at a scale other than 1 is read from the pass's sums for
the Normal family, and where the family can tell it from the sums
(:meth:`Family.loglike_at_scale <daskglm.math.families.Family.loglike_at_scale>`:
Binomial, Poisson, inverse Gaussian, and Gamma without variance weights);
else it is one more pass (both ``llf`` and ``llnull``), made on first use
(``llf``, ``aic``, ``bic``, ``summary()``...) and kept.
"""

from __future__ import annotations

import numbers

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from scipy import stats

from ..math.families import Normal
from ..math.links import Identity
from ..passes.block_hessian import BlockHessian
from ..passes.statistics import FitStatistics, loglike_pass
from . import hypothesis
from .covariance import COV_TYPES, DENSE_COVARIANCE_LIMIT, CodedCovariance, covariance_matrix
from .distributions import get_distribution, resid_anscombe
from .estimated_parameter import estimated_parameter
from .influence import GLMInfluence, influence_table
from .prediction_results import PredictionResults
from .score_test import score_test

__all__ = ["GLMResults", "DENSE_COVARIANCE_LIMIT", "check_scale"]


def check_scale(scale):
    """``GLM.fit``'s ``scale``: None, ``"X2"`` or ``"dev"`` (any case; returned
    lower case), or a positive number (returned as a float).

    Raises
    ------
    ValueError
        For anything else, naming the accepted values.
    """
    if scale is None:
        return None
    if isinstance(scale, str) and scale.lower() in ("x2", "dev"):
        return scale.lower()
    number = isinstance(scale, numbers.Real) and not isinstance(scale, (bool, str))
    if number and np.isfinite(scale) and scale > 0:
        return float(scale)
    raise ValueError(f"scale must be None, 'X2', 'dev' or a positive number, got {scale!r}")


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
        ``scale`` as the fit's ``scale`` option asks (see the module notes).
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
    cov_kwds : dict
        The covariance's description and options (not the cluster labels).
    n_groups, df_resid_inference : int
        Under a cluster covariance: the clusters, and ``n_groups - 1``, the
        denominator degrees of freedom of t and F tests (as statsmodels).
    k_constant : int
        1 when the design has an intercept.
    solver_result : SolverResult
    alpha, bse_alpha : float
        With ``NegativeBinomial(alpha="estimate")``: the maximum likelihood
        estimate of alpha and its standard error. ``params`` and ``bse``
        stay the coefficients'; their covariance is the block of the joint
        covariance of ``(b, alpha)`` (:meth:`cov_params_joint`), the inverse
        observed information as statsmodels' discrete ``NegativeBinomial``
        reports it, and ``llf``, ``aic``, ``bic`` count alpha as a parameter
        (``k_extra = 1``). ``llnull`` is then statsmodels' discrete one: the
        intercept-only model with its own alpha (fitted when first asked).

    Beyond statsmodels' statistics of the fit, the results test hypotheses
    (:meth:`t_test`, :meth:`wald_test`, :meth:`wald_test_terms`,
    :meth:`score_test`, :meth:`compare_lr_test`), predict with intervals
    (:meth:`get_prediction`), measure influence (:meth:`get_influence`) and
    say what each costs in passes over the rows (see the docs' "Inference on
    big data").
    """

    use_t = False

    def __init__(self, model, design, solver_result, statistics: FitStatistics, *,
                 method, cov_type="nonrobust", regularizer=None, sum_freq_weights,
                 cov_options=None, family=None, null_loglike=None, scale=None,
                 null_model=(None, None)):
        self.model = model
        # the family fitted: the model's, with an estimated parameter fixed at its estimate
        self.family = model.family if family is None else family
        self._design = design
        self._coded = design.coded           # the layout of coded terms (kept after remove_data)
        self.solver_result = solver_result
        self.method = method
        self.cov_type = cov_type
        self.regularizer = regularizer
        self._stats = statistics
        # the fit's layout may differ from the names' order (coded terms)
        self.params = pd.Series(design.to_patsy(solver_result.coef),
                                index=list(design.exog_names))
        self.converged = solver_result.converged
        self._estimated = estimated_parameter(solver_result, design.to_patsy)
        self.k_extra = int(self._estimated is not None)
        self.n_iter = solver_result.n_iter
        self.k_constant = int(design.intercept is not None)
        self.nobs = design.n_rows
        self.wnobs = sum_freq_weights
        self.df_model = design.n_features - 1
        self.df_resid = self.wnobs - self.df_model - 1
        if design.freq_weights is None:
            self.df_resid = int(round(self.df_resid))
        self.deviance = statistics.deviance
        self.null_deviance = statistics.null_deviance
        self.pearson_chi2 = statistics.pearson_chi2
        self.scale = self._estimated_scale(check_scale(scale))
        self._null_model = null_model          # (null_coef, null_mean) of the statistics pass
        self._var_weighted = design.var_weights is not None
        self._llf_pair = None                  # (llf, llnull), made on first use
        self._null_loglike = null_loglike      # the estimated-parameter null fit, lazily
        # statsmodels' cov_kwds: the description and the options (not the groups' labels)
        self.cov_kwds = {"description": COV_TYPES[cov_type].description,
                         **{k: v for k, v in (cov_options or {}).items() if k != "groups"}}
        if statistics.group_scores is not None:
            self.n_groups = statistics.group_scores.shape[0]
            self.df_resid_inference = self.n_groups - 1   # statsmodels' t and F tests' df
        self._cov = self._covariance()

    def _estimated_scale(self, option) -> float:
        """The scale ``option`` asks for (statsmodels' ``estimate_scale``).

        None: Pearson's chi-squared over ``df_resid`` for a family that
        estimates its scale, else 1; ``"x2"``: Pearson's chi-squared over
        ``df_resid``; ``"dev"``: the deviance over ``df_resid``; a number:
        that number. A saturated fit (``df_resid <= 0``) leaves no residual
        degrees of freedom to estimate it from: the estimated scale is NaN,
        and so are the standard errors, tests and intervals built on it
        (statsmodels divides rounding noise by zero and reports inf there).
        """
        if option is None:
            if not self.family.estimates_scale:
                return 1.0
            option = "x2"
        if not isinstance(option, str):
            return option
        if self.df_resid <= 0:
            return float("nan")
        return (self.pearson_chi2 if option == "x2" else self.deviance) / self.df_resid

    # -- likelihood and information criteria ---------------------------------
    @property
    def llf(self) -> float:
        """The log-likelihood at ``scale`` (profiled for the Normal identity link)."""
        return self._loglikelihoods()[0]

    def _loglikelihoods(self):
        """``(llf, llnull)``: from the statistics pass's sums where they
        determine them, else from one more pass (made once)."""
        if self._llf_pair is not None:
            return self._llf_pair
        s = self._stats
        if isinstance(self.family, Normal):
            profiled = isinstance(self.family.link, Identity)
            llf_scale = s.rss / self.wnobs if profiled else self.scale
            pair = (_normal_loglike(s.rss, self.wnobs, s.sum_freq_log_var, llf_scale),
                    _normal_loglike(s.null_rss, self.wnobs, s.sum_freq_log_var, self.scale))
        elif self.scale == 1.0:
            pair = (s.llf_unit_scale, s.null_llf_unit_scale)
        elif not np.isfinite(self.scale):
            pair = (np.nan, np.nan)
        else:
            pair = self._loglikelihoods_from_sums()
        if None in pair:
            null_coef, null_mean = self._null_model
            pair = loglike_pass(self._data_design(), self.family, self.solver_result.coef,
                                self.scale, null_coef=null_coef, null_mean=null_mean)
        self._llf_pair = tuple(float(value) for value in pair)
        return self._llf_pair

    def _loglikelihoods_from_sums(self):
        """``(llf, llnull)`` at ``scale`` from the statistics pass's sums (None
        where the family cannot tell them from the sums)."""
        s, family = self._stats, self.family
        return tuple(family.loglike_at_scale(unit, deviance, self.wnobs, self.scale,
                                             var_weights=self._var_weighted)
                     for unit, deviance in ((s.llf_unit_scale, s.deviance),
                                            (s.null_llf_unit_scale, s.null_deviance)))

    @property
    def llnull(self) -> float:
        """The null (intercept-only) model's log-likelihood at ``scale`` (with an
        estimated family parameter: at its own estimate, one more fit when first
        asked)."""
        if self._null_loglike is not None:
            llf = self._loglikelihoods()[0]
            self._llf_pair, self._null_loglike = (llf, float(self._null_loglike())), None
        return self._loglikelihoods()[1]

    @property
    def alpha(self) -> float:
        """The estimated alpha (``NegativeBinomial(alpha="estimate")`` only)."""
        return self._estimated_value("alpha").value

    @property
    def bse_alpha(self) -> float:
        """The standard error of the estimated alpha."""
        return self._estimated_value("alpha").bse

    def _estimated_value(self, name):
        if self._estimated is None or self._estimated.name != name:
            raise AttributeError(f"{name} was not estimated in this fit (a family "
                                 f"parameter is estimated with e.g. {name}='estimate')")
        return self._estimated

    def cov_params_joint(self) -> pd.DataFrame:
        """The covariance of the coefficients and the estimated family parameter
        (the inverse observed information, as statsmodels' discrete models)."""
        return self._estimated_value("alpha").frame(self.params.index)

    @property
    def aic(self) -> float:
        """-2 llf + 2 (df_model + 1 + k_extra)."""
        return -2.0 * self.llf + 2.0 * (self.df_model + 1 + self.k_extra)

    @property
    def bic_llf(self) -> float:
        """-2 llf + log(sum of freq_weights) (df_model + 1 + k_extra)."""
        return -2.0 * self.llf + np.log(self.wnobs) * (self.df_model + 1 + self.k_extra)

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

    def llf_scaled(self, scale=None) -> float:
        """The log-likelihood at ``scale`` (statsmodels' ``llf_scaled``).

        Without ``scale``: ``llf`` (for the Normal identity link the scale is
        profiled out). A Normal fit at another scale is read from the sums
        of the fit, as are the families' whose ``loglike_at_scale`` tells it;
        another at a scale other than 1 costs one pass.
        """
        if scale is None:
            return self.llf
        scale = float(scale)
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        if isinstance(self.family, Normal):
            s = self._stats
            return _normal_loglike(s.rss, self.wnobs, s.sum_freq_log_var, scale)
        if scale == 1.0:
            return self._stats.llf_unit_scale
        if scale == self.scale:
            return self.llf
        from_sums = self.family.loglike_at_scale(self._stats.llf_unit_scale, self.deviance,
                                                 self.wnobs, scale,
                                                 var_weights=self._var_weighted)
        if from_sums is not None:
            return from_sums
        return loglike_pass(self._data_design(), self.family, self.solver_result.coef, scale)

    def info_criteria(self, crit, scale=None, dk_params=0) -> float:
        """``"aic"``, ``"bic"`` or ``"qaic"`` (statsmodels' ``info_criteria``).

        ``qaic`` is ``-2 llf_scaled(1) / scale + 2 k`` and needs ``scale``
        (from the largest model compared); ``dk_params`` adds to the
        parameter count ``k = df_model + 1``.
        """
        crit = str(crit).lower()
        k_params = self.df_model + 1 + self.k_extra + dk_params
        if crit == "aic":
            return -2.0 * self.llf + 2.0 * k_params
        if crit == "bic":
            return -2.0 * self.llf + np.log(self.wnobs) * k_params
        if crit == "qaic":
            if scale is None:
                raise ValueError("info_criteria('qaic') needs scale= (estimated on the "
                                 "largest model compared)")
            return -2.0 * self.llf_scaled(scale=1.0) / float(scale) + 2.0 * k_params
        raise ValueError(f"crit must be 'aic', 'bic' or 'qaic', got {crit!r}")

    # -- hypothesis tests (no pass: the estimates and their covariance) -------
    def t_test(self, r_matrix, use_t=None):
        """z tests of ``R b = q``, one per row; see :func:`daskglm.inference.hypothesis.t_test`."""
        return hypothesis.t_test(self, r_matrix, use_t=use_t)

    def f_test(self, r_matrix):
        """Joint F test of ``R b = q``; see :func:`daskglm.inference.hypothesis.wald_test`."""
        return hypothesis.f_test(self, r_matrix)

    def wald_test(self, r_matrix, use_f=None, scalar=True):
        """Joint Wald test of ``R b = q``; see :func:`daskglm.inference.hypothesis.wald_test`."""
        return hypothesis.wald_test(self, r_matrix, use_f=use_f, scalar=scalar)

    def wald_test_terms(self, skip_single=False, combine_terms=None):
        """One Wald test per formula term; see
        :func:`daskglm.inference.hypothesis.wald_test_terms`."""
        return hypothesis.wald_test_terms(self, skip_single=skip_single,
                                          combine_terms=combine_terms)

    def compare_lr_test(self, restricted):
        """``(lr_stat, p_value, df_diff)`` against a nested fit; see
        :func:`daskglm.inference.hypothesis.compare_lr_test`."""
        return hypothesis.compare_lr_test(self, restricted)

    def score_test(self, exog_extra=None, params_constrained=None, hypothesis="joint",
                   cov_type=None, k_constraints=None, observed=True):
        """Score test of omitted columns ``exog_extra`` (one pass over the rows); see
        :func:`daskglm.inference.score_test.score_test`."""
        return score_test(self, self._data_design(), exog_extra=exog_extra,
                          params_constrained=params_constrained, hypothesis=hypothesis,
                          cov_type=cov_type, k_constraints=k_constraints, observed=observed)

    # -- covariance and tests ----------------------------------------------
    def _covariance(self):
        """The dense covariance in the names' order; None for a coded fit's
        nonrobust covariance, which stays in the information's blocks."""
        p = len(self.params)
        coded = self._coded is not None
        if self.regularizer is not None:
            return None if coded else np.full((p, p), np.nan)
        if self._estimated is not None:        # the coefficients' block of the joint one
            return self._estimated.covariance[:p, :p]
        if coded and self.cov_type == "nonrobust":
            return None                # blocks: see _coded_covariance and bse
        cov = covariance_matrix(self.cov_type, self._stats, scale=self.scale, nobs=self.nobs,
                                options=self.cov_kwds)
        return self._in_names_order(cov) if coded else cov

    def _in_names_order(self, matrix) -> np.ndarray:
        """A ``p x p`` matrix in the fit's layout (coded terms last) in the names' order."""
        order = self._coded.order
        out = np.empty_like(matrix)
        out[np.ix_(order, order)] = matrix
        return out

    def _check_dense_size(self):
        p = len(self.params)
        if p > DENSE_COVARIANCE_LIMIT:
            raise ValueError(
                f"the covariance matrix of {p} coefficients (coded categorical terms) is "
                f"not built above {DENSE_COVARIANCE_LIMIT} coefficients; bse, tvalues, "
                "pvalues, conf_int and get_prediction come without it")

    @property
    def normalized_cov_params(self) -> np.ndarray:
        """The inverse Fisher information (covariance at unit scale)."""
        p = len(self.params)
        if self.regularizer is not None:
            return np.full((p, p), np.nan)
        if self._estimated is not None:        # the coefficients' block of the joint one
            return self._estimated.covariance[:p, :p]
        information = self._stats.information
        if isinstance(information, BlockHessian):
            self._check_dense_size()
            return self._in_names_order(information.inverse())
        return np.linalg.inv(information)

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates (of ``cov_type``)."""
        names = self.params.index
        cov = self._cov if self._cov is not None else self._coded_covariance()
        return pd.DataFrame(cov, index=names, columns=names)

    def _coded_covariance(self) -> np.ndarray:
        """The dense nonrobust covariance of a fit with coded terms, in the names'
        order, from the blocks of the information (moderate sizes only)."""
        self._check_dense_size()
        return self.scale * self.normalized_cov_params

    def _prediction_covariance(self, transform):
        """The covariance :meth:`get_prediction` sweeps the rows with: dense in the
        names' order, or for a coded fit's rows built from codes a
        :class:`~daskglm.inference.covariance.CodedCovariance` in the fit's layout."""
        if self._coded is None:
            return self._cov
        if not transform:                       # the design's own (dummy) columns
            return self.cov_params().to_numpy()
        if self.regularizer is not None:
            return CodedCovariance()
        if self._cov is None:
            return CodedCovariance(information=self._stats.information, scale=self.scale)
        order = self._coded.order
        return CodedCovariance(matrix=self._cov[np.ix_(order, order)])

    @property
    def bse(self) -> pd.Series:
        if self._cov is not None:
            return pd.Series(np.sqrt(np.diag(self._cov)), index=self.params.index)
        if self.regularizer is not None:
            variances = np.full(len(self.params), np.nan)
        else:           # the diagonal of the inverse from its Schur factorisation
            variances = self.scale * self._stats.information.inverse_diagonal()
        return pd.Series(np.sqrt(self._coded.to_patsy(variances)), index=self.params.index)

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

    def _data_design(self):
        """The design of the fit's rows (refused after :meth:`remove_data`)."""
        if self._design is None:
            raise ValueError("the data were removed from these results (remove_data); "
                             "this needs a pass over them")
        return self._design

    # -- fitted values and residuals (lazy for dask data) ---------------------
    def _rowwise(self, func, *arrays):
        """``func(family, *blocks)`` per chunk (dask) or on the arrays (numpy)."""
        if self._data_design().is_dask:
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
        """``y - mu``; for a (successes, failures) response ``n (y - mu)``, the
        residual count of successes (statsmodels')."""
        design = self._data_design()
        resid = design.y - self.mu
        return resid if design.n_trials is None else design.n_trials * resid

    @property
    def resid_working(self):
        """``(y - mu) * g'(mu)``; for a (successes, failures) response
        ``n^2 (y - mu) g'(mu)``, as statsmodels computes it."""
        design = self._data_design()
        arrays = [design.y, self.mu] + ([] if design.n_trials is None else [design.n_trials])
        return self._rowwise(_working_residuals, *arrays)

    @property
    def resid_pearson(self):
        """``(y - mu) sqrt(var_weights / V(mu))`` (with a (successes, failures)
        response the trials multiply the variance weights)."""
        return self._rowwise(_pearson_residuals, *self._with_var_weights())

    @property
    def resid_deviance(self):
        """Signed square roots of the (variance-weighted) unit deviances."""
        return self._rowwise(_deviance_residuals, *self._with_var_weights())

    @property
    def resid_anscombe_scaled(self):
        """Anscombe residuals over the square root of the scale (statsmodels' family formulas)."""
        design = self._data_design()
        return resid_anscombe(self.family, design.y, self.mu, design.variance_weights,
                              scale=self.scale)

    resid_anscombe = resid_anscombe_scaled

    @property
    def resid_anscombe_unscaled(self):
        """Anscombe residuals at scale 1."""
        design = self._data_design()
        return resid_anscombe(self.family, design.y, self.mu, design.variance_weights)

    def _with_var_weights(self):
        design = self._data_design()
        arrays = [design.y, self.mu]
        if design.variance_weights is not None:
            arrays.append(design.variance_weights)
        return arrays

    # -- leverage and influence (lazy: one pass when computed) -----------------
    def _influence_table(self, observed):
        if self.regularizer is not None:
            raise ValueError("the hat matrix and influence measures are not available for a "
                             "penalized fit (fit_regularized)")
        if self._coded is not None:
            raise ValueError("the hat matrix and influence measures are not available for a "
                             "design with coded categorical terms (they read dense rows)")
        information = self._stats.observed_information if observed else self._stats.information
        return influence_table(self._data_design(), self.family, self.params.to_numpy(),
                               information, observed=observed, scale=self.scale)

    def get_hat_matrix_diag(self, observed=True):
        """The hat matrix's diagonal (leverage) of every row: a dask array for dask
        data (one pass when computed). ``observed``: the observed information's
        weights (else the Fisher weights; equal for a canonical link)."""
        return self._influence_table(observed)[:, 0]

    def get_influence(self, observed=True) -> GLMInfluence:
        """Leverage, studentized residuals and Cook's distance
        (:class:`daskglm.inference.influence.GLMInfluence`), lazily."""
        return GLMInfluence(self, self._influence_table(observed))

    # -- prediction and display ---------------------------------------------
    def predict(self, new_data=None, which="mean", offset=None, exposure=None, unseen="error"):
        """Predicted means (``which="mean"``) or linear predictors (``"linear"``).

        Parameters
        ----------
        new_data : DataFrame (formula models) or array (array models), optional
            Without it, the fitted values of the training rows.
        which : {"mean", "linear"}
        offset, exposure : column name (formula models) or array aligned with
            ``new_data``'s rows, optional. As in statsmodels, new data get no
            offset unless one is given here.
        unseen : {"error", "reference", "nan"}
            Formula models: a categorical value not seen in training is an
            error naming the column (as in statsmodels), is read as the
            reference level, or gives NaN (:mod:`daskglm.frontend.unseen`).

        Returns
        -------
        dask Series for a dask DataFrame (rows with a missing value: NaN);
        pandas Series for a pandas DataFrame; an array like ``new_data`` for arrays.
        """
        return self.model.predict(self.params.to_numpy(), new_data, which=which,
                                  offset=offset, exposure=exposure, unseen=unseen)

    def get_prediction(self, exog=None, exposure=None, offset=None, transform=True,
                       which="mean", unseen="error"):
        """Predictions with standard errors and intervals (statsmodels' ``get_prediction``).

        Parameters
        ----------
        exog : DataFrame (formula models) or array (array models), optional
            New data; without it, the training rows (with their offset).
        exposure, offset : column name (formula models) or array, optional
            For new data, as :meth:`predict`.
        transform : bool
            For a formula model, build the design from ``exog`` through the
            formula (default); False: ``exog`` is the design itself.
        which : {"mean", "linear"}
        unseen : {"error", "reference", "nan"}
            As for :meth:`predict`.

        Returns
        -------
        PredictionResults
            Lazy for dask input: computing it is one pass over the rows.
        """
        if which not in ("mean", "linear"):
            raise ValueError(f"which must be 'mean' or 'linear', got {which!r}")
        cov = self._prediction_covariance(transform or exog is None)
        table = self.model.linear_with_variance(self.params.to_numpy(), cov, exog,
                                                offset=offset, exposure=exposure,
                                                transform=transform, unseen=unseen)
        return PredictionResults(table, self.family, which)

    def get_distribution(self, exog=None, exposure=None, offset=None, var_weights=None,
                         n_trials=None):
        """The predictive distribution of every row (statsmodels' ``get_distribution``).

        Parameters as :meth:`predict`; ``var_weights`` and ``n_trials`` (Binomial)
        are arrays aligned with the rows or scalars (default 1).

        Returns
        -------
        scipy's frozen distribution for in-memory data, else a lazy
        :class:`daskglm.inference.distributions.ChunkedDistribution`.
        """
        mu = self.predict(exog, which="mean", offset=offset, exposure=exposure)
        if isinstance(mu, dd.Series):
            mu = mu.to_dask_array()
        elif isinstance(mu, pd.Series):
            mu = mu.to_numpy()
        return get_distribution(self.family, mu, self.scale, var_weights, n_trials)

    def summary2(self, yname=None, xname=None, title=None, alpha=0.05, float_format="%.4f"):
        """statsmodels' ``summary2`` (a ``statsmodels.iolib.summary2.Summary``)."""
        from statsmodels.iolib import summary2

        summary = summary2.Summary()
        summary.add_base(results=self, alpha=alpha, float_format=float_format, xname=xname,
                         yname=yname, title=title)
        info = summary.tables[0]            # key/value columns, side by side: name the family
        info.replace(type(self.family).__name__ + "$", self.family.name, regex=True,
                     inplace=True)
        return summary

    def summary(self, yname=None, xname=None, title=None, alpha=0.05):
        """statsmodels' GLM summary (a ``statsmodels.iolib.summary.Summary``)."""
        from .summary import glm_summary

        return glm_summary(self, yname=yname, xname=xname, title=title, alpha=alpha)

    # -- removing the data, saving and loading -----------------------------------
    def remove_data(self):
        """Drop every reference to the rows (statsmodels' ``remove_data``): the
        results keep their statistics and predict on new data; what needs a
        pass over the fit's rows (residuals, influence, score tests,
        in-sample predictions) then raises ``ValueError``. The model the fit
        came from is left as it is (the results take a copy without data).
        The log-likelihoods are computed first where they need a pass."""
        _ = self.llf, self.llnull           # a null fit still to make needs the rows
        self.model = self.model.without_data()
        self._design = None

    def save(self, fname, remove_data=True):
        """Pickle the results to ``fname`` (a path or a binary file object), with
        cloudpickle (the formula's namespace may hold functions defined in a
        session); :meth:`load` (or ``pickle.load``) reads it back.

        Parameters
        ----------
        remove_data : bool
            Leave out the rows (the default, unlike statsmodels: for dask
            data they may be a graph over files, or persisted values);
            ``False`` pickles the model with its data as they are. These
            results are not changed either way.
        """
        import copy

        import cloudpickle  # dask's: the formula's transforms pickle by value, as for workers

        target = self
        if remove_data and self._design is not None:
            self._loglikelihoods()        # once, for both (a pass for some families)
            target = copy.copy(self)
            target.remove_data()
        if hasattr(fname, "write"):
            cloudpickle.dump(target, fname)
            return
        with open(fname, "wb") as handle:
            cloudpickle.dump(target, handle)

    @classmethod
    def load(cls, fname):
        """Results pickled by :meth:`save` (a path or a binary file object); only
        load files you trust, as with any pickle."""
        import pickle

        if hasattr(fname, "read"):
            loaded = pickle.load(fname)
        else:
            with open(fname, "rb") as handle:
                loaded = pickle.load(handle)
        if not isinstance(loaded, cls):
            raise TypeError(f"{fname!r} holds a {type(loaded).__name__}, not {cls.__name__}")
        return loaded

    def plot_convergence(self, ax=None):
        """Plot the solver's history (see :meth:`SolverResult.plot`)."""
        return self.solver_result.plot(ax=ax)

    def __repr__(self):
        return (f"<GLMResults: {self.family!r}, {self.method}, nobs={self.nobs}, "
                f"converged={self.converged}>")


# Row-wise functions of the lazy arrays: module-level, so they pickle for workers.
def _working_residuals(family, y, mu, n_trials=1.0):
    return np.square(n_trials) * (y - mu) * family.link.deriv(mu)


def _pearson_residuals(family, y, mu, var_weights=1.0):
    return (y - mu) * np.sqrt(var_weights / family.variance(mu))


def _deviance_residuals(family, y, mu, var_weights=1.0):
    unit = np.clip(var_weights * family.unit_deviance(y, mu), 0.0, None)
    return np.sign(y - mu) * np.sqrt(unit)

