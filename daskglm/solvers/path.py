"""Regularization paths: the penalised fit at a whole descending sequence of alphas.

    minimise_b  sum_i w_i nll_i / sum_i w_i + alpha (l1_ratio |b|_1 + (1 - l1_ratio)/2 |b|^2)

for every alpha of a grid, the objective and scaling of every solver
(DESIGN.md). The walk is proximal Newton (as :func:`daskglm.solvers.newton`)
with what makes a path cheap (glmnet's recipe):

- warm starts: each alpha starts at the previous alpha's answer, where the
  last pass already gave the gradient and the Fisher Hessian, so the first
  step for the new alpha is solved in memory before any new pass;
- sequential strong rules: a penalized coefficient that is zero at the
  previous alpha and whose gradient there is below ``l1_ratio * (2 alpha_k
  - alpha_{k-1})`` is left out of the active set; every answer is checked
  against the KKT conditions of ALL coefficients (the pass computes the
  whole gradient anyway), and a coefficient the rule dropped wrongly is
  added back and the fit continued, so the rule only saves work;
- active-set passes: a pass computes the value and the whole gradient but
  the Hessian of the active (and soon-to-be active) columns only, ``q^2``
  rather than ``p^2`` work per row.

The walk is written as a generator of pass requests, so that several walks
(the folds of a cross-validation, :mod:`daskglm.solvers.cv`) advance in
lockstep and share each pass over the data.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..math.families import Logistic, get_family
from ..math.penalties import ElasticNet, penalized_mask
from ..passes.coded import CodedMatrix
from ..passes.objective import Objective, evaluate_together
from ._base import check_iterations, noise
from ._quadratic import minimise_quadratic

__all__ = ["path", "RegularizationPath", "PathWalk", "alpha_grid", "check_alphas",
           "check_l1_ratio", "check_grid_options", "run_walks", "run_steps"]

_ARMIJO = 1e-4
_MIN_STEP = 2.0 ** -30
# Newton steps in a row whose predicted decrease is rounding and that do not
# lower the KKT residual before an alpha is given up as not converged (tol
# below what rounding lets the data resolve).
_MAX_STALLED = 3
# The automatic grid's alpha_max for a ridge path (l1_ratio = 0), as glmnet:
# the L1 share is taken as this when finding where coefficients leave zero.
_SMALLEST_L1_SHARE = 1e-3


@dataclass
class RegularizationPath:
    """Coefficients along a descending sequence of penalties.

    Attributes
    ----------
    alphas : array of shape (n_alphas,)
        The penalties, descending.
    coefs : array of shape (n_alphas, n_features)
        One row of coefficients per alpha.
    converged : array of bool, shape (n_alphas,)
        Whether the KKT residual of every coefficient reached ``tol``.
    n_iter : array of int, shape (n_alphas,)
        Passes over the data spent on each alpha.
    n_passes : int
        Passes in total, the start (the unpenalized columns' fit) included.
    l1_ratio : float
    objectives : array of shape (n_alphas,)
        Penalised objective at each answer.
    kkt_norms : array of shape (n_alphas,)
        Largest KKT residual at each answer.
    alpha_max : float
        The smallest alpha at which every penalized coefficient is zero.
    names : list of str, optional
        Column names (set by :meth:`daskglm.GLM.fit_regularized`).
    """

    alphas: np.ndarray
    coefs: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    n_passes: int
    l1_ratio: float
    objectives: np.ndarray
    kkt_norms: np.ndarray
    alpha_max: float
    names: list | None = None
    info: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"RegularizationPath(n_alphas={len(self.alphas)}, l1_ratio={self.l1_ratio!r}, "
                f"converged={int(self.converged.sum())}/{len(self.alphas)}, "
                f"n_passes={self.n_passes})")

    @property
    def n_nonzero(self) -> np.ndarray:
        """Non-zero coefficients at each alpha."""
        return np.count_nonzero(self.coefs, axis=1)

    def plot(self, ax=None, log_alpha=True):
        """Coefficients against alpha (matplotlib); see :func:`daskglm.plotting.plot_path`."""
        from ..plotting import plot_path

        return plot_path(self, ax=ax, log_alpha=log_alpha)


def check_l1_ratio(l1_ratio, name="l1_ratio") -> float:
    if (not isinstance(l1_ratio, numbers.Real) or isinstance(l1_ratio, bool)
            or not 0.0 <= float(l1_ratio) <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1], got {l1_ratio!r}")
    return float(l1_ratio)


def check_alphas(alphas, name="alphas") -> np.ndarray:
    """``alphas`` as a float array: finite, positive and strictly descending."""
    values = np.asarray(alphas, dtype=float) if not isinstance(alphas, str) else None
    if values is None or values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got {alphas!r}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"{name} must all be positive and finite, got {values.tolist()}")
    if np.any(np.diff(values) >= 0):
        raise ValueError(f"{name} must be strictly descending (largest penalty first), "
                         f"got {values.tolist()}")
    return values


def alpha_grid(alpha_max, n_alphas, alpha_min_ratio) -> np.ndarray:
    """``n_alphas`` values from ``alpha_max`` down to ``alpha_max * alpha_min_ratio``,
    evenly spaced on the log scale (glmnet's and scikit-learn's grid)."""
    if not alpha_max > 0 or not np.isfinite(alpha_max):
        raise ValueError(f"the largest useful alpha is {alpha_max!r}: every penalized column "
                         "has a zero gradient at the unpenalized columns' fit, so there is no "
                         "path to compute; give alphas= explicitly")
    return np.geomspace(alpha_max, alpha_max * alpha_min_ratio, n_alphas)


def check_grid_options(n_alphas, alpha_min_ratio):
    if (not isinstance(n_alphas, numbers.Integral) or isinstance(n_alphas, bool)
            or n_alphas < 1):
        raise ValueError(f"n_alphas must be a positive integer, got {n_alphas!r}")
    if alpha_min_ratio is not None and (not isinstance(alpha_min_ratio, numbers.Real)
                                        or not 0.0 < alpha_min_ratio < 1.0):
        raise ValueError(f"alpha_min_ratio must be a number in (0, 1), got {alpha_min_ratio!r}")


def default_min_ratio(n_rows, n_features) -> float:
    """glmnet's default ``alpha_min_ratio``: 1e-4 with more rows than columns, else 1e-2."""
    return 1e-4 if n_rows > n_features else 1e-2


def path(X, y, family=Logistic(), *, l1_ratio=1.0, alphas=None, n_alphas=100,
         alpha_min_ratio=None, unpenalized=None, sample_weight=None, offset=None,
         method="newton", tol=1e-8, max_iter=100, persist="auto") -> RegularizationPath:
    """Penalised fits along a descending sequence of alphas, with warm starts.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        numpy or dask array (rows in chunks); no intercept is added.
    y : array of shape (n_samples,)
    family : Family or its name
    l1_ratio : float in [0, 1]
        The L1 share of the elastic net (1: lasso, 0: ridge).
    alphas : sequence of float, optional
        Positive, strictly descending penalties. Without them: ``n_alphas``
        values from ``alpha_max`` (the smallest alpha at which every penalized
        coefficient is zero, from the gradient at the unpenalized columns'
        fit; with ``l1_ratio = 0``, where they would be with an L1 share of
        1e-3, as glmnet) down to ``alpha_max * alpha_min_ratio``, log-spaced.
    n_alphas : int
    alpha_min_ratio : float in (0, 1), optional
        Default (glmnet's): 1e-4 when there are more rows than columns, else 1e-2.
    unpenalized : sequence of int, optional
        Columns the penalty never touches (the intercept's).
    sample_weight, offset : array of shape (n_samples,), optional
    method : {"newton"}
        The path's walk: proximal Newton with strong rules and active sets.
    tol : float
        Each alpha stops when the largest KKT residual of the mean objective,
        over every coefficient, is at most ``tol`` (as :func:`newton`).
    max_iter : int
        Most passes over the data for one alpha.
    persist : bool or "auto"
        Keep dask data in memory between passes.

    Returns
    -------
    RegularizationPath

    Examples
    --------
    >>> import numpy as np
    >>> from daskglm.solvers import path
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(500), rng.normal(size=(500, 4))])
    >>> y = (rng.random(500) < 1 / (1 + np.exp(-X[:, 1]))).astype(float)
    >>> fits = path(X, y, "binomial", n_alphas=20, unpenalized=[0])
    >>> fits.coefs.shape, bool(fits.converged.all())
    ((20, 5), True)
    """
    l1_ratio = check_l1_ratio(l1_ratio)
    alphas = None if alphas is None else check_alphas(alphas)
    check_grid_options(n_alphas, alpha_min_ratio)
    check_iterations(max_iter, tol)
    if method != "newton":
        raise ValueError(f"method={method!r} is not a path method; the path is walked by "
                         "'newton' (proximal Newton with warm starts and active sets)")
    if isinstance(X, CodedMatrix):
        raise ValueError("a path needs dense columns; a design with coded categorical terms "
                         "is not supported by the path yet")
    objective = Objective(X, y, get_family(family), offset=offset, weights=sample_weight,
                          persist=persist)
    walk = PathWalk(objective, penalized_mask(unpenalized, objective.n_features), l1_ratio,
                    tol=tol, max_iter=max_iter, alphas=alphas, n_alphas=n_alphas,
                    alpha_min_ratio=alpha_min_ratio)
    (result,) = run_walks([walk])
    warn_unconverged(result)
    return result


def warn_unconverged(result):
    if not result.converged.all():
        from ..exceptions import ConvergenceWarning

        bad = result.alphas[~result.converged]
        warnings.warn(f"the path did not converge at {bad.size} of {result.alphas.size} "
                      f"alphas (first: {bad[0]:.4g}); raise max_iter", ConvergenceWarning,
                      stacklevel=3)


def run_walks(walks) -> list:
    """Run path walks to their ends, their passes together: in each round every
    walk that wants a pass gets it, and the passes over dask data are one graph.
    Returns each walk's :class:`RegularizationPath`."""
    return run_steps([walk.steps() for walk in walks])


def run_steps(steps) -> list:
    """Run generators of pass requests (:meth:`PathWalk.steps`, ``start``,
    ``walk``) in lockstep; returns what each returns."""
    results = [None] * len(steps)
    pending = {}
    for i, step in enumerate(steps):
        _advance(i, step, None, pending, results)
    while pending:
        order = list(pending)
        evaluations = evaluate_together([pending[i] for i in order])
        pending = {}
        for i, evaluation in zip(order, evaluations):
            _advance(i, steps[i], evaluation, pending, results)
    return results


def _advance(i, step, evaluation, pending, results):
    try:
        pending[i] = step.send(evaluation) if evaluation is not None else next(step)
    except StopIteration as stop:
        results[i] = stop.value


class PathWalk:
    """One path's state; :meth:`steps` is a generator that yields pass requests
    ``(objective, point, options)`` and receives their :class:`Evaluation`.

    ``alphas`` is None (the automatic grid), a checked descending array, or a
    callable ``alphas(sum_weights) -> array`` (a grid in scikit-learn's ``C``,
    whose alphas depend on the weight of the rows fitted).
    """

    def __init__(self, objective, penalized, l1_ratio, *, tol, max_iter, alphas=None,
                 n_alphas=100, alpha_min_ratio=None):
        self.objective, self.penalized, self.l1_ratio = objective, penalized, l1_ratio
        self.tol, self.max_iter = tol, max_iter
        self.alphas, self.n_alphas, self.alpha_min_ratio = alphas, n_alphas, alpha_min_ratio
        p = objective.n_features
        self.coef = np.zeros(p)
        self.value = np.inf          # smooth objective at coef
        self.grad = None             # gradient at coef (all columns)
        self.hessian = None          # Fisher Hessian at coef over self.columns
        self.columns = np.arange(0)  # the Hessian's columns
        self.alpha = self.next_alpha = None  # the alpha being fitted, and the one after it
        self.alpha_max = None        # known after start()

    # -- the walk ---------------------------------------------------------------
    def steps(self):
        """The whole walk: :meth:`start` (unless done), then every alpha."""
        if self.alpha_max is None:
            yield from self.start()
        return (yield from self.walk())

    def start(self):
        """Fit the unpenalized columns alone; sets :attr:`alpha_max`."""
        if self.penalized.sum() == 0:
            raise ValueError("every column is unpenalized: there is no path to compute")
        yield from self._start(np.flatnonzero(~self.penalized))
        share = max(self.l1_ratio, _SMALLEST_L1_SHARE)
        self.alpha_max = float(np.max(np.abs(self.grad[self.penalized])) / share)

    def grid(self) -> np.ndarray:
        """The alphas of the walk: given, computed from the sum of weights
        (a callable), or the automatic grid from :attr:`alpha_max`."""
        alphas = self.alphas
        if callable(alphas):
            return check_alphas(alphas(self.objective.data.stats.sum_weights))
        if alphas is not None:
            return alphas
        n_rows, p = self.objective.data.stats.n_rows, self.objective.n_features
        ratio = self.alpha_min_ratio or default_min_ratio(n_rows, p)
        return alpha_grid(self.alpha_max, self.n_alphas, ratio)

    def walk(self):
        """Every alpha of :meth:`grid`, from the current point (after :meth:`start`)."""
        alphas, passes_at_start = self.grid(), self.objective.n_passes
        records, previous = [], max(self.alpha_max, alphas[0])
        for k, alpha in enumerate(alphas):
            self.next_alpha = alphas[k + 1] if k + 1 < len(alphas) else alpha
            passes_before = self.objective.n_passes
            converged, kkt = yield from self._solve(alpha, previous)
            penalty = ElasticNet(alpha, self.l1_ratio)
            records.append((self.coef.copy(), converged, self.objective.n_passes - passes_before,
                            self.value + penalty.value(self.coef, self.penalized), kkt))
            previous = alpha
        coefs, converged, n_iter, objectives, kkts = map(np.array, zip(*records))
        return RegularizationPath(alphas=np.asarray(alphas, dtype=float), coefs=coefs,
                                  converged=converged.astype(bool), n_iter=n_iter.astype(int),
                                  n_passes=self.objective.n_passes, l1_ratio=self.l1_ratio,
                                  objectives=objectives, kkt_norms=kkts, alpha_max=self.alpha_max,
                                  info={"walk_passes": self.objective.n_passes - passes_at_start})

    def _request(self, point, columns):
        return (self.objective, point, {"hessian": True, "hessian_columns": columns})

    def _start(self, unpenalized):
        """The fit of the unpenalized columns alone (every penalized one at 0)."""
        evaluation = yield self._request(self.coef, unpenalized)
        if not np.isfinite(evaluation.value):
            raise ValueError("the path starts where every coefficient is zero, and the "
                             f"{self.objective.family.name} family's mean is undefined there "
                             "(its link's range); add an unpenalized intercept column")
        self._take(self.coef, evaluation, unpenalized)
        converged, kkt = yield from self._minimise(ElasticNet(0.0, 0.0), unpenalized,
                                                   check_all=False)
        if not converged:
            raise FloatingPointError(f"the fit of the unpenalized columns (where the path "
                                     f"starts) did not converge: KKT residual {kkt:.3g}")

    def _solve(self, alpha, previous):
        """Minimise at ``alpha`` from the current point (the answer at ``previous``)."""
        penalty, self.alpha = ElasticNet(alpha, self.l1_ratio), alpha
        threshold = self.l1_ratio * (2.0 * alpha - previous)
        keep = ~self.penalized | (self.coef != 0) | (np.abs(self.grad) >= threshold)
        return (yield from self._minimise(penalty, np.flatnonzero(keep), check_all=True))

    def _minimise(self, penalty, active, *, check_all):
        """Proximal Newton over ``active``; with ``check_all``, coefficients
        outside it that break their KKT condition join it. Returns
        ``(converged, kkt_norm)``; the current point is the answer."""
        passes, best, stalled, rounding = 0, np.inf, 0, False
        while True:
            residual = np.abs(penalty.kkt_residual(self.coef, self.grad, self.penalized))
            scope = residual if check_all else residual[active]
            kkt = float(scope.max(initial=0.0))
            if kkt <= self.tol:
                return True, kkt
            # steps whose predicted decrease is rounding and that leave the
            # residual where it was: tol is below what the data resolve
            stalled = stalled + 1 if rounding and kkt >= best else 0
            best, rounding = min(best, kkt), False
            if stalled >= _MAX_STALLED:
                return False, kkt
            if check_all:
                outside = np.ones(residual.size, bool)
                outside[active] = False
                active = np.flatnonzero(~outside | (residual > self.tol))
            if passes >= self.max_iter:
                return False, kkt
            if not np.isin(active, self.columns).all():   # the Hessian lacks a column
                evaluation = yield self._request(self.coef, self._hessian_columns(active))
                passes += 1
                self._take(self.coef, evaluation, self._hessian_columns(active))
                continue
            accepted, used, rounding = yield from self._newton_step(penalty, active,
                                                                    self.max_iter - passes)
            passes += used
            if not accepted:
                return False, kkt

    def _newton_step(self, penalty, active, passes_left):
        """One proximal Newton step over ``active`` with a backtracking line
        search; returns ``(accepted, passes, whether the predicted decrease
        was within rounding)``."""
        position = np.searchsorted(self.columns, active)
        hessian = self.hessian[np.ix_(position, position)]
        target, _ = minimise_quadratic(hessian, self.grad[active], self.coef[active], penalty,
                                       self.penalized[active])
        direction = np.zeros_like(self.coef)
        direction[active] = target - self.coef[active]
        penalty_now = penalty.value(self.coef, self.penalized)
        total = self.value + penalty_now
        decrease = (self.grad @ direction
                    + penalty.value(self.coef + direction, self.penalized) - penalty_now)
        if decrease > noise(total):     # not a descent direction: the model is wrong
            return False, 0, False
        rounding = decrease >= -noise(total)
        # a predicted decrease within rounding (near the optimum, where the
        # objective no longer resolves the KKT residual) is tried all the same:
        # the Armijo test then allows the rounding, and the residual decides
        step, passes, columns = 1.0, 0, self._hessian_columns(active)
        while passes < passes_left and step >= _MIN_STEP:
            trial = self.coef + step * direction
            evaluation = yield self._request(trial, columns)
            passes += 1
            trial_total = evaluation.value + penalty.value(trial, self.penalized)
            wanted = total + _ARMIJO * step * decrease + noise(total)
            if np.isfinite(trial_total) and trial_total <= wanted:
                self._take(trial, evaluation, columns)
                return True, passes, rounding
            step *= 0.5
        return False, passes, rounding

    def _hessian_columns(self, active):
        """The columns whose Hessian the next pass computes: the active set and
        those the strong rule would keep for the next alpha (so the next alpha
        usually starts without a pass for a missing Hessian column)."""
        if self.next_alpha is None or self.grad is None:
            return np.asarray(active, dtype=np.int64)
        threshold = self.l1_ratio * (2.0 * self.next_alpha - self.alpha)
        soon = self.penalized & (np.abs(self.grad) >= threshold)
        return np.union1d(active, np.flatnonzero(soon)).astype(np.int64)

    def _take(self, point, evaluation, columns):
        self.coef = np.array(point, dtype=float)
        self.value, self.grad = evaluation.value, evaluation.gradient
        self.hessian, self.columns = evaluation.hessian, np.asarray(columns, dtype=np.int64)
