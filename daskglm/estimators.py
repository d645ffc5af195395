"""scikit-learn / dask-ml estimators over daskglm's solvers.

:class:`LogisticRegression`, :class:`LinearRegression` and
:class:`PoissonRegression` take the parameters of ``dask_ml.linear_model``'s
classes of the same names and behave as scikit-learn estimators (``Pipeline``,
``GridSearchCV``, ``clone``). They are thin: ``fit`` turns its input into a
design matrix (with a column of ones for the intercept, which is never
penalized), maps ``C`` to DESIGN.md's ``alpha`` and the class labels to 0/1,
and hands everything to a solver from :data:`daskglm.solvers.SOLVERS`.

``C`` has scikit-learn's meaning. scikit-learn's ``LogisticRegression``
minimises ``C * sum_i s_i loss_i + r(b)`` with ``r(b) = l1_ratio |b|_1 +
(1 - l1_ratio) / 2 |b|_2^2``; divided by ``C * sum_i s_i`` this is DESIGN.md's
objective with

    alpha = 1 / (C * sum_i s_i)        (1 / (C * n_samples) without weights)

where ``s_i`` is the sample weight times the class weight. The same mapping
is used for the two regressors, so that

- ``LinearRegression(penalty="l2", C=C)`` is ``Ridge(alpha=1 / C)``,
- ``LinearRegression(penalty="l1" or "elasticnet", C=C)`` is
  ``Lasso`` / ``ElasticNet(alpha=a)`` with ``C = 1 / (a * n_samples)``,
- ``PoissonRegression(penalty="l2", C=C)`` is ``PoissonRegressor(alpha=a)``
  with ``C = 1 / (a * n_samples)``.

On dask input, ``fit`` reads the data a few times before the solver starts,
each a cheap pass: unknown chunk sizes (dask dataframes, boolean-indexed
arrays), the class labels (logistic) and the sum of the sample weights (when
given). Prediction methods return dask arrays for dask input, lazily (for a
dask dataframe, with unknown chunk sizes, as dask-ml's); scores are computed.

Where these differ from dask-ml's: the default solver is ``'auto'``
(dask-ml: ``'admm'``); ``predict_proba`` returns both classes' probabilities,
shape (n_samples, 2); ``sample_weight``, ``class_weight``, ``warm_start`` and
``verbose`` work; parameters that cannot apply are refused rather than
ignored (``dual=True``, ``multi_class='multinomial'``, ``class_weight`` for
the regressors); ``intercept_scaling`` and ``n_jobs`` are accepted and have
no effect (see their entries).
"""

from __future__ import annotations

import inspect
import numbers

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, d2_tweedie_score, r2_score
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .math.families import Logistic, Normal, Poisson
from .math.penalties import L1, L2, ElasticNet
from .solvers import get_solver, solvers_for

__all__ = ["LogisticRegression", "LinearRegression", "PoissonRegression"]

#: "auto" uses newton up to this many coefficients (its p x p Hessian).
_NEWTON_MAX_COEF = 1000

_PENALTIES = ("l1", "l2", "elasticnet", "elastic_net", None)

#: Solver arguments the estimator sets itself; solver_kwargs may not hold them.
_MANAGED = {"X", "y", "family", "regularizer", "max_iter", "tol", "offset", "weights",
            "unpenalized", "init"}


# -- input handling ------------------------------------------------------------

def _is_dask_frame(obj) -> bool:
    return dask.is_dask_collection(obj) and hasattr(obj, "to_dask_array")


def _is_dask(obj) -> bool:
    return isinstance(obj, da.Array) or _is_dask_frame(obj)


def _dask_vector(values, name, n_rows):
    """y or sample_weight for dask data: a 1-D dask array of ``n_rows``, known chunks."""
    if values is None:
        return None
    if _is_dask_frame(values):
        values = values.to_dask_array(lengths=True)
    elif not isinstance(values, da.Array):
        values = da.from_array(np.asarray(values))
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {values.shape}")
    if any(np.isnan(c) for c in values.chunks[0]):
        values = values.compute_chunk_sizes()
    if values.shape[0] != n_rows:
        raise ValueError(f"{name} has {values.shape[0]} rows but X has {n_rows}")
    return values


def _check_numeric(dtype, name):
    if dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {dtype}")


