"""Generalized linear models: :class:`GLM` (arrays, statsmodels style) and
:func:`glm` (a formula over a dask dataframe).

A model holds its data and family; ``fit`` and ``fit_regularized`` never
change it. The first fit prepares the data once and the model keeps it for
later fits: the design is built and persisted (when it fits in memory), and
one pass validates it and learns the facts every fit needs (the weighted
Gram matrix for the rank check, the null model's mean, the total frequency
weight). A fit is then: the solver (through the registry), an
intercept-only fit when there is an offset (statsmodels' null model), and
one pass at the solution for every statistic (:mod:`daskglm.passes.statistics`,
read by :mod:`daskglm.inference.results`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import warnings
from collections.abc import Mapping

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from patsy import EvalEnvironment

from .. import solvers
from ..inference.covariance import (
    check_coded_design,
    check_cov_type,
    complete_statistics,
    statistics_request,
)
from ..inference.results import GLMResults, check_scale
from ..math.families import Normal, domain_message, get_family
from ..math.penalties import ElasticNet, get_regularizer, penalized_mask
from ..passes.statistics import statistics_pass
from ..passes.stopping import kkt_units, scaled_norm
from ..progress import ProgressBar, chain_callbacks
from .design import array_design, array_names, check_rank, data_facts, formula_design, group_codes
from .formula import EXTRA_ROLES, attach_arrays, learn_formula
from .model_paths import (
    design_cross_validation,
    design_path,
    is_alpha_sequence,
    penalty_share,
    support_design,
)
from .prediction import (
    check_exposure,
    check_which,
    coded_linear_predictor,
    coded_linear_with_variance,
    inverse_link,
    linear_with_variance,
    predict,
)
from .term_penalty import alpha_by_coefficient, check_all_levels

__all__ = ["GLM", "glm"]


class GLM:
    """A generalized linear model on numpy or dask arrays (statsmodels' ``GLM``).

    Parameters
    ----------
    endog : array of shape (n_samples,) or (n_samples, 2)
        The response (numpy, pandas, dask array or series); for the Binomial
        family also two columns (successes, failures), fitted as statsmodels
        does: the proportion of successes, with the row's trials as a
        variance weight and in the binomial log-likelihood (``resid_response``
        then counts successes, as statsmodels').
    exog : array of shape (n_samples, n_features)
        The design, used as given (no intercept is added; use a column of
        ones, e.g. ``sm.add_constant``). A pandas or dask DataFrame names
        the columns; otherwise they are named as statsmodels names them
        (``const``, ``x1``, ...).
    family : Family, its name, or a statsmodels family; default Normal.
    offset : array of shape (n_samples,), optional
    exposure : array of shape (n_samples,), optional
        Its log is added to the offset; log link only, values > 0.
    freq_weights, var_weights : array of shape (n_samples,), optional
        statsmodels' meanings: a frequency weight counts a row that many
        times (it enters ``df_resid``); a variance weight divides the row's
        variance. The solver minimises with their product.
    missing : {"none", "drop", "raise"}
        ``"drop"`` drops rows with a NaN or infinite value in any array;
        otherwise such values are refused by the first pass over the data.

    Examples
    --------
    >>> import numpy as np, daskglm
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(200), rng.normal(size=200)])
    >>> y = rng.poisson(np.exp(0.5 + 0.3 * X[:, 1]))
    >>> res = daskglm.GLM(y, X, family=daskglm.Poisson()).fit()
    >>> list(res.params.index)
    ['const', 'x1']
    """

    def __init__(self, endog, exog, family=None, offset=None, exposure=None,
                 freq_weights=None, var_weights=None, missing="none"):
        self.family = _model_family(family, exposure)
        design = array_design(endog, exog, family=self.family, offset=offset, exposure=exposure,
                              freq_weights=freq_weights, var_weights=var_weights,
                              missing=missing)
        self._setup(design, formula=None)

    def _setup(self, design, formula):
        self._raw_design = design
        self.formula = formula
        # cache: the validating pass ("facts") and the design per persist choice
        self._prepared = {"facts": None, "designs": {}}
        self._lock = threading.Lock()

    @classmethod
    def from_formula(cls, formula, data, family=None, offset=None, exposure=None,
                     freq_weights=None, var_weights=None, missing="drop", eval_env=0,
                     drop="first"):
        """The model of a patsy formula over a dask (or pandas) DataFrame; see :func:`glm`."""
        env = eval_env if isinstance(eval_env, EvalEnvironment) else \
            EvalEnvironment.capture(eval_env + 1)
        model_family = _model_family(family, exposure)
        if isinstance(data, pd.DataFrame):
            data = dd.from_pandas(data, npartitions=1, sort=False)
        if not isinstance(data, dd.DataFrame):
            raise TypeError(f"data must be a dask or pandas DataFrame, got {type(data).__name__}")
        given = {"offset": offset, "exposure": exposure, "freq_weights": freq_weights,
                 "var_weights": var_weights}
        given = {role: v for role, v in given.items() if v is not None}
        data, attached = attach_arrays(data, {r: v for r, v in given.items()
                                              if not isinstance(v, str)})
        extras = {role: (v if isinstance(v, str) else attached[role]) for role, v in given.items()}
        extras = {role: extras[role] for role in EXTRA_ROLES if role in extras}
        learned = learn_formula(formula, data, extras=extras, missing=missing, eval_env=env,
                                drop=drop)
        model = cls.__new__(cls)
        model.family = model_family
        model._formula_data = data          # read again only for cluster labels by column
        model._setup(formula_design(learned, model_family), formula=learned)
        return model

    # -- what statsmodels users look for -------------------------------------
    @property
    def endog_names(self):
        """The response's name; for a (successes, failures) response, the list
        of the two columns' names (as statsmodels)."""
        design = self._raw_design
        return design.endog_name if design.trials_names is None else list(design.trials_names)

    @property
    def exog_names(self) -> list:
        names = self._raw_design.exog_names
        return list(names) if names is not None else list(self._prepare()[0].exog_names)

    @property
    def design_info(self):
        """patsy's design info of the regressors (formula models), else None."""
        return None if self.formula is None else self.formula.design_info

    @property
    def k_exog(self) -> int:
        return self._raw_design.n_features

    # -- without its data (GLMResults.remove_data, save) and pickling ------------
    def without_data(self) -> GLM:
        """A copy of the model that keeps its family, formula recipe and names but
        none of its rows: it predicts on new data only (used by
        :meth:`daskglm.GLMResults.remove_data` and ``save``)."""
        from dataclasses import replace

        from .formula import FormulaDesign

        design = replace(self._raw_design, X=np.empty((0, self.k_exog)), y=np.empty(0),
                         offset=None, freq_weights=None, var_weights=None,
                         exog_names=self.exog_names, formula=None, n_trials=None)
        formula = None if self.formula is None else FormulaDesign(self.formula.recipe, [], [])
        model = type(self).__new__(type(self))
        model.family = self.family
        model._setup(design, formula=formula)
        model._formula_data = None
        model._data_removed = True
        return model

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_lock")                  # a lock does not pickle; a new one is made
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self):
        what = repr(self.formula.formula) if self.formula is not None else \
            f"{self._raw_design.n_features} columns"
        return f"<daskglm.GLM {what}, {self.family!r}>"

    # -- preparing the data once -------------------------------------------
    def _prepare(self, persist="auto"):
        """``(design, facts)``: the design, persisted or not per ``persist`` (see
        :meth:`fit`), and the validating pass; each computed once."""
        if getattr(self, "_data_removed", False):
            raise ValueError("this model holds no data (remove_data, or saved without "
                             "it): predict on new data (exog) instead")
        with self._lock:
            designs = self._prepared["designs"]
            if persist not in designs:
                design = self._raw_design.persisted(persist)
                family = self.family
                if self._prepared["facts"] is None:
                    self._prepared["facts"] = data_facts(
                        design, in_domain=family.in_domain,
                        domain_error=lambda n, rows: domain_message(family, design.endog_name,
                                                                    n, rows))
                facts = self._prepared["facts"]
                if design.exog_names is None or design.intercept is None:
                    design = _name_columns(design, facts)
                designs[persist] = design, facts
            return designs[persist]

    # -- fitting -----------------------------------------------------------
    def fit(self, method="newton", max_iter=100, tol=1e-8, cov_type="nonrobust",
            cov_kwds=None, progress=False, start_params=None, callback=None,
            persist="auto", scale=None, **solver_options) -> GLMResults:
        """Maximum likelihood fit with a registered solver.

        Parameters
        ----------
        method : str or callable
            A solver name in :data:`daskglm.solvers.SOLVERS` (``"newton"``,
            ``"lbfgs"``, ...) or a solver function.
        max_iter, tol : int, float
            Passed to the solver (see its stopping rule).
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"}
            Covariance of the estimates: the inverse Fisher information times
            the scale, or the sandwich with the observed information as bread
            (as statsmodels; the two informations agree for canonical links).
            As statsmodels' GLM, ``HC1`` applies no small-sample factor, so it
            equals ``HC0``. ``HC2`` and ``HC3`` divide each row's squared score
            by ``1 - h`` or ``(1 - h)^2`` (``h`` its leverage; one more pass):
            statsmodels' OLS numbers for the Normal family, where statsmodels'
            GLM would return HC0's.
            ``"cluster"``: robust to correlation within clusters (statsmodels'
            one-way cluster covariance, with its small-sample correction).
        cov_kwds : dict, optional
            For ``"cluster"``: ``{"groups": labels}``, one label per row the
            model uses (numpy, pandas or dask, partitioned in any way; after
            rows with missing values were dropped), or for a formula model the
            name of a column of its data (its rows are dropped as the
            formula's are), and optionally ``"use_correction": False``.
        progress : bool
            Show a progress bar (tqdm) over the iterations.
        start_params : array of shape (n_features,), optional
            Starting coefficients (the solver's ``init``).
        callback : callable, optional
            Called after every iteration with the solver's record.
        persist : bool or "auto"
            Hold the (dask) design in the workers' memory across passes
            (True), or read it from its source on every pass (False: data
            larger than memory stream). "auto" persists when the design takes
            at most half the memory of the workers (of this machine without
            a distributed client). The result's
            ``solver_result.info["persisted"]`` says which was done.
        scale : None, "X2", "dev" or float
            The scale (dispersion) of the results, as statsmodels'
            ``GLM.fit``: None is Pearson's chi-squared over ``df_resid`` for
            the Normal, Gamma and inverse Gaussian families and 1 for the
            Binomial and Poisson; ``"X2"`` is Pearson's chi-squared over
            ``df_resid``, ``"dev"`` the deviance over ``df_resid``, and a
            positive number is taken as the scale. It multiplies the
            covariance of the estimates and enters ``llf`` (not the
            coefficients).
        **solver_options
            The solver's own keyword-only options, passed on unchanged.

        Returns
        -------
        GLMResults

        Raises
        ------
        ValueError
            For a rank-deficient design (naming the collinear columns),
            invalid data, or an unknown ``cov_type``.
        """
        cov_type, cov_options = check_cov_type(cov_type, cov_kwds)
        self._check_estimable(method, cov_type)
        scale = check_scale(scale)
        check_all_levels(self.design_info, None)
        design, facts = self._prepare(persist)
        if design.coded is not None:
            check_coded_design(cov_type, design.n_features)
        check_rank(facts.gram, design.fit_names)
        groups = group_codes(cov_options["groups"], design, getattr(self, "_formula_data", None)) \
            if "groups" in cov_options else None
        result = self._solve(design, method, None, max_iter, tol, progress, start_params,
                             callback, solver_options)
        return self._results(design, facts, result, method, cov_type, None, tol, groups,
                             cov_options, scale)

    def fit_regularized(self, regularizer, method="newton", alpha=None, l1_ratio=None,
                        max_iter=100, tol=1e-8, progress=False, start_params=None,
                        callback=None, persist="auto", **solver_options) -> GLMResults:
        """Penalised fit: ``mean weighted nll + alpha (l1_ratio |b|_1 + (1 - l1_ratio)/2 |b|^2)``.

        The intercept is never penalized. The results have ``params`` and
        fit statistics; standard errors are NaN (as statsmodels).

        Parameters
        ----------
        regularizer : L1, L2, ElasticNet, or "l1", "l2", "elastic_net" with ``alpha=``
        method : str or callable
            A solver that can minimise the penalty (``newton`` and
            ``proximal_grad`` take L1 parts; ``lbfgs`` and
            ``gradient_descent`` only L2).
        alpha : float, sequence, dict or pandas Series, optional
            With a regularizer given by name: one strength for all
            coefficients; a dict (or Series) of term names (``{"C(zone)":
            1.0}``: every column of the term) or coefficient names, the
            coefficients not named unpenalized
            (:mod:`daskglm.frontend.term_penalty`; one alpha per coefficient
            is also ``L2(alpha=<array>)``). A sequence of alphas (positive,
            descending) fits the whole path with warm starts
            (:func:`daskglm.solvers.path`, ``method="newton"``) and returns a
            :class:`~daskglm.solvers.RegularizationPath` whose ``names`` are the
            columns' (``.plot()`` draws it).
        l1_ratio : float, optional
            With a regularizer given by name.
        max_iter, tol, progress, start_params, callback, persist, **solver_options
            As for :meth:`fit`.
        """
        if is_alpha_sequence(alpha):
            return self._path(regularizer, method, alpha, l1_ratio, max_iter, tol, persist,
                              dict(solver_options, progress=progress,
                                   start_params=start_params, callback=callback))
        asked = sorted({"cov_type", "cov_kwds"} & set(solver_options))
        if asked:
            raise ValueError(f"fit_regularized takes no {' or '.join(asked)}: a penalized fit "
                             "has no covariance of the estimates (robust ones, HC2/HC3 "
                             f"included); got {solver_options[asked[0]]!r}")
        if isinstance(alpha, (Mapping, pd.Series)):
            alpha = alpha_by_coefficient(alpha, self.exog_names, self.design_info,
                                         self._prepare(persist)[0].intercept)
        penalty = get_regularizer(regularizer, alpha=alpha, l1_ratio=l1_ratio)
        if penalty is None:
            raise ValueError("fit_regularized needs a regularizer; use fit() for none")
        if self.family.estimated_parameter is not None:
            name = self.family.estimated_parameter
            raise ValueError(f"{self.family!r} estimates {name} by unpenalized maximum "
                             f"likelihood (fit); a penalized fit needs a fixed {name}, e.g. "
                             f"the one fit() estimated")
        if penalty.per_coefficient and penalty.alpha.size != len(self.exog_names):
            raise ValueError(f"alpha has {penalty.alpha.size} values, one per coefficient, "
                             f"but the model has {len(self.exog_names)}")
        check_all_levels(self.design_info, penalty)
        design, facts = self._prepare(persist)
        # the solver's coefficients are in the fit's layout (coded terms last)
        layout_penalty = penalty if design.coded is None else penalty.take(design.coded.order)
        result = self._solve(design, method, layout_penalty, max_iter, tol, progress,
                             start_params, callback, solver_options)
        return self._results(design, facts, result, method, "nonrobust", layout_penalty, tol,
                             regularizer=penalty)

    def profile_tweedie_power(self, powers=(1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9),
                              **fit_options):
        """The Tweedie variance power with the largest log-likelihood over a grid.

        One fit per power, each started from the previous one's coefficients;
        see :func:`daskglm.frontend.tweedie_profile.profile_tweedie_power`
        (the model's family must be Tweedie; ``fit_options`` go to :meth:`fit`).

        Returns
        -------
        TweedieProfile
            ``var_power`` (the best), ``powers``, ``llf`` (one per power) and
            ``results`` (the fit at the best power).
        """
        from .tweedie_profile import profile_tweedie_power

        return profile_tweedie_power(self, powers, **fit_options)

    def _check_estimable(self, method, cov_type):
        """Refuse, before any pass, what an estimated family parameter does not support."""
        name = self.family.estimated_parameter
        if name is None:
            return
        if solvers.get_solver(method) is not solvers.newton:
            raise ValueError(f"{self.family!r} estimates {name} with the coefficients by "
                             f"method='newton'; {_method_name(method)!r} needs a fixed {name}")
        if cov_type != "nonrobust":
            raise ValueError(f"cov_type={cov_type!r} is not available when {name} is "
                             "estimated; the covariance is the inverse observed information "
                             "of the coefficients and alpha ('nonrobust')")

    def _path(self, regularizer, method, alphas, l1_ratio, max_iter, tol, persist, unused):
        given = sorted(k for k, v in unused.items() if v not in (None, False))
        if given:
            raise TypeError(f"fit_regularized with a sequence of alphas takes no {given}")
        if method != "newton":
            raise ValueError(f"a path (a sequence of alphas) is walked by method='newton', "
                             f"got {method!r}")
        design, _ = self._prepare(persist)
        return design_path(design, self.family, penalty_share(regularizer, l1_ratio), alphas,
                           max_iter=max_iter, tol=tol)

    def fit_cv(self, regularizer="l1", l1_ratio=None, alphas=None, n_alphas=100,
               alpha_min_ratio=None, cv=5, scoring=None, one_se=False, relaxed=False,
               max_iter=100, tol=1e-8, persist="auto") -> GLMResults:
        """Choose alpha by cross-validating the regularization path, then refit.

        Parameters
        ----------
        regularizer, l1_ratio
            The penalty's shape: ``"l1"``, ``"l2"``, ``"elastic_net"`` (with
            ``l1_ratio``, default 0.5) or an instance (its alpha unused).
        alphas, n_alphas, alpha_min_ratio
            The grid, as :func:`daskglm.solvers.path`'s.
        cv, scoring, one_se
            As :func:`daskglm.solvers.cv.cross_validate_path`'s (an int on
            dask data: folds of whole partitions; default score: the deviance).
        relaxed : bool
            Refit without penalty on the chosen non-zero columns (relaxed
            lasso): statsmodels' results, with standard errors, for those.
        max_iter, tol, persist
            As for :meth:`fit` (``max_iter``: passes per alpha).

        Returns
        -------
        GLMResults
            At the chosen alpha (standard errors NaN) or of the relaxed refit;
            ``cv_result`` holds the folds' paths and scores, and
            ``solver_result.info["path"]`` the whole data's path. See
            ``docs/paths.rst``.
        """
        share = penalty_share(regularizer, l1_ratio)
        design, facts = self._prepare(persist)
        cv_result, result = design_cross_validation(
            design, self.family, share, alphas=alphas, n_alphas=n_alphas,
            alpha_min_ratio=alpha_min_ratio, cv=cv, scoring=scoring, one_se=one_se,
            max_iter=max_iter, tol=tol)
        if relaxed:
            support = type(self).__new__(type(self))
            support.family, support._formula_data = self.family, None
            support._setup(support_design(design, result.coef), formula=None)
            results = support.fit(max_iter=max_iter, tol=tol, persist=persist)
        else:
            penalty = ElasticNet(float(result.info["path"].alphas[-1]), share)
            results = self._results(design, facts, result, "path", "nonrobust", penalty, tol)
        results.cv_result = cv_result
        return results

    def _solve(self, design, method, penalty, max_iter, tol, progress, start_params,
               callback, solver_options):
        solver = solvers.get_solver(method)
        options = dict(solver_options)
        if "persist" in options:
            raise TypeError("pass persist to fit()/fit_regularized(), which persist the design")
        if "persist" in inspect.signature(solver).parameters:
            options["persist"] = False       # the design is persisted (or streamed) already
        unpenalized = None if design.intercept is None else [design.intercept]
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        with contextlib.ExitStack() as stack:
            bar = stack.enter_context(ProgressBar(max_iter, f"daskglm {_method_name(method)}")) \
                if progress else None
            result = solver(design.fit_X, design.y, self.family, penalty, max_iter=max_iter,
                            tol=tol, offset=design.offset, weights=design.weights,
                            unpenalized=unpenalized, init=start_params,
                            callback=chain_callbacks(bar, callback), **options)
        result.info["persisted"] = design.is_dask and design.X is not self._raw_design.X
        return result

    def _null_model(self, design, facts, tol, family):
        """``(null_coef, null_mean)`` of statsmodels' intercept-only model."""
        if not design.has_offset:
            return None, facts.weighted_mean_y
        return float(_intercept_only_fit(design, family, tol).coef[0]), None

    def _null_loglike(self, design, tol):
        """The log-likelihood of the intercept-only model with the family's
        parameter estimated too (statsmodels' discrete ``llnull``)."""
        fit = _intercept_only_fit(design, self.family, tol)
        return -fit.objective * fit.info["sum_weights"]

    def _results(self, design, facts, result, method, cov_type, penalty, tol, groups=None,
                 cov_options=None, scale=None, regularizer=None):
        # an estimated family parameter: the statistics are those of the family
        # with the parameter fixed at its estimate
        family = result.info.get("family", self.family)
        null_coef, null_mean = self._null_model(design, facts, tol, family)
        request = statistics_request(cov_type, family, 0 if groups is None else groups[1])
        statistics = statistics_pass(design, family, result.coef, null_coef=null_coef,
                                     null_mean=null_mean, groups=groups, request=request)
        statistics = complete_statistics(cov_type, design, family, result.coef, statistics)
        _check_answer(result, statistics, facts, family, penalty, design.intercept, tol)
        if penalty is None or penalty.is_zero:
            _check_identified(result, statistics, facts, family)
        null_loglike = None if family is self.family else \
            functools.partial(self._null_loglike, design, tol)
        return GLMResults(self, design, result, statistics, method=_method_name(method),
                          cov_type=cov_type,
                          regularizer=penalty if regularizer is None else regularizer,
                          sum_freq_weights=facts.sum_freq_weights, cov_options=cov_options,
                          family=family, null_loglike=null_loglike, scale=scale,
                          null_model=(null_coef, null_mean))

    # -- prediction ----------------------------------------------------------
    def predict(self, params, exog=None, which="mean", offset=None, exposure=None,
                unseen="error"):
        """Predictions at ``params``; see :meth:`GLMResults.predict`."""
        check_which(which)
        if exog is None and offset is None and exposure is None:
            design = self._training_design()
            if design.coded is not None:      # the training rows' codes, no dummy columns
                eta = coded_linear_predictor(design.X, design.codes, design.coded, params,
                                             offset=design.offset)
                return inverse_link(eta, self.family, which)
        exog, offset, exposure, formula = self._prediction_input(exog, offset, exposure)
        return predict(exog, params, self.family, which=which, offset=offset,
                       exposure=exposure, formula=formula, unseen=unseen)

    def linear_with_variance(self, params, cov_params, exog=None, offset=None, exposure=None,
                             transform=True, unseen="error"):
        """The linear predictor at ``params`` and its variance under ``cov_params``,
        for the training rows or new data (through the formula, unless
        ``transform`` is False: then ``exog`` is the design itself); see
        :func:`daskglm.frontend.prediction.linear_with_variance`. A fit with
        coded terms takes a ``CodedCovariance`` for rows built from codes."""
        if exog is None and offset is None and exposure is None:
            design = self._training_design()
            if design.coded is not None:      # the training rows' codes, no dummy columns
                return coded_linear_with_variance(design.X, design.codes, design.coded, params,
                                                  cov_params, offset=design.offset)
        exog, offset, exposure, formula = self._prediction_input(exog, offset, exposure)
        formula = formula if transform else None
        return linear_with_variance(exog, params, cov_params, offset=offset, exposure=exposure,
                                    formula=formula, unseen=unseen)

    def _prediction_input(self, exog, offset, exposure):
        """``(exog, offset, exposure, formula)`` of a prediction: the training
        design (and its offset) without ``exog``."""
        check_exposure(self.family, exposure)
        if exog is not None:
            return exog, offset, exposure, self.formula
        if offset is not None or exposure is not None:
            raise ValueError("offset/exposure apply to new data; pass exog (new_data) too")
        design = self._training_design()
        return design.X, design.offset, None, None

    def _training_design(self):
        """A prepared design of the training rows (the first fit's), else a new one."""
        with self._lock:
            prepared = list(self._prepared["designs"].values())
        return prepared[0][0] if prepared else self._prepare()[0]


