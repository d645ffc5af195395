"""Gradient descent with an Armijo line search whose trial steps share one pass."""

from __future__ import annotations

import numpy as np

from ..math.families import Logistic
from ._base import Trace, noise, setup
from ._first_order import diagonal_metric, step_ladder
from ._registry import register_solver

__all__ = ["gradient_descent"]

_ARMIJO = 1e-4


@register_solver("gradient_descent", nonsmooth=False)
def gradient_descent(X, y, family=Logistic(), regularizer=None, *, max_iter=2000, tol=1e-6,
                     offset=None, weights=None, unpenalized=None, init=None, callback=None,
                     n_trial_steps=4, persist="auto"):
    """Minimise the mean negative log-likelihood (plus an L2 penalty) by
    preconditioned gradient descent with backtracking.

    One iteration is one pass over the data: the pass computes ``X @ B`` for
    the matrix ``B`` of all trial points ``b + t_k d`` on the ladder of steps
    ``2t, t, t/2, ...``, and the objective and gradient at each, so the
    Armijo search never passes over the data per trial step. The direction
    is ``d = -gradient / D`` with ``D`` the per-column curvature estimate
    from the first pass (see ``_first_order.diagonal_metric``).

    Parameters
    ----------
    X, y, family, regularizer, offset, weights, unpenalized, init, callback
        As for every solver (see :func:`daskglm.solvers.newton`). Penalties
        with an L1 part are refused.
    max_iter : int
        Most iterations (passes).
    tol : float
        Stop when ``|gradient|_inf`` (penalty included) is at most ``tol``.
    n_trial_steps : int
        Steps tried per pass.
    persist : bool or "auto"
        Keep dask data in memory between passes.

    Returns
    -------
    SolverResult
    """
    problem = setup(gradient_descent, X, y, family, regularizer, offset=offset,
                    weights=weights, unpenalized=unpenalized, init=init,
                    max_iter=max_iter, tol=tol, persist=persist)
    trace = Trace("gradient_descent", problem, callback)
    penalty, mask = problem.penalty, problem.penalized
    coef, first = problem.first_evaluation()
    total = first.value + problem.penalty_value(coef)
    grad = first.gradient + penalty.gradient(coef, mask)
    metric = diagonal_metric(problem)
    step, iteration = 1.0, 0
    message, converged = f"reached max_iter={max_iter}", False
    while True:
        kkt = float(np.max(np.abs(grad)))
        if kkt <= tol:
            message, converged = f"|gradient|_inf {kkt:.3g} <= tol", True
            break
        if iteration >= max_iter:
            break
        iteration += 1
        direction = -grad / metric
        steps = step_ladder(step, n_trial_steps)
        points = coef[:, None] + direction[:, None] * steps
        evaluation = problem.objective.evaluate(points)
        totals = problem.totals(evaluation.values, points)
        slope = grad @ direction
        by_value = totals < total + _ARMIJO * steps * slope - noise(total)
        # By convexity f(b + t d) - f(b) <= t g(b + t d)'d, so a new slope at
        # most _ARMIJO times the old one also proves the Armijo decrease; it
        # stays exact near the optimum where objective values are rounding.
        new_grads = evaluation.gradients + penalty.gradient(points, mask[:, None])
        by_slope = new_grads.T @ direction <= _ARMIJO * slope
        # a trial outside the mean space (objective inf) is never taken
        accepted = np.flatnonzero(np.isfinite(totals) & (by_value | by_slope))
        if accepted.size == 0:
            step = steps[-1] / 2
            trace.record(iteration, total, coef, kkt_norm=kkt, step=0.0)
            if step < 1e-20:
                message = "the line search found no decrease"
                break
            continue
        k = accepted[0]
        coef, total, step = points[:, k], totals[k], steps[k]
        grad = evaluation.gradients[:, k] + penalty.gradient(coef, mask)
        trace.record(iteration, total, coef, kkt_norm=float(np.max(np.abs(grad))), step=step)
    return trace.result(coef, converged=converged, n_iter=iteration, objective=total,
                        message=message, info={"gradient": grad})
