"""What every solver shares: checking its arguments, the problem it solves,
and recording its iterations into a :class:`SolverResult`."""

from __future__ import annotations

import numbers
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..math.compiled import compile_seconds
from ..math.families import get_family
from ..math.penalties import ElasticNet, get_regularizer, penalized_mask
from ..passes.block_hessian import SingularHessianError
from ..passes.coded import CodedMatrix
from ..passes.objective import Objective
from ..passes.stopping import scaled_norm
from ._quadratic import minimise_quadratic
from ._registry import solvers_for
from .result import SolverResult

__all__ = ["Problem", "Trace", "setup", "check_penalty", "noise"]


@dataclass
class Problem:
    """A solver's problem: the smooth objective over the data plus a penalty.

    ``penalty`` is always an :class:`ElasticNet` (``alpha = 0`` without a
    regularizer); ``penalized`` marks the coefficients it applies to.
    """

    objective: Objective
    penalty: ElasticNet
    penalized: np.ndarray
    init: np.ndarray | None
    _kkt_units: np.ndarray | None = None
    fallbacks: list = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return self.objective.n_features

    @property
    def family(self):
        return self.objective.family

    def penalty_value(self, coef) -> float:
        return self.penalty.value(coef, self.penalized)

    def totals(self, values, points) -> np.ndarray:
        """Objective (smooth value + penalty) at each column of ``points``."""
        points = np.asarray(points).reshape(self.n_features, -1)
        penalties = [self.penalty_value(points[:, j]) for j in range(points.shape[1])]
        return np.asarray(values) + np.asarray(penalties)

    def kkt_residual(self, coef, grad) -> np.ndarray:
        return self.penalty.kkt_residual(coef, grad, self.penalized)

    def kkt_norm(self, coef, grad) -> float:
        """The stopping measure: the largest optimality residual in units of
        its column and of the response (scale-invariant; see
        :mod:`daskglm.passes.stopping`)."""
        return scaled_norm(self.kkt_residual(coef, grad), self.kkt_units)

    def gradient_norm(self, gradient) -> float:
        """The stopping measure of a gradient that already includes a smooth
        penalty's (the KKT residual of a fit without an L1 part)."""
        return scaled_norm(gradient, self.kkt_units)

    @property
    def kkt_units(self) -> np.ndarray:
        """Per coefficient, the unit the stopping measure divides by."""
        if self._kkt_units is None:
            self._kkt_units = self.objective.kkt_units
        return self._kkt_units

    def start(self) -> np.ndarray:
        return np.zeros(self.n_features) if self.init is None else self.init.copy()

    def irls_point(self) -> np.ndarray:
        """``init``, else newton's start: one (penalised) IRLS step from the
        family's starting mean, else zeros. Costs one pass without ``init``."""
        return self.irls_model()[0]

    def irls_model(self):
        """``(irls_point(), hessian)``: with the Hessian of the IRLS step's
        weighted least-squares model (the Fisher Hessian at the family's
        starting mean), or None where there was no such step.

        The pass also leaves in :attr:`fallbacks` the points that
        :meth:`step_inside` steps back toward: the regressions onto X of the
        starting linear predictor and of its weighted mean, and zero.
        """
        if self.init is not None:
            return self.init.copy(), None
        zeros = np.zeros(self.n_features)
        start = self.objective.irls_start()
        if start is None:
            return zeros, None
        self.fallbacks = [fallback for fallback in (
            _regression(start.hessian, rhs, zeros, self.penalized)
            for rhs in (start.eta_rhs, start.constant_rhs)) if fallback is not None] + [zeros]
        point = minimise_quadratic(start.hessian, -start.rhs, zeros, self.penalty,
                                   self.penalized)[0]
        return point, start.hessian

    def step_inside(self, point):
        """``(coef, total)``: a start inside the link's mean space, for a
        ``point`` outside it (an objective of ``inf``), in one pass.

        Tries, all in one pass, each fallback (see :meth:`irls_model`; zero
        without them) and the points ``a + 2^-k (point - a)``, k = 1 .. 10,
        between it and ``point``, and returns the one of least objective
        (penalty included). With a constant column in X and no offset the
        second fallback is inside for every link: its linear predictor is a
        weighted mean of starting values that all are. Raises
        ``FloatingPointError`` when no point tried is inside.
        """
        point = np.asarray(point, dtype=float)
        anchors = self.fallbacks or [np.zeros(self.n_features)]
        fractions = np.append(0.5 ** np.arange(1, _HALVINGS + 1), 0.0)
        points = np.column_stack([anchor + t * (point - anchor)
                                  for anchor in anchors for t in fractions])
        totals = self.totals(self.objective.evaluate(points, n_gradients=0).values, points)
        totals = np.where(np.isfinite(totals), totals, np.inf)
        best = int(np.argmin(totals))
        if not np.isfinite(totals[best]):
            family = self.family
            raise FloatingPointError(
                f"no starting point found inside the mean space of the {family.name} "
                f"family with the {family.link.name} link: the IRLS step from the "
                f"family's starting mean, the regressions of its linear predictor onto X "
                f"and zero coefficients all give means outside it; pass init= "
                f"coefficients whose means are inside (or add a constant column)")
        return points[:, best], float(totals[best])

    def first_evaluation(self):
        """``(coef, Evaluation)`` where a first-order solver starts: ``init`` or
        zeros, or the IRLS point when zero leaves the family's mean space (a
        sqrt or identity link for Poisson, say), or :meth:`step_inside` when
        that leaves it too; the IRLS point also when the objective is not
        convex (a non-convex family and link may have a stationary point, or
        a plateau, far from the optimum between zero and it)."""
        if self.init is None and not self.family.convex:
            coef = self.irls_point()
            return coef, self.objective.evaluate(coef)
        coef = self.start()
        evaluation = self.objective.evaluate(coef)
        if self.init is None and not np.isfinite(evaluation.value):
            coef = self.irls_point()
            evaluation = self.objective.evaluate(coef)
        if not np.isfinite(evaluation.value):
            coef = self.step_inside(coef)[0]
            evaluation = self.objective.evaluate(coef)
        return coef, evaluation