def glm(formula, data, family=None, offset=None, exposure=None, freq_weights=None,
        var_weights=None, missing="drop", eval_env=0, safe=False, drop="first") -> GLM:
    """A GLM from a patsy formula over a dask (or pandas) DataFrame.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + np.log(x2) + C(g) + center(x3)"``. Categorical levels and
        stateful transforms (center, standardize) are learned over every
        partition, in one pass that moves only levels and sums. For the
        Binomial family the left-hand side may be two columns, successes and
        failures: ``"NABOVE + NBELOW ~ LOWINC + PERASIAN"`` (see :class:`GLM`).
    data : dask or pandas DataFrame
    family : Family, its name, or a statsmodels family; default Normal.
    offset, exposure, freq_weights, var_weights : str or array, optional
        A column of ``data``, or values aligned with its rows (numpy,
        pandas, dask array, or a dask Series with ``data``'s partitions;
        values other than a dask Series cost one cheap pass for the
        partitions' lengths). statsmodels' meanings; exposure is logged
        (log link only, > 0).
    missing : {"drop", "raise", "none"}
        ``"drop"`` (statsmodels' default for formulas) drops rows with a
        missing value in any term or in offset, exposure or weights, all
        alike; ``"raise"`` (and ``"none"``) refuse them.
    eval_env : int or patsy.EvalEnvironment
        Where names that are not columns (``np``, your functions) are found:
        0 is the caller of ``glm``.
    safe : bool
        Refuse a formula that holds more than column names, operators and
        the allowed transforms (:mod:`daskglm.frontend.formula_safety`).
        patsy evaluates a formula as Python code, so by default (False) a
        formula may call anything, as in statsmodels: pass True for a
        formula from an untrusted source.
    drop : {"first", None}
        ``"first"`` (patsy's Treatment coding): each categorical drops its
        reference level. None keeps every level of each categorical main
        effect (a full dummy or code set): the fit is then identifiable only
        with an L2 penalty on each such term
        (``fit_regularized("l2", alpha={"C(zone)": 1.0})``); ``fit()`` and a
        penalty that leaves one of them out are refused, naming the term.

    Returns
    -------
    GLM

    Raises
    ------
    ValueError
        For a name the formula uses that is neither a column nor defined
        where ``glm`` was called (the message names it), and for bad input.

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd, numpy as np, daskglm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=300), "g": rng.choice(list("abc"), 300)})
    >>> df["y"] = rng.poisson(np.exp(0.2 + 0.5 * df["x"]))
    >>> model = daskglm.glm("y ~ x + C(g)", dd.from_pandas(df, npartitions=3),
    ...                     family=daskglm.Poisson())
    >>> model.exog_names
    ['Intercept', 'C(g)[T.b]', 'C(g)[T.c]', 'x']
    """
    if safe:
        from .formula_safety import check_formula_safe
        check_formula_safe(formula, columns=data.columns)
    env = eval_env if isinstance(eval_env, EvalEnvironment) else \
        EvalEnvironment.capture(eval_env + 1)
    return GLM.from_formula(formula, data, family=family, offset=offset, exposure=exposure,
                            freq_weights=freq_weights, var_weights=var_weights,
                            missing=missing, eval_env=env, drop=drop)