def _memory_weights(sample_weight, n_rows):
    """sample_weight for in-memory data: a float vector of ``n_rows``, or None."""
    if sample_weight is None:
        return None
    if _is_dask(sample_weight):
        sample_weight = np.asarray(sample_weight)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim == 0:
        weights = np.full(n_rows, float(weights))
    if weights.shape != (n_rows,):
        raise ValueError(
            f"sample_weight must have shape ({n_rows},) to match X, got {weights.shape}"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    return weights


def _check_weight_total(total):
    if not np.isfinite(total) or total < 0:
        raise ValueError(f"sample_weight must be finite and non-negative (sum {total})")
    if total == 0:
        raise ValueError("sample_weight sums to zero: no row carries weight")


def _with_intercept(X):
    """X with a column of ones appended (numpy, scipy.sparse or dask)."""
    n_rows = X.shape[0]
    if sp.issparse(X):
        return sp.hstack([X, np.ones((n_rows, 1))], format="csr")
    if isinstance(X, da.Array):
        ones = da.ones((n_rows, 1), chunks=(X.chunks[0], (1,)))
        return da.concatenate([X, ones], axis=1)
    return np.hstack([X, np.ones((n_rows, 1))])


def _eta_block(X, coef, intercept):
    return np.asarray(X @ coef).reshape(-1) + intercept


def _print_record(record):
    kkt = record.get("kkt_norm", float("nan"))
    print(f"iteration {record['iteration']}: objective {record['objective']:.10g}, "
          f"KKT residual {kkt:.3g}, passes {record['n_passes']}")


# -- the shared estimator ------------------------------------------------------

class _GLMEstimator(BaseEstimator):
    """What the three estimators share; subclasses give the family and the target."""

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
        _check_numeric(y.dtype, "y")
        return y.astype(np.float64)

    def _target_weights(self, target, weights):
        """Weights for the fit (class weights folded in) and their sum."""
        if weights is None:
            return None, float(target.shape[0])
        total = weights.sum()
        total = float(total.compute() if isinstance(total, da.Array) else total)
        _check_weight_total(total)
        return weights, total

    # -- parameters ----------------------------------------------------------
    def _check_params(self):
        """Validate the parameters; return ``(penalty kind, l1_ratio)``."""
        if self.penalty not in _PENALTIES:
            raise ValueError(f"penalty must be one of 'l1', 'l2', 'elasticnet' or None, "
                             f"got {self.penalty!r}")
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
        if self.solver_kwargs is not None and not isinstance(self.solver_kwargs, dict):
            raise TypeError(f"solver_kwargs must be a dict or None, got {self.solver_kwargs!r}")
        clash = sorted(set(self.solver_kwargs or {}) & _MANAGED)
        if clash:
            raise ValueError(f"solver_kwargs may not set {clash}: the estimator sets them "
                             "(use its own parameters, e.g. max_iter, tol)")
        self._check_class_weight()
        kind, l1_ratio = self._penalty_kind()
        if self.solver != "auto":
            self._solver(kind, n_coef=None)   # an unknown solver fails before any data pass
        return kind, l1_ratio

    def _penalty_kind(self):
        kind = "elasticnet" if self.penalty == "elastic_net" else self.penalty
        l1_ratio = self.l1_ratio
        if kind == "elasticnet":
            l1_ratio = 0.5 if l1_ratio is None else l1_ratio
            if not isinstance(l1_ratio, numbers.Real) or not 0 <= l1_ratio <= 1:
                raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}")
            return kind, float(l1_ratio)
        implied = {"l1": 1.0, "l2": 0.0}.get(kind)
        if l1_ratio is not None and (implied is None or l1_ratio != implied):
            raise ValueError(
                f"l1_ratio={l1_ratio!r} does not apply to penalty={self.penalty!r}; "
                "use penalty='elasticnet' to mix L1 and L2"
            )
        return kind, implied

    def _regularizer(self, kind, l1_ratio, sum_weights):
        if kind is None or np.isinf(self.C):
            return None
        alpha = 1.0 / (self.C * sum_weights)
        if kind == "l1":
            return L1(alpha)
        if kind == "l2":
            return L2(alpha)
        return ElasticNet(alpha, l1_ratio)

    def _solver(self, kind, n_coef):
        """The solver function: the one named, or for 'auto' the default for the
        penalty and the number of coefficients."""
        name = self.solver
        if name == "auto":
            if n_coef <= _NEWTON_MAX_COEF:
                name = "newton"
            else:
                name = "lbfgs" if kind in (None, "l2") else "proximal_grad"
        solver = get_solver(name)
        smooth_only = not getattr(solver, "handles_nonsmooth", True)
        if smooth_only and kind in ("l1", "elasticnet") and not np.isinf(self.C):
            able = ", ".join(solvers_for(L1(1.0)))
            raise ValueError(f"solver {name!r} cannot fit penalty={self.penalty!r}; "
                             f"solvers that can: {able}")
        return solver

    def _solver_options(self, solver):
        options = dict(self.solver_kwargs or {})
        takes = inspect.signature(solver).parameters
        if self.random_state is not None and "seed" in takes:
            if "seed" in options:
                raise ValueError("give the seed either as random_state or in solver_kwargs")
            options["seed"] = int(check_random_state(self.random_state).randint(2**31 - 1))
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
        kind, l1_ratio = self._check_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, "
                             "but the target y is None")
        if _is_dask(X):
            design, target, weights = self._dask_data(X, y, sample_weight)
        else:
            design, target, weights = self._memory_data(X, y, sample_weight)
        weights, sum_weights = self._target_weights(target, weights)
        n_coef = self.n_features_in_ + bool(self.fit_intercept)
        solver = self._solver(kind, n_coef)
        if self.fit_intercept:
            design = _with_intercept(design)
        result = solver(
            design, target, self._family(), self._regularizer(kind, l1_ratio, sum_weights),
            max_iter=self.max_iter, tol=self.tol, weights=weights,
            unpenalized=[n_coef - 1] if self.fit_intercept else None,
            init=self._warm_start_coef(n_coef), **self._solver_options(solver),
        )
        self._store(result)
        return self

    def _memory_data(self, X, y, sample_weight):
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64,
                             y_numeric=not isinstance(self, ClassifierMixin))
        return X, self._memory_target(y), _memory_weights(sample_weight, X.shape[0])

    def _dask_data(self, X, y, sample_weight):
        X = self._dask_features(X, reset=True, known_chunks=True)
        n_rows = X.shape[0]
        target = self._dask_target(_dask_vector(y, "y", n_rows))
        weights = _dask_vector(sample_weight, "sample_weight", n_rows)
        if weights is not None:
            _check_numeric(weights.dtype, "sample_weight")
            weights = weights.astype(np.float64)
        return X, target, weights

    def _dask_features(self, X, *, reset, known_chunks):
        """A dask array or dataframe -> float dask array of one column chunk."""
        names = None
        if _is_dask_frame(X):
            for column, dtype in X.dtypes.items():
                _check_numeric(np.dtype(dtype), f"X's column {column!r}")
            names = np.asarray(X.columns, dtype=object)
            X = X.to_dask_array(lengths=True if known_chunks else None)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {X.shape}")
        _check_numeric(X.dtype, "X")
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
            raise ValueError(f"The feature names of X {list(names)} differ from those "
                             f"seen in fit {list(fitted)}")

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
        if _is_dask(X):
            X = self._dask_features(X, reset=False, known_chunks=known_chunks)
            return X.map_blocks(_eta_block, self.coef_, self.intercept_, drop_axis=1,
                                dtype=np.float64)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        return _eta_block(X, self.coef_, self.intercept_)

    def _score_data(self, X, y, sample_weight):
        """(prediction, y, weights) as dask arrays chunked alike, for a dask score."""
        prediction = self._predict_from_eta(self._linear_predictor(X, known_chunks=True))
        n_rows, rows = prediction.shape[0], prediction.chunks[0]
        y = _dask_vector(y, "y", n_rows).rechunk((rows,))
        weights = _dask_vector(sample_weight, "sample_weight", n_rows)
        if weights is None:
            weights = da.ones(n_rows, chunks=(rows,))
        return prediction, y, weights.rechunk((rows,))

    def _predict_from_eta(self, eta):
        raise NotImplementedError