def _regression(hessian, rhs, zeros, penalized):
    """The unpenalized weighted regression ``hessian^-1 rhs`` of a start pass,
    or None where a coded design's Hessian is singular without the fit's
    penalty (all levels of a term kept, ``drop=None``)."""
    try:
        return minimise_quadratic(hessian, -rhs, zeros, ElasticNet(0.0, 0.0), penalized)[0]
    except SingularHessianError:
        return None


#: Halvings from a fallback toward a start outside the mean space tried by
#: :meth:`Problem.step_inside` (down to a step of 2^-10).
_HALVINGS = 10


def check_penalty(solver_name, regularizer, handles_nonsmooth):
    """Refuse a penalty with an L1 part for a solver that cannot minimise it."""
    if regularizer is not None and not regularizer.is_smooth and not handles_nonsmooth:
        able = ", ".join(solvers_for(regularizer))
        raise ValueError(
            f"solver {solver_name!r} cannot minimise a penalty with an L1 part "
            f"({regularizer!r}); solvers that can: {able}"
        )


def check_iterations(max_iter, tol):
    if not isinstance(max_iter, numbers.Integral) or isinstance(max_iter, bool) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if not isinstance(tol, numbers.Real) or not tol > 0:
        raise ValueError(f"tol must be a positive number, got {tol!r}")


def _check_init(init, n_features):
    if init is None:
        return None
    init = np.array(init, dtype=float).ravel()
    if init.shape != (n_features,):
        raise ValueError(f"init must have {n_features} entries (one per column of X), "
                         f"got {init.shape[0]}")
    if not np.all(np.isfinite(init)):
        raise ValueError("init contains NaN or infinite values")
    return init


def setup(solver, X, y, family, regularizer, *, offset, weights, unpenalized, init,
          max_iter, tol, persist="auto") -> Problem:
    """Check a solver's arguments and build its :class:`Problem`.

    Everything that can be checked without reading the data is checked here;
    the data itself is checked by the first pass.
    """
    family = get_family(family)
    if family.estimated_parameter is not None:
        raise ValueError(
            f"solver {solver.solver_name!r} cannot estimate {family!r}'s "
            f"{family.estimated_parameter}: newton estimates it with the coefficients "
            f"(unpenalized); other solvers need a fixed {family.estimated_parameter}")
    regularizer = get_regularizer(regularizer)
    check_penalty(solver.solver_name, regularizer, solver.handles_nonsmooth)
    check_iterations(max_iter, tol)
    _check_coded(solver.solver_name, X, regularizer)
    objective = Objective(X, y, family, offset=offset, weights=weights, persist=persist)
    p = objective.n_features
    penalty = regularizer if regularizer is not None else ElasticNet(0.0, 0.0)
    penalized = penalized_mask(unpenalized, p)
    if penalty.per_coefficient and penalty.alpha.shape != (p,):
        raise ValueError(f"alpha has {penalty.alpha.size} values, one per coefficient, but X "
                         f"has {p} columns")
    _check_enough_rows(objective.data.n_rows)
    return Problem(objective, penalty, penalized, _check_init(init, p))


