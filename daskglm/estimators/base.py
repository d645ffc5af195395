"""What the estimators share: scikit-learn's parameters, the fit through a
registered solver, and predictions through :mod:`daskglm.frontend.prediction`.

A subclass says which family it fits (``_family``), how it reads its target
(``_memory_target``, ``_dask_target``, ``_target_weights``) and how it turns
a linear predictor into its prediction (``_predict_from_eta``).
"""

from __future__ import annotations

import inspect
import numbers

import dask
import dask.array as da
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import d2_tweedie_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..frontend.prediction import inverse_link, linear_predictor
from ..math.penalties import get_regularizer
from ..messages import listing
from ..solvers import get_solver, solvers_for
from .data import (
    check_frame_columns,
    check_numeric,
    check_weight_total,
    dask_vector,
    is_dask,
    is_dask_frame,
    memory_weights,
    with_intercept,
)

__all__ = ["GLMEstimator", "NEWTON_MAX_COEF", "PARAMETERS_DOC", "REGRESSOR_CLASS_WEIGHT"]

#: "auto" uses newton up to this many coefficients (its p x p Hessian).
NEWTON_MAX_COEF = 1000

#: scikit-learn's penalty names, and dask-ml's "elastic_net".
_PENALTIES = ("l1", "l2", "elasticnet", "elastic_net", None)

#: Solver arguments the estimator sets itself; solver_kwargs may not hold them.
_MANAGED = {"X", "y", "family", "regularizer", "max_iter", "tol", "offset", "weights",
            "unpenalized", "init"}


def _print_record(record):
    kkt = record.get("kkt_norm", float("nan"))
    print(f"iteration {record['iteration']}: objective {record['objective']:.10g}, "
          f"KKT residual {kkt:.3g}, passes {record['n_passes']}")