# -- helpers ---------------------------------------------------------------
def _model_family(family, exposure):
    family = get_family(Normal() if family is None else family)
    check_exposure(family, exposure)
    return family


def _intercept_only_fit(design, family, tol):
    """The newton fit of the design's rows on a column of ones (offset and weights kept)."""
    rows = design.X.chunks[0] if design.is_dask else design.n_rows
    ones = da.ones((design.n_rows, 1), chunks=(rows, 1)) if design.is_dask else \
        np.ones((design.n_rows, 1))
    return solvers.newton(ones, design.y, family, tol=tol, offset=design.offset,
                          weights=design.weights, persist=False)


def _name_columns(design, facts):
    from dataclasses import replace

    intercept = design.intercept if design.intercept is not None else facts.intercept
    names = design.exog_names
    if names is None:
        names = array_names(design.n_features, intercept)
    return replace(design, exog_names=names, intercept=intercept)


def _method_name(method):
    if isinstance(method, str):
        return method
    return getattr(method, "solver_name", getattr(method, "__name__", repr(method)))


def _check_answer(result, statistics, facts, family, penalty, intercept, tol):
    """The optimality residual at the answer, from the statistics pass's scores.

    Measured as every solver's stopping rule measures it (in the units of
    each column and of y, :mod:`daskglm.passes.stopping`) and stored as
    ``result.info["kkt_at_answer"]``. A fit that says it converged is held
    to ``tol`` there: a solver that stopped on a *predicted* residual
    (``newton`` saving its last pass), on another rule (ADMM's residuals) or
    whose measure disagrees with the statistics pass's beyond rounding is
    marked not converged, and a ConvergenceWarning says so.
    """
    gradient = -statistics.score / facts.sum_weights
    penalty = ElasticNet(0.0, 0.0) if penalty is None else penalty
    penalized = penalized_mask(None if intercept is None else [intercept], gradient.shape[0])
    diagonal = facts.gram.diagonal() if hasattr(facts.gram, "diagonal") else np.diag(facts.gram)
    units = kkt_units(family, np.asarray(diagonal) / facts.sum_weights,
                      facts.weighted_mean_y, facts.weighted_var_y)
    kkt = scaled_norm(penalty.kkt_residual(result.coef, gradient, penalized), units)
    result.info["kkt_at_answer"] = kkt
    # a residual measured at this very point by the solver may differ from this
    # one by the rounding of a differently ordered sum
    predicted = result.info.get("predicted_kkt") is not None
    if result.converged and kkt > (tol if predicted else _ROUNDING_SLACK * tol):
        from ..exceptions import ConvergenceWarning  # loads sklearn: only when warning

        result.converged = False
        result.message = (f"{result.message}; but the KKT residual at the answer is "
                          f"{kkt:.3g} > tol")
        warnings.warn(f"{result.solver} did not converge: {result.message}",
                      ConvergenceWarning, stacklevel=4)


