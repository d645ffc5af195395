"""L-BFGS (scipy's L-BFGS-B) with value and gradient from one pass per call."""

from __future__ import annotations

import numpy as np
import scipy.optimize

from ..math.families import Logistic
from ._base import Trace, setup
from ._registry import register_solver

__all__ = ["lbfgs"]


# Fresh starts allowed when scipy's line search stalls above tol.
_RESTARTS = 3
# Armijo's constant and the shortest step when stepping back into the mean space.
_ARMIJO = 1e-4
_MIN_STEP = 2.0 ** -40


@register_solver("lbfgs", nonsmooth=False)
def lbfgs(X, y, family=Logistic(), regularizer=None, *, max_iter=500, tol=1e-8,
          offset=None, weights=None, unpenalized=None, init=None, callback=None,
          memory=20, persist="auto"):
    """Minimise the mean negative log-likelihood (plus an L2 penalty) by L-BFGS.

    Each evaluation of the objective and its gradient is one pass over the
    data. The quasi-Newton work (scipy's L-BFGS-B) runs on the client, in
    coordinates scaled by each column's root mean square (a diagonal
    preconditioner learned in the first pass; the answer does not depend on
    it).

    Parameters
    ----------
    X, y, family, regularizer, offset, weights, unpenalized, init, callback
        As for every solver (see :func:`daskglm.solvers.newton`). Penalties
        with an L1 part are refused.
    max_iter : int
        Most L-BFGS iterations.
    tol : float
        Stop when the gradient (penalty included), entry j divided by
        ``rms(x_j)`` times the response's unit, is at most ``tol`` in
        absolute value (the scale-invariant rule of every solver; see
        :func:`daskglm.solvers.newton`).
    memory : int
        Number of correction pairs kept (L-BFGS-B's ``maxcor``).
    persist : bool or "auto"
        Keep dask data in memory between passes.

    Returns
    -------
    SolverResult

    Notes
    -----
    scipy's own tests on the objective's decrease are switched off (they stop
    at rounding level, well before the gradient rule). When its line search
    stalls at machine precision, L-BFGS starts again from that point with an
    empty memory (at most 3 times); if the gradient rule still does not hold
    the result reports ``converged=False``.

    scipy's line search stops where a trial leaves the link's mean space (an
    objective of ``inf``, as for a log link of the binomial near a mean of
    1). The step to that trial is then halved back from the last point
    until the objective is finite and decreases, and L-BFGS starts again,
    fresh, from there; only the KKT rule declares convergence.
    """
    problem = setup(lbfgs, X, y, family, regularizer, offset=offset, weights=weights,
                    unpenalized=unpenalized, init=init, max_iter=max_iter, tol=tol,
                    persist=persist)
    trace = Trace("lbfgs", problem, callback)
    coef0, first = problem.first_evaluation()
    scale = np.sqrt(np.maximum(problem.objective.column_mean_squares, 1e-12))
    cache = {"x": coef0 / scale, "value": first.value, "grad": first.gradient}
    penalty, mask = problem.penalty, problem.penalized

    def total(coef, value, grad):
        return value + problem.penalty_value(coef), grad + penalty.gradient(coef, mask)

    def fun(x):
        coef = x / scale
        if not np.array_equal(x, cache["x"]):
            evaluation = problem.objective.evaluate(coef)
            cache.update(x=x.copy(), value=evaluation.value, grad=evaluation.gradient)
        value, grad = total(coef, cache["value"], cache["grad"])
        if not np.isfinite(value):
            state["outside"] = x.copy()
            return np.inf, np.zeros_like(x)
        return value, grad / scale

    state = {"iteration": 0, "converged": False, "outside": None}

    def after_iteration(intermediate_result):
        x = intermediate_result.x
        state["iteration"] += 1
        value, grad = fun(x)
        kkt = problem.gradient_norm(grad * scale)
        trace.record(state["iteration"], value, x / scale, kkt_norm=kkt)
        if kkt <= tol:
            state["converged"] = True
            raise StopIteration

    value0, grad0 = fun(cache["x"])
    kkt0 = problem.gradient_norm(grad0 * scale)
    if kkt0 <= tol:
        trace.record(0, value0, coef0, kkt_norm=kkt0)
        return trace.result(coef0, converged=True, n_iter=0, objective=value0,
                            message="the starting point meets tol")
    x, restarts = cache["x"], 0
    while True:
        state["outside"] = None
        found = scipy.optimize.minimize(
            fun, x, jac=True, method="L-BFGS-B", callback=after_iteration,
            options={"maxiter": max_iter - state["iteration"], "maxcor": memory, "gtol": 0.0,
                     "ftol": 0.0, "maxfun": 20 * max_iter},
        )
        x = found.x
        if state["converged"] or state["iteration"] >= max_iter:
            break
        if state["outside"] is not None:
            # scipy's line search stops at a trial outside the mean space
            # (an infinite objective): halve back toward x, then start again
            x = _step_back_inside(fun, x, state["outside"])
            state["iteration"] += 1      # counted: it bounds the loop by max_iter
            if x is None:
                x = found.x
                break
            continue
        # scipy's line search found no decrease at rounding level; its
        # curvature pairs are then stale: start again, fresh, from here
        restarts += 1
        if restarts > _RESTARTS:
            break
    coef = x / scale
    value, grad = fun(x)
    kkt = problem.gradient_norm(grad * scale)
    converged = state["converged"] or kkt <= tol
    message = (f"scaled |gradient|_inf {kkt:.3g} <= tol" if converged
               else f"scipy stopped ({found.message}) with scaled |gradient|_inf "
                    f"{kkt:.3g} > tol")
    return trace.result(coef, converged=converged, n_iter=state["iteration"],
                        objective=value, message=message, info={"gradient": grad * scale})


def _step_back_inside(fun, x, outside):
    """A point between ``x`` (inside the mean space) and ``outside`` (a trial
    of scipy's line search whose objective is infinite) with a lower
    objective, by halving the step from ``x`` (one pass per halving); None
    when the segment is no descent direction or no halving decreases.

    Decrease is Armijo's, or, where the objective's change is rounding, a
    directional derivative at the new point at most 1e-4 times the one at
    ``x`` (for a convex objective that proves the Armijo decrease)."""
    value, grad = fun(x)
    direction = outside - x
    slope = grad @ direction
    if not slope < 0:
        return None
    step = 1.0
    while step > _MIN_STEP:
        step *= 0.5
        trial = x + step * direction
        trial_value, trial_grad = fun(trial)
        if not np.isfinite(trial_value):
            continue
        if (trial_value <= value + _ARMIJO * step * slope
                or trial_grad @ direction <= _ARMIJO * slope):
            return trial
    return None