class GLMEstimator(BaseEstimator):
    """What the estimators share; subclasses give the family and the target."""

    def __init__(self, penalty="l2", dual=False, tol=1e-4, C=1.0, fit_intercept=True,
                 intercept_scaling=1.0, class_weight=None, random_state=None, solver="auto",
                 max_iter=100, multi_class="ovr", verbose=0, warm_start=False, n_jobs=1,
                 solver_kwargs=None, l1_ratio=None):
        self.penalty = penalty
        self.dual = dual
        self.tol = tol
        self.C = C
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.multi_class = multi_class
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.solver_kwargs = solver_kwargs
        self.l1_ratio = l1_ratio

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- what subclasses state ---------------------------------------------
    def _family(self):
        raise NotImplementedError

    def _check_class_weight(self):
        if self.class_weight is not None:
            raise ValueError(
                f"class_weight applies to classification only; {type(self).__name__} "
                f"accepts only class_weight=None (got {self.class_weight!r})"
            )

    def _memory_target(self, y):
        """y for in-memory data (already a 1-D array) -> the response as floats."""
        return np.asarray(y, dtype=np.float64)

    def _dask_target(self, y):
        check_numeric(y.dtype, "y")
        return y.astype(np.float64)

    def _target_weights(self, target, weights):
        """Weights for the fit (class weights folded in) and their sum."""
        if weights is None:
            return None, float(target.shape[0])
        total = weights.sum()
        total = float(total.compute() if isinstance(total, da.Array) else total)
        check_weight_total(total)
        return weights, total

    # -- parameters ----------------------------------------------------------
    def _check_params(self):
        """Validate the parameters; return the penalty's shape (see :meth:`_penalty_shape`)."""
        if self.dual:
            raise ValueError("dual=True is not supported: daskglm solves the primal problem")
        if self.multi_class not in ("ovr", "auto"):
            raise ValueError(
                f"multi_class={self.multi_class!r} is not supported: daskglm's estimators "
                "fit one binary or single-output model (multi_class='ovr' or 'auto')"
            )
        C = self.C
        if not isinstance(C, numbers.Real) or isinstance(C, bool) or not C > 0:
            raise ValueError(f"C must be a positive number (np.inf for no penalty), got {C!r}")
        scaling = self.intercept_scaling
        if not isinstance(scaling, numbers.Real) or not scaling > 0:
            raise ValueError(f"intercept_scaling must be a positive number, got {scaling!r}")
        self._check_solver_kwargs()
        self._check_class_weight()
        shape = self._penalty_shape()
        self._check_solver_name(shape)
        return shape

    def _check_solver_kwargs(self):
        if self.solver_kwargs is not None and not isinstance(self.solver_kwargs, dict):
            raise TypeError(f"solver_kwargs must be a dict or None, got {self.solver_kwargs!r}")
        clash = sorted(set(self.solver_kwargs or {}) & _MANAGED)
        if clash:
            raise ValueError(f"solver_kwargs may not set {clash}: the estimator sets them "
                             "(use its own parameters, e.g. max_iter, tol)")

    def _check_solver_name(self, shape):
        """An unknown solver (or one that cannot fit the penalty) fails before any data pass."""
        if self.solver != "auto":
            self._solver(shape, n_coef=None)

    def _penalized(self) -> bool:
        """Whether the penalty's strength is positive (``C < inf``)."""
        return not np.isinf(self.C)

    def _penalty_shape(self):
        """The penalty at ``alpha=1`` (None for none), from ``penalty`` and ``l1_ratio``.

        The penalty's own checks (:func:`daskglm.math.penalties.get_regularizer`)
        refuse a bad ``l1_ratio``; here only scikit-learn's names are accepted,
        and an ``l1_ratio`` is refused unless the penalty mixes L1 and L2 (or it
        is the ratio ``'l1'``/``'l2'`` imply).
        """
        if self.penalty not in _PENALTIES:
            raise ValueError(f"penalty must be one of 'l1', 'l2', 'elasticnet' or None, "
                             f"got {self.penalty!r}")
        mixed = self.penalty in ("elasticnet", "elastic_net")
        shape = get_regularizer(self.penalty, alpha=None if self.penalty is None else 1.0,
                                l1_ratio=self.l1_ratio if mixed else None)
        implied = None if shape is None else shape.l1_ratio
        if not mixed and self.l1_ratio is not None and self.l1_ratio != implied:
            raise ValueError(
                f"l1_ratio={self.l1_ratio!r} does not apply to penalty={self.penalty!r}; "
                "use penalty='elasticnet' to mix L1 and L2"
            )
        return shape

    def _regularizer(self, shape, sum_weights):
        """The penalty of the fit: ``shape`` at ``alpha = 1 / (C * sum_weights)``."""
        if shape is None or not self._penalized():
            return None
        mixed = self.penalty in ("elasticnet", "elastic_net")
        return get_regularizer(self.penalty, alpha=1.0 / (self.C * sum_weights),
                               l1_ratio=shape.l1_ratio if mixed else None)

    def _solver(self, shape, n_coef):
        """The solver function: the one named, or for 'auto' the default for the
        penalty and the number of coefficients."""
        penalty = shape if self._penalized() else None
        name = self.solver
        if name == "auto":
            if n_coef <= NEWTON_MAX_COEF:
                name = "newton"
            else:
                name = "lbfgs" if penalty is None or penalty.is_smooth else "proximal_grad"
        solver = get_solver(name)
        if penalty is not None and not penalty.is_smooth and \
                not getattr(solver, "handles_nonsmooth", True):
            able = ", ".join(solvers_for(penalty))
            raise ValueError(f"solver {name!r} cannot fit penalty={self.penalty!r}; "
                             f"solvers that can: {able}")
        return solver

    def _solver_options(self, solver):
        options = dict(self.solver_kwargs or {})
        takes = inspect.signature(solver).parameters
        random_state = getattr(self, "random_state", None)   # not every estimator has one
        if random_state is not None and "seed" in takes:
            if "seed" in options:
                raise ValueError("give the seed either as random_state or in solver_kwargs")
            options["seed"] = int(check_random_state(random_state).randint(2**31 - 1))
        if self.verbose:
            if "callback" in options:
                raise ValueError("verbose prints through the solver's callback; "
                                 "give verbose=0 or a callback in solver_kwargs, not both")
            options["callback"] = _print_record
        return options

    # -- fitting ---------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            numpy array, scipy.sparse matrix, pandas DataFrame, dask array
            (unknown chunk sizes are computed) or dask DataFrame (numeric
            columns).
        y : array of shape (n_samples,)
            Same kind of container as ``X`` (or in memory).
        sample_weight : array of shape (n_samples,), optional
            Non-negative row weights (frequency weights: weight 2 counts a
            row twice).

        Returns
        -------
        self
        """
        shape = self._check_params()
        design, target, weights, sum_weights, unpenalized = self._prepared(X, y, sample_weight)
        n_coef = self.n_features_in_ + bool(self.fit_intercept)
        solver = self._solver(shape, n_coef)
        result = solver(
            design, target, self._family(), self._regularizer(shape, sum_weights),
            max_iter=self.max_iter, tol=self.tol, weights=weights, unpenalized=unpenalized,
            init=self._warm_start_coef(n_coef), **self._solver_options(solver),
        )
        self._store(result)
        return self

    def _prepared(self, X, y, sample_weight):
        """``(design, target, weights, sum_weights, unpenalized)``: the checked
        data with the intercept column appended, and the column the penalty
        leaves alone (the intercept)."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, "
                             "but the target y is None")
        if is_dask(X):
            design, target, weights = self._dask_data(X, y, sample_weight)
        else:
            design, target, weights = self._memory_data(X, y, sample_weight)
        weights, sum_weights = self._target_weights(target, weights)
        n_coef = self.n_features_in_ + bool(self.fit_intercept)
        if self.fit_intercept:
            design = with_intercept(design)
        unpenalized = [n_coef - 1] if self.fit_intercept else None
        return design, target, weights, sum_weights, unpenalized

    def _memory_data(self, X, y, sample_weight):
        if isinstance(X, pd.DataFrame):
            check_frame_columns(X)
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64,
                             y_numeric=not isinstance(self, ClassifierMixin))
        return X, self._memory_target(y), memory_weights(sample_weight, X.shape[0])

    def _dask_data(self, X, y, sample_weight):
        X = self._dask_features(X, reset=True, known_chunks=True)
        n_rows = X.shape[0]
        target = self._dask_target(dask_vector(y, "y", n_rows))
        weights = dask_vector(sample_weight, "sample_weight", n_rows)
        if weights is not None:
            check_numeric(weights.dtype, "sample_weight")
            weights = weights.astype(np.float64)
        return X, target, weights

    def _dask_features(self, X, *, reset, known_chunks):
        """A dask array or dataframe -> float dask array of one column chunk."""
        names = None
        if is_dask_frame(X):
            check_frame_columns(X)
            names = np.asarray(X.columns, dtype=object)
            X = X.to_dask_array(lengths=True if known_chunks else None)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {X.shape}")
        check_numeric(X.dtype, "X")
        if known_chunks and any(np.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        self._check_dask_features(X.shape[1], names, reset)
        return X.astype(np.float64).rechunk({1: -1})

    def _check_dask_features(self, n_features, names, reset):
        all_str = names is not None and all(isinstance(n, str) for n in names)
        if reset:
            self.n_features_in_ = n_features
            if all_str:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return
        if n_features != self.n_features_in_:
            raise ValueError(f"X has {n_features} features, but {type(self).__name__} "
                             f"is expecting {self.n_features_in_} features as input")
        fitted = getattr(self, "feature_names_in_", None)
        if all_str and fitted is not None and list(names) != list(fitted):
            raise ValueError(f"The feature names of X {listing(names)} differ from those "
                             f"seen in fit {listing(fitted)}")

    def _warm_start_coef(self, n_coef):
        if not self.warm_start or not hasattr(self, "coef_"):
            return None
        init = np.append(self.coef_, self.intercept_) if self.fit_intercept else self.coef_
        if init.shape != (n_coef,):
            raise ValueError(f"warm_start: the previous fit has {init.shape[0]} coefficients, "
                             f"this one needs {n_coef}")
        return init

    def _store(self, result):
        coef = np.asarray(result.coef, dtype=np.float64)
        if self.fit_intercept:
            self.coef_, self.intercept_ = coef[:-1].copy(), float(coef[-1])
        else:
            self.coef_, self.intercept_ = coef.copy(), 0.0
        self.n_iter_ = int(result.n_iter)
        self.result_ = result

    # -- prediction --------------------------------------------------------------
    def _linear_predictor(self, X, known_chunks=False):
        """``X @ coef_ + intercept_``: numpy for in-memory X, dask for dask X."""
        check_is_fitted(self)
        if is_dask(X):
            X = self._dask_features(X, reset=False, known_chunks=known_chunks)
        else:
            if isinstance(X, pd.DataFrame):
                check_frame_columns(X)
            X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        return linear_predictor(X, self.coef_, intercept=self.intercept_)

    def _mean(self, X):
        """The family's mean of each row, through the prediction path."""
        return inverse_link(self._linear_predictor(X), self._family(), "mean")

    def _score_data(self, X, y, sample_weight):
        """(prediction, y, weights) as dask arrays chunked alike, for a dask score."""
        prediction = self._predict_from_eta(self._linear_predictor(X, known_chunks=True))
        n_rows, rows = prediction.shape[0], prediction.chunks[0]
        y = dask_vector(y, "y", n_rows).rechunk((rows,))
        weights = dask_vector(sample_weight, "sample_weight", n_rows)
        if weights is None:
            weights = da.ones(n_rows, chunks=(rows,))
        return prediction, y, weights.rechunk((rows,))

    def _predict_from_eta(self, eta):
        raise NotImplementedError

    def _deviance_score(self, X, y, sample_weight, power):
        """D², the share of the family's deviance the predictions explain
        (scikit-learn's ``d2_tweedie_score`` with ``power``; for dask input from
        the family's unit deviance, computed in one pass)."""
        if not is_dask(X):
            return d2_tweedie_score(y, self.predict(X), sample_weight=sample_weight,
                                    power=power)
        prediction, y, weights = self._score_data(X, y, sample_weight)
        deviance = self._family().unit_deviance
        y_mean = (weights * y).sum() / weights.sum()
        model_total, null_total = dask.compute((weights * deviance(y, prediction)).sum(),
                                               (weights * deviance(y, y_mean)).sum())
        return float(1.0 - model_total / null_total)


PARAMETERS_DOC = """
    Parameters
    ----------
    penalty : {'l2', 'l1', 'elasticnet', None}, default='l2'
        The penalty on the coefficients (never on the intercept).
        ``'elastic_net'`` (dask-ml's spelling) is accepted for ``'elasticnet'``.
    dual : False
        Only the primal problem is solved; True is refused.
    tol : float, default=1e-4
        The solver's tolerance: the fit stops when the largest optimality
        (KKT) residual of the mean objective is at most ``tol`` (scikit-learn's
        lbfgs rule). Use smaller values (1e-8) for coefficients to many digits.
    C : float, default=1.0
        Inverse of regularization strength, with scikit-learn's meaning:
        ``alpha = 1 / (C * sum(sample_weight))``. ``np.inf`` means no penalty.
    fit_intercept : bool, default=True
        Add an (unpenalized) intercept.
    intercept_scaling : float, default=1.0
        Accepted for compatibility; it has no effect, because the intercept
        is never penalized (so the scale of its column does not change the fit).
    class_weight : dict, 'balanced' or None, default=None
        {class_weight_doc}
    random_state : int, RandomState or None, default=None
        Passed as ``seed`` to solvers that take one (e.g. ``saga``); other
        solvers are deterministic and do not use it.
    solver : str or callable, default='auto'
        A name registered in :data:`daskglm.solvers.SOLVERS` (``'newton'``,
        ``'lbfgs'``, ``'gradient_descent'``, ``'proximal_grad'``, ...) or a
        solver function. ``'auto'`` picks ``'newton'`` up to 1000
        coefficients, otherwise ``'lbfgs'`` (no penalty, L2) or
        ``'proximal_grad'`` (L1, elastic net). dask-ml's default, ``'admm'``,
        works where that solver is registered.
    max_iter : int, default=100
        Most solver iterations.
    multi_class : {'ovr', 'auto'}, default='ovr'
        Accepted for dask-ml compatibility; a single binary or single-output
        model is fitted. ``'multinomial'`` is refused.
    verbose : int, default=0
        Above 0, print every solver iteration (objective, KKT residual, passes).
    warm_start : bool, default=False
        Start from the previous fit's coefficients.
    n_jobs : int, default=1
        Accepted for compatibility; it has no effect: parallelism is dask's
        (its scheduler or a ``distributed.Client``).
    solver_kwargs : dict, optional
        The solver's own keyword-only options (e.g. ``{'memory': 10}`` for
        lbfgs); an option the solver does not have is a ``TypeError``.
    l1_ratio : float in [0, 1], optional
        The L1 share of an elastic-net penalty (default 0.5, as dask-glm).
        With ``penalty='l1'``/``'l2'`` it must be left None (or be 1 / 0).

    Attributes
    ----------
    coef_ : array of shape (n_features,)
        Coefficients (a 1-D array, as dask-ml's; scikit-learn's
        ``LogisticRegression`` gives shape (1, n_features)).
    intercept_ : float
        The intercept (0.0 without ``fit_intercept``).
    n_iter_ : int
        Solver iterations.
    n_features_in_ : int
    feature_names_in_ : array of str
        Column names, for dataframe input with string column names.
    result_ : SolverResult
        What the solver returned: convergence, history, passes over the data.
"""

REGRESSOR_CLASS_WEIGHT = "Accepted for dask-ml compatibility; only None."