_PARAMETERS_DOC = """
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

_REGRESSOR_CLASS_WEIGHT = "Accepted for dask-ml compatibility; only None."


class LogisticRegression(ClassifierMixin, _GLMEstimator):
    __doc__ = """Binary logistic regression on numpy or dask data.

    A drop-in replacement for ``dask_ml.linear_model.LogisticRegression``
    whose coefficients equal scikit-learn's ``LogisticRegression`` for the
    same ``C`` and penalty. Labels need not be 0/1: ``classes_[1]`` is the
    positive class. More than two classes are refused (wrap the estimator in
    ``sklearn.multiclass.OneVsRestClassifier``).
""" + _PARAMETERS_DOC.replace(
        "{class_weight_doc}",
        "Weights per class, multiplied into ``sample_weight``; 'balanced'\n"
        "        uses ``sum(sample_weight) / (2 * weighted count of the class)``,\n"
        "        as scikit-learn.",
    ) + """    classes_ : array of shape (2,)
        The class labels; ``classes_[1]`` is modelled.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = LogisticRegression(C=0.5, tol=1e-8).fit(scale(X), y)
    >>> model.predict_proba(scale(X)[:2]).shape
    (2, 2)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _family(self):
        return Logistic()

    def _check_class_weight(self):
        cw = self.class_weight
        if cw is not None and cw != "balanced" and not isinstance(cw, dict):
            raise ValueError(f"class_weight must be a dict, 'balanced' or None, got {cw!r}")

    def _set_classes(self, classes):
        if len(classes) > 2:
            raise ValueError(
                f"Only binary classification is supported: y has {len(classes)} classes "
                f"{classes[:10].tolist()}. Wrap LogisticRegression in "
                "sklearn.multiclass.OneVsRestClassifier for more."
            )
        if len(classes) < 2:
            raise ValueError(f"LogisticRegression needs samples of two classes; y has only "
                             f"one class: {classes.tolist()}")
        self.classes_ = classes

    def _memory_target(self, y):
        check_classification_targets(y)
        self._set_classes(np.unique(y))
        return (y == self.classes_[1]).astype(np.float64)

    def _dask_target(self, y):
        classes = np.asarray(da.unique(y).compute())
        if classes.dtype.kind == "f" and np.any(np.isnan(classes)):
            raise ValueError("y contains NaN")
        self._set_classes(classes)
        return (y == classes[1]).astype(np.float64)

    def _target_weights(self, target, weights):
        if weights is None and self.class_weight is None:
            return None, float(target.shape[0])
        ones = weights if weights is not None else 1.0
        counts = [(ones * (1.0 - target)).sum(), (ones * target).sum()]
        if isinstance(target, da.Array):
            counts = dask.compute(*counts)
        counts = np.asarray(counts, dtype=float)
        _check_weight_total(counts.sum())
        if np.any(counts <= 0):
            raise ValueError(f"both classes need a positive total sample_weight; the "
                             f"weights of classes {self.classes_.tolist()} sum to "
                             f"{counts.tolist()}")
        class_weight = self._class_weights(counts)
        where = da.where if isinstance(target, da.Array) else np.where
        row_class_weight = where(target == 1.0, class_weight[1], class_weight[0])
        weights = row_class_weight if weights is None else weights * row_class_weight
        return weights, float(class_weight @ counts)

    def _class_weights(self, counts):
        """Weight of each class from the (sample-weighted) class counts."""
        if self.class_weight is None:
            return np.ones(2)
        if self.class_weight == "balanced":
            return counts.sum() / (2.0 * counts)
        unknown = set(self.class_weight) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"class_weight names classes {sorted(map(str, unknown))} "
                             f"that are not in y's classes {list(self.classes_)}")
        return np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_.tolist()])

    def decision_function(self, X):
        """The linear predictor ``X @ coef_ + intercept_`` (log-odds of ``classes_[1]``).

        Returns a numpy array for in-memory ``X``, a dask array for dask ``X``.
        """
        return self._linear_predictor(X)

    def _predict_from_eta(self, eta):
        return _map_rows(eta, _labels_block, self.classes_, dtype=self.classes_.dtype)

    def predict(self, X):
        """The more probable class label of each row."""
        return self._predict_from_eta(self._linear_predictor(X))

    def predict_proba(self, X):
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, shape (n_samples, 2)."""
        link = self._family().link
        return _map_rows(self._linear_predictor(X), _proba_block, link.inverse, n_columns=2)

    def predict_log_proba(self, X):
        """Log-probabilities of the two classes, shape (n_samples, 2), computed stably."""
        link = self._family().link
        return _map_rows(self._linear_predictor(X), _log_proba_block, link, n_columns=2)

    def score(self, X, y, sample_weight=None):
        """Mean (weighted) accuracy, as scikit-learn's ``accuracy_score``."""
        if not _is_dask(X):
            return accuracy_score(y, self.predict(X), sample_weight=sample_weight)
        prediction, y, weights = self._score_data(X, y, sample_weight)
        correct, total = dask.compute((weights * (prediction == y)).sum(), weights.sum())
        return float(correct / total)


