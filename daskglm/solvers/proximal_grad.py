"""Accelerated proximal gradient (FISTA) with backtracking, one pass per iteration."""

from __future__ import annotations

import numpy as np

from ..math.families import Logistic
from ._base import Trace, noise, setup
from ._first_order import diagonal_metric, step_ladder
from ._registry import register_solver

__all__ = ["proximal_grad"]


@register_solver("proximal_grad", nonsmooth=True)
def proximal_grad(X, y, family=Logistic(), regularizer=None, *, max_iter=5000, tol=1e-6,
                  offset=None, weights=None, unpenalized=None, init=None, callback=None,
                  accelerated=True, restart=True, n_trial_steps=3, persist="auto"):
    """Minimise smooth loss + penalty by (accelerated) proximal gradient.

    From the extrapolated point ``y`` with gradient ``g``, each trial step
    ``t`` on the ladder ``2t, t, t/2, ...`` gives a candidate
    ``x_t = prox_{t/D}(y - t g / D)`` (``D`` the per-column curvature
    estimate: a diagonal metric) and the next extrapolated point
    ``x_t + beta (x_t - x_prev)``. ONE pass evaluates the loss and gradient
    at all of them; the largest step meeting the sufficient-decrease test
    ``f(x_t) <= f(y) + g'(x_t - y) + |x_t - y|_D^2 / (2t)`` is taken.

    Parameters
    ----------
    X, y, family, regularizer, offset, weights, unpenalized, init, callback
        As for every solver (see :func:`daskglm.solvers.newton`). Every
        penalty is accepted.
    max_iter : int
        Most iterations (passes).
    tol : float
        Stop when the largest KKT residual at the new point,
        ``|gradient + penalty subgradient|_inf``, is at most ``tol``.
    accelerated : bool
        FISTA momentum (Beck & Teboulle, 2009); False gives ISTA.
    restart : bool
        Reset the momentum when the objective goes up (O'Donoghue & Candès,
        2015); the gradient needed for that is already in the pass.
    n_trial_steps : int
        Steps tried per pass.
    persist : bool or "auto"
        Keep dask data in memory between passes.

    Returns
    -------
    SolverResult
    """
    problem = setup(proximal_grad, X, y, family, regularizer, offset=offset, weights=weights,
                    unpenalized=unpenalized, init=init, max_iter=max_iter, tol=tol,
                    persist=persist)
    trace = Trace("proximal_grad", problem, callback)
    return _Fista(problem, trace, accelerated, restart, n_trial_steps).run(max_iter, tol)


class _Fista:
    def __init__(self, problem, trace, accelerated, restart, n_trial_steps):
        self.problem, self.trace = problem, trace
        self.accelerated, self.restart, self.n_trial_steps = accelerated, restart, n_trial_steps
        coef, first = problem.first_evaluation()
        self.metric = diagonal_metric(problem)
        self.x, self.total = coef, first.value + problem.penalty_value(coef)
        self.x_grad = first.gradient
        self.y, self.y_value, self.y_grad = coef, first.value, first.gradient
        self.theta, self.step = 1.0, 1.0

    def run(self, max_iter, tol):
        kkt = self.problem.kkt_norm(self.x, self.x_grad)
        iteration, message, converged = 0, f"reached max_iter={max_iter}", False
        while kkt > tol:
            if iteration >= max_iter:
                break
            iteration += 1
            if not self._iterate():
                self.trace.record(iteration, self.total, self.x, kkt_norm=kkt, step=0.0)
                if self.step < 1e-20:
                    message = "the backtracking search found no acceptable step"
                    break
                continue
            kkt = self.problem.kkt_norm(self.x, self.x_grad)
            self.trace.record(iteration, self.total, self.x, kkt_norm=kkt, step=self.step)
        else:
            message, converged = f"KKT residual {kkt:.3g} <= tol", True
        return self.trace.result(self.x, converged=converged, n_iter=iteration,
                                 objective=self.total, message=message,
                                 info={"gradient": self.x_grad})

    def _iterate(self):
        problem, metric = self.problem, self.metric
        # steps grow again only after a momentum restart: growing them under
        # momentum makes the iterates oscillate
        steps = step_ladder(self.step, self.n_trial_steps, grow=self.theta == 1.0)
        candidates = np.stack([
            problem.penalty.prox(self.y - t * self.y_grad / metric, t / metric, problem.penalized)
            for t in steps], axis=1)
        theta_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.theta ** 2))
        beta = (self.theta - 1.0) / theta_next if self.accelerated else 0.0
        extrapolated = candidates + beta * (candidates - self.x[:, None])
        points = np.concatenate([candidates, extrapolated], axis=1) if beta else candidates
        evaluation = problem.objective.evaluate(points)
        k = self._first_sufficient(steps, candidates, evaluation)
        if k is None:
            self.step = steps[-1] / 2
            return False
        x, x_value = candidates[:, k], evaluation.values[k]
        total = x_value + problem.penalty_value(x)
        grads = evaluation.gradients
        # gradient-scheme restart: the step from y to x points against the
        # momentum (x - x_prev); unlike a test on objective values it is not
        # fooled by rounding near the optimum
        restart = self.restart and (self.y - x) @ (x - self.x) > 0
        if beta and not restart:
            j = len(steps) + k
            self.y, self.y_value, self.y_grad = points[:, j], evaluation.values[j], grads[:, j]
        else:
            self.y, self.y_value, self.y_grad = x, x_value, grads[:, k]
        self.theta = 1.0 if restart or not self.accelerated else theta_next
        self.x, self.total, self.x_grad, self.step = x, total, grads[:, k], steps[k]
        return True

    def _first_sufficient(self, steps, candidates, evaluation):
        """Index of the largest step meeting the descent lemma, or None.

        A step passes when ``f(x) <= f(y) + g'(x - y) + |x - y|_D^2 / (2t)``
        holds by a margin above rounding, or when the gradient test
        ``(g_x - g)'(x - y) <= |x - y|_D^2 / (2t)`` holds, which implies it for
        convex f and stays exact near the optimum, where objective values
        no longer resolve the difference.
        """
        n = len(steps)
        diff = candidates - self.y[:, None]
        quadratic = 0.5 * np.einsum("ij,ij->j", diff * self.metric[:, None], diff) / steps
        model = self.y_value + self.y_grad @ diff + quadratic
        by_value = evaluation.values[:n] < model - noise(self.y_value)
        curvature = np.einsum("ij,ij->j", evaluation.gradients[:, :n] - self.y_grad[:, None], diff)
        # a candidate outside the mean space (objective inf) is never taken:
        # its gradient there proves nothing
        inside = np.isfinite(evaluation.values[:n])
        ok = np.flatnonzero(inside & (by_value | (curvature <= quadratic)))
        return ok[0] if ok.size else None
