"""Newton's method in the coefficients and a family parameter together.

:func:`daskglm.solvers.newton` hands a family with an
``estimated_parameter`` (``NegativeBinomial(alpha="estimate")``) to
:func:`fit_with_parameter`: maximum likelihood in ``(b, theta)``,
``theta`` the parameter's logarithm, as statsmodels' discrete
``NegativeBinomial`` and R's ``MASS::glm.nb`` estimate alpha.
"""

from __future__ import annotations

import numpy as np

from ..math.penalties import get_regularizer
from ..passes.parameter_pass import ParameterObjective
from ._base import Trace, noise, setup

__all__ = ["fit_with_parameter"]

_ARMIJO = 1e-4
_MIN_STEP = 2.0 ** -30
# The largest change of theta (the parameter's log) one step may make: a
# factor e^4 in the parameter keeps a far start from overflowing.
_MAX_THETA_STEP = 4.0
# Objective differences within this many times noise() are taken as rounding
# of the sum over the rows (see _closer).
_ROUNDING = 64.0


def fit_with_parameter(solver, X, y, family, regularizer=None, *, max_iter=100, tol=1e-8,
                       offset=None, weights=None, unpenalized=None, init=None, callback=None,
                       persist="auto", start=1.0):
    """Maximise the likelihood in the coefficients and ``family``'s estimated parameter.

    Parameters
    ----------
    solver : callable
        The registered solver this runs for (``newton``): its name is checked
        and recorded.
    X, y, offset, weights, max_iter, tol, init, callback, persist
        As for :func:`daskglm.solvers.newton`. ``init`` starts the
        coefficients; ``max_iter`` counts passes.
    family : Family
        A family with an ``estimated_parameter``.
    regularizer : None
        The fit is unpenalized maximum likelihood; a penalty is refused.
    unpenalized : ignored
        (No penalty.)
    start : float
        The parameter's starting value.

    Returns
    -------
    SolverResult
        ``coef`` holds the coefficients; ``info["parameter"]`` the
        parameter's estimate, ``info["family"]`` the family with the
        parameter fixed there, ``info["joint_hessian"]`` and
        ``info["joint_gradient"]`` the observed Hessian and gradient of the
        mean objective in ``(b, log parameter)`` at the answer, and
        ``info["sum_weights"]`` the sum of the weights that mean is over.

    Notes
    -----
    One pass per iteration returns the value, the gradient and the
    observed Hessian in ``(b, theta)``
    (:class:`daskglm.passes.parameter_pass.ParameterObjective`). The step
    solves the Newton system, with a Levenberg-Marquardt shift of the
    diagonal where the Hessian is not positive definite, and is halved until
    the objective decreases (Armijo). The first pass is IRLS's first step
    at the parameter's ``start``. The fit stops when the largest absolute
    gradient entry (coefficients and theta) is at most ``tol``.
    """
    name = getattr(solver, "solver_name", "newton")
    penalty = get_regularizer(regularizer)
    if penalty is not None and penalty.alpha != 0:
        raise ValueError(
            f"{family!r} estimates {family.estimated_parameter} by unpenalized maximum "
            f"likelihood; a penalty ({penalty!r}) needs a fixed {family.estimated_parameter}")
    problem = setup(solver, X, y, family.with_parameter(start), None, offset=offset,
                    weights=weights, unpenalized=unpenalized, init=init, max_iter=max_iter,
                    tol=tol, persist=persist)
    trace = Trace(name, problem, callback)
    coef = problem.irls_point()            # a pass without init: validates the data
    objective = ParameterObjective(problem.objective.data, family)
    return _JointRun(objective, trace, tol).run(np.append(coef, np.log(start)), max_iter,
                                                int(problem.init is None))


class _JointRun:
    """The state of one joint Newton fit."""

    def __init__(self, objective, trace, tol):
        self.objective, self.trace, self.tol = objective, trace, tol

    def run(self, point, max_iter, passes_done):
        evaluation = self.objective.evaluate(point[:-1], point[-1])
        iteration = passes_done + 1
        if not np.isfinite(evaluation.value):
            raise FloatingPointError(
                f"the {self.objective.family.name} likelihood is not finite at the start; "
                "check the data's scale or pass start_params")
        message, converged = f"reached max_iter={max_iter}", False
        while True:
            kkt = float(np.max(np.abs(evaluation.gradient)))
            self.trace.record(iteration, evaluation.value, point[:-1], kkt_norm=kkt,
                              parameter=float(np.exp(point[-1])))
            if kkt <= self.tol:
                message, converged = f"gradient {kkt:.3g} <= tol", True
                break
            if iteration >= max_iter:
                break
            direction = _newton_direction(evaluation)
            found = self._line_search(point, evaluation, direction, iteration, max_iter)
            if found is None:
                message = f"the line search found no decrease (gradient {kkt:.3g})"
                break
            point, evaluation, iteration = found
        return self._result(point, evaluation, converged, iteration, message)

    def _line_search(self, point, evaluation, direction, iteration, max_iter):
        """``(point, evaluation, iteration)`` after the first step that decreases
        the objective enough, or None."""
        decrease = float(evaluation.gradient @ direction)
        step = 1.0
        while step >= _MIN_STEP and iteration < max_iter:
            trial = point + step * direction
            iteration += 1
            candidate = self.objective.evaluate(trial[:-1], trial[-1])
            wanted = evaluation.value + _ARMIJO * step * decrease + noise(evaluation.value)
            if candidate.value <= wanted or _closer(candidate, evaluation):
                return trial, candidate, iteration
            step *= 0.5
        return None

    def _result(self, point, evaluation, converged, iteration, message):
        family = self.objective.family
        value = float(np.exp(point[-1]))
        info = {"parameter": value, "family": family.with_parameter(value),
                "joint_hessian": evaluation.hessian, "joint_gradient": evaluation.gradient,
                "parameter_name": family.estimated_parameter,
                "sum_weights": self.objective.sum_weights}
        return self.trace.result(point[:-1], converged=converged, n_iter=iteration,
                                 objective=evaluation.value, message=message, info=info)


def _closer(candidate, evaluation):
    """Whether a trial point whose objective differs from the current one by
    rounding only (near the optimum, where the decrease predicted is below the
    sum's rounding) is nearer the optimum: its gradient is smaller."""
    level = _ROUNDING * noise(evaluation.value)
    return (abs(candidate.value - evaluation.value) <= level
            and np.max(np.abs(candidate.gradient)) < np.max(np.abs(evaluation.gradient)))


def _newton_direction(evaluation):
    """Solve ``H d = -g``; shift H's diagonal until it is positive definite."""
    hessian, gradient = evaluation.hessian, evaluation.gradient
    scale = np.sqrt(np.maximum(np.abs(np.diag(hessian)), np.finfo(float).tiny))
    scaled = hessian / np.outer(scale, scale)     # unit diagonal: a shift free of units
    shift = 0.0
    while True:
        try:
            factor = np.linalg.cholesky(scaled + shift * np.eye(len(scale)))
            break
        except np.linalg.LinAlgError:
            shift = max(1e-8, 10.0 * shift)
            if shift > 1e12:
                return -gradient / scale ** 2
    solved = np.linalg.solve(factor.T, np.linalg.solve(factor, -gradient / scale))
    direction = solved / scale
    if abs(direction[-1]) > _MAX_THETA_STEP:
        direction *= _MAX_THETA_STEP / abs(direction[-1])
    return direction