_ROUNDING_SLACK = 2.0


# The Fisher information at the answer below this fraction of the null model's
# means the fitted means sit on the edge of their range in (nearly) every row.
_VANISHED_INFORMATION = 1e-4


def _check_identified(result, statistics, facts, family):
    """Warn and mark the fit not converged when no maximum likelihood estimate
    exists (statsmodels' perfect prediction check, in two sums already made).

    ``y`` with a single value where the family's variance vanishes (all 0 or
    all 1 for the Binomial, all 0 for the Poisson) is known from the pass
    before fitting; complete separation shows as a Fisher information at the
    answer that vanished next to the null model's (every fitted mean on its
    boundary). A solver that already said so (``converged=False``) is left alone.
    """
    if not result.converged:
        return
    mean_y = np.array([facts.weighted_mean_y])
    if family.variance(mean_y)[0] == 0:
        cause = (f"y takes the single value {facts.weighted_mean_y:g} in every row, at the "
                 f"edge of the {family.name} family's range (a single class): no finite "
                 "maximum likelihood estimate exists (the intercept diverges)")
    else:
        null_weight = family.fisher_weights(family.link(mean_y))[0]
        fitted = _trace(statistics.information)
        expected = null_weight * _trace(facts.gram)
        if not fitted < _VANISHED_INFORMATION * expected:
            return
        cause = ("perfect separation detected: the fitted means are at the edge of the "
                 f"{family.name} family's range in every row (Fisher information "
                 f"{fitted:.3g}, the null model's {expected:.3g}); the maximum likelihood "
                 "estimate does not exist and the coefficients diverge; drop or merge the "
                 "separating columns or add a penalty")
    from ..exceptions import PerfectSeparationWarning  # loads sklearn: only when warning

    result.converged = False
    result.message = f"{result.message}; but {cause}"
    warnings.warn(f"{result.solver} did not converge: {cause}", PerfectSeparationWarning,
                  stacklevel=4)


def _trace(matrix) -> float:
    """The trace of a dense matrix or of a BlockHessian (coded terms)."""
    return float(np.sum(matrix.diagonal()))