class LinearRegression(RegressorMixin, _GLMEstimator):
    __doc__ = """Linear regression (Normal family) on numpy or dask data.

    A drop-in replacement for ``dask_ml.linear_model.LinearRegression``. As
    dask-ml's, it is penalized by default (``penalty='l2', C=1.0``, that is
    scikit-learn's ``Ridge(alpha=1.0)``); ``penalty=None`` gives ordinary
    least squares. ``penalty='l1'``/``'elasticnet'`` with ``C = 1 / (a *
    n_samples)`` give scikit-learn's ``Lasso``/``ElasticNet(alpha=a)``.
""" + _PARAMETERS_DOC.replace("{class_weight_doc}", _REGRESSOR_CLASS_WEIGHT) + """
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = LinearRegression(penalty=None, tol=1e-8).fit(X, y)
    >>> round(model.score(X, y), 3)
    0.518
    """

    def _family(self):
        return Normal()

    def _predict_from_eta(self, eta):
        return eta

    def predict(self, X):
        """``X @ coef_ + intercept_``: numpy for in-memory X, dask for dask X."""
        return self._linear_predictor(X)

    def score(self, X, y, sample_weight=None):
        """R² (weighted), as scikit-learn's ``r2_score``."""
        if not _is_dask(X):
            return r2_score(y, self.predict(X), sample_weight=sample_weight)
        prediction, y, weights = self._score_data(X, y, sample_weight)
        y_mean = (weights * y).sum() / weights.sum()
        residual, total = dask.compute((weights * (y - prediction) ** 2).sum(),
                                       (weights * (y - y_mean) ** 2).sum())
        if total == 0:
            return 1.0 if residual == 0 else 0.0
        return float(1.0 - residual / total)