#: Solvers that work on a coded design (a CodedMatrix): through value and
#: gradient, or newton through its block Hessian.
CODED_SOLVERS = ("newton", "lbfgs", "gradient_descent", "proximal_grad")


def _check_coded(solver_name, X, regularizer):
    """Refuse a coded design for a solver that needs dense rows, and an L1
    part for newton on one (its coordinate descent needs a dense Hessian)."""
    if not isinstance(X, CodedMatrix):
        return
    if solver_name not in CODED_SOLVERS:
        raise ValueError(f"solver {solver_name!r} needs the design's rows as dense columns; "
                         f"a design with coded categorical terms is fitted by "
                         f"{', '.join(CODED_SOLVERS)}")
    if solver_name == "newton" and regularizer is not None and not regularizer.is_smooth:
        raise ValueError("newton cannot minimise an L1 penalty on a design with coded "
                         "categorical terms yet; use proximal_grad (or an L2 penalty)")


def _check_enough_rows(n_rows):
    """Refuse a single row: no GLM is estimable from it.

    More columns than rows is accepted here, as scikit-learn accepts it (the
    minimiser of an unpenalized fit is then not unique); the statsmodels-style
    models refuse such a design as rank deficient, naming the columns.
    """
    if n_rows < 2:
        raise ValueError(f"X has {n_rows} row ({n_rows} sample); a GLM fit needs at least 2 rows")


class Trace:
    """Per-iteration records, the callback, and the final :class:`SolverResult`.

    ``callback``, when given, is called after every iteration with the
    iteration's record (a dict) plus ``"coef"``, a copy of the coefficients.
    """

    def __init__(self, name, problem: Problem, callback=None):
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        self.name = name
        self.problem = problem
        self.callback = callback
        self.history = []
        self._start = time.perf_counter()
        self._compiled_before = _total_compile_seconds()

    def record(self, iteration, objective, coef, **measures):
        record = {
            "iteration": int(iteration),
            "objective": float(objective),
            **{k: (float(v) if isinstance(v, (numbers.Real, np.floating)) else v)
               for k, v in measures.items()},
            "elapsed": time.perf_counter() - self._start,
            "n_passes": self.problem.objective.n_passes,
        }
        self.history.append(record)
        if self.callback is not None:
            self.callback(dict(record, coef=np.array(coef, copy=True)))
        return record

    def result(self, coef, *, converged, n_iter, objective, message, info=None,
               warning=None) -> SolverResult:
        """The :class:`SolverResult`; warns ``warning`` (by default
        :class:`~daskglm.exceptions.ConvergenceWarning`) when not converged."""
        if converged and not np.isfinite(objective):
            converged, message = False, f"the objective is {objective} at the answer"
        if not converged:
            from ..exceptions import ConvergenceWarning  # loads sklearn: only when warning

            warnings.warn(f"{self.name} did not converge: {message}",
                          warning or ConvergenceWarning, stacklevel=3)
        return SolverResult(
            coef=np.asarray(coef, dtype=float),
            converged=bool(converged),
            n_iter=int(n_iter),
            n_passes=self.problem.objective.n_passes,
            objective=float(objective),
            history=self.history,
            message=message,
            solver=self.name,
            info={"persisted": self.problem.objective.data.persisted,
                  # kernels built from the family's row math that this fit
                  # compiled (or loaded from numba's cache) in this process
                  "compile_seconds": _total_compile_seconds() - self._compiled_before,
                  **(info or {})},
        )


def _total_compile_seconds() -> float:
    return float(sum(compile_seconds().values()))


def noise(value) -> float:
    """Objective differences below this are rounding, not progress."""
    return 16 * np.finfo(float).eps * max(1.0, abs(value))