class PoissonRegression(RegressorMixin, _GLMEstimator):
    __doc__ = """Poisson regression (log link) on numpy or dask data.

    A drop-in replacement for ``dask_ml.linear_model.PoissonRegression``.
    With ``penalty='l2'`` and ``C = 1 / (a * sum(sample_weight))`` its
    coefficients are scikit-learn's ``PoissonRegressor(alpha=a)``'s.
""" + _PARAMETERS_DOC.replace("{class_weight_doc}", _REGRESSOR_CLASS_WEIGHT) + """
    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = PoissonRegression(penalty=None, tol=1e-10).fit(X, [1, 2, 4, 9])
    >>> float(model.predict(X).sum().round(6))   # with an intercept, sum(mu) = sum(y)
    16.0
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags

    def _family(self):
        return Poisson()

    def _predict_from_eta(self, eta):
        return _map_rows(eta, _mean_block, self._family().link.inverse)

    def predict(self, X):
        """Expected counts ``exp(X @ coef_ + intercept_)``."""
        return self._predict_from_eta(self._linear_predictor(X))

    def score(self, X, y, sample_weight=None):
        """D², the share of Poisson deviance explained, as scikit-learn's
        ``PoissonRegressor.score`` (``d2_tweedie_score`` with ``power=1``)."""
        if not _is_dask(X):
            return d2_tweedie_score(y, self.predict(X), sample_weight=sample_weight, power=1)
        prediction, y, weights = self._score_data(X, y, sample_weight)
        deviance = self._family().unit_deviance
        y_mean = (weights * y).sum() / weights.sum()
        model_total, null_total = dask.compute((weights * deviance(y, prediction)).sum(),
                                               (weights * deviance(y, y_mean)).sum())
        return float(1.0 - model_total / null_total)

    def get_deviance(self, X, y):
        """The total Poisson deviance of the predictions (dask-ml's method)."""
        prediction = self.predict(X)
        deviance = self._family().unit_deviance
        if isinstance(prediction, da.Array):
            y = _dask_vector(y, "y", prediction.shape[0]).rechunk((prediction.chunks[0],))
            return float(da.map_blocks(deviance, y, prediction, dtype=np.float64).sum().compute())
        return float(np.sum(deviance(np.asarray(y, dtype=float), prediction)))


# -- per-block prediction helpers (module level, so they pickle) ----------------

def _map_rows(eta, func, *args, n_columns=None, dtype=np.float64):
    """``func(eta, *args)`` on numpy, or block by block on a dask array."""
    if not isinstance(eta, da.Array):
        return func(eta, *args)
    if n_columns is None:
        return eta.map_blocks(func, *args, dtype=dtype)
    return eta.map_blocks(func, *args, new_axis=1, chunks=(eta.chunks[0], (n_columns,)),
                          dtype=dtype)


def _labels_block(eta, classes):
    return classes[(eta > 0).astype(np.intp)]


def _proba_block(eta, inverse):
    p = inverse(eta)
    return np.column_stack([1.0 - p, p])


def _log_proba_block(eta, link):
    return np.column_stack([link.log1m_inverse(eta), link.log_inverse(eta)])


def _mean_block(eta, inverse):
    return inverse(eta)

