"""Newton / IRLS with step halving; proximal Newton for L1 and elastic-net."""

from __future__ import annotations

import numpy as np

from ..math.families import Logistic, get_family
from ._base import Trace, setup
from ._base import noise as _noise
from ._quadratic import minimise_quadratic
from ._registry import register_solver
from .joint_newton import fit_with_parameter

__all__ = ["newton"]

_ARMIJO = 1e-4
_MIN_STEP = 2.0 ** -30
# A full step is taken without a pass to check it only when the residual it
# is predicted to leave is this many times below tol.
_PREDICTION_MARGIN = 10.0


@register_solver("newton", nonsmooth=True)
def newton(X, y, family=Logistic(), regularizer=None, *, max_iter=100, tol=1e-8,
           offset=None, weights=None, unpenalized=None, init=None, callback=None,
           persist="auto"):
    """Minimise the penalised mean negative log-likelihood by Newton's method.

    Every iteration is exactly one pass over the data, which returns the
    objective, its gradient and the Fisher Hessian ``X'WX`` at the trial
    point together. The next step solves the p x p model in memory: a
    Cholesky solve without an L1 part, cyclic coordinate descent on the
    quadratic with one (proximal Newton, as glmnet and glum). For canonical
    links this is Newton's method; for others it is Fisher scoring (IRLS).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        numpy or dask array (rows in chunks). No intercept is added.
    y : array of shape (n_samples,)
    family : Family
        A family with a parameter to estimate (``NegativeBinomial(alpha="estimate")``)
        is fitted by :func:`daskglm.solvers.joint_newton.fit_with_parameter`
        (Newton in the coefficients and the parameter's log, unpenalized).
    regularizer : L1, L2, ElasticNet or None
    max_iter : int
        Most passes over the data.
    tol : float
        Stop when the largest optimality (KKT) residual, ``gradient +
        penalty subgradient`` at the current point with entry j divided by
        ``rms(x_j)`` times the response's unit, is at most ``tol``, or when
        the next full step is predicted to leave a residual ten times below
        ``tol`` (see Notes). The division makes the rule invariant to
        rescaling columns (and a Normal y): see
        :mod:`daskglm.passes.stopping` and docs/solvers.rst. Every solver
        measures its ``tol`` so.
    offset, weights : array of shape (n_samples,), optional
    unpenalized : sequence of int, optional
        Columns the penalty never touches.
    init : array of shape (n_features,), optional
        Starting coefficients. Without it the first pass is one IRLS step
        from the family's starting mean (as statsmodels starts).
    callback : callable, optional
        Called with each iteration's record.
    persist : bool or "auto"
        Keep dask data in memory between passes.

    Returns
    -------
    SolverResult
        ``info["hessian"]`` and ``info["gradient"]`` hold the Fisher Hessian
        and the gradient at the last point evaluated; ``info["predicted_kkt"]``
        is set when ``coef`` is one full step beyond it (see Notes).

    Notes
    -----
    A trial point is accepted when the objective F decreases by at least
    ``1e-4 * t * (g'd + P(b + d) - P(b))`` (Armijo, with step t); otherwise
    the next pass tries half the step. A trial whose means leave the link's
    mean space has ``F = inf`` and is halved back toward the accepted point,
    which is inside. A start outside it (the IRLS step can leave it for a
    log link of the binomial or an identity link of the Poisson) is
    replaced, in one more pass, by the best of the halvings toward points
    inside (``Problem.step_inside`` in ``daskglm/solvers/_base.py``).
    Convergence is judged on the KKT residual, never on the change in coefficients.

    The last pass is saved where the convergence seen so far allows it. A
    full step ``d`` from ``b`` whose predecessor ``d_prev`` was also a full
    step left the residual ``r = KKT(b)``, which is the error of the previous
    quadratic model. Newton's error shrinks with the square of the step
    (linearly for Fisher scoring with a non-canonical link), so the step now
    computed is expected to leave ``r * (|d| / |d_prev|)^2`` (or
    ``r * |d| / |d_prev|``), the steps' norms taken in coefficient units
    (:func:`daskglm.passes.stopping.coefficient_units`), so that the
    prediction too does not depend on the columns' scale. When that is at most ``tol / 10`` the fit
    returns ``b + d`` without evaluating it, reports the objective of the
    quadratic model there, and records the prediction in
    ``info["predicted_kkt"]``. :class:`daskglm.GLM` checks the residual at
    the answer in its statistics pass and warns if it exceeds ``tol``.

    References
    ----------
    Lee, Sun & Saunders (2014), Proximal Newton-type methods for minimizing
    composite functions. Friedman, Hastie & Tibshirani (2010), glmnet.
    """
    family = get_family(family)
    if family.estimated_parameter is not None:
        return fit_with_parameter(newton, X, y, family, regularizer, max_iter=max_iter,
                                  tol=tol, offset=offset, weights=weights,
                                  unpenalized=unpenalized, init=init, callback=callback,
                                  persist=persist)
    problem = setup(newton, X, y, family, regularizer, offset=offset, weights=weights,
                    unpenalized=unpenalized, init=init, max_iter=max_iter, tol=tol,
                    persist=persist)
    trace = Trace("newton", problem, callback)
    return _NewtonRun(problem, trace, tol).run(max_iter)


class _NewtonRun:
    """The state of one Newton fit: the accepted point and the step under trial."""

    def __init__(self, problem, trace, tol):
        self.problem, self.trace, self.tol = problem, trace, tol
        self.coef = None          # accepted coefficients
        self.total = np.inf       # objective at coef
        self.grad = self.hessian = None
        self.direction = None
        self.decrease = 0.0       # predicted decrease along the full step
        self.step = 1.0
        self.n_boundary = 0       # rows fitted numerically on the mean's boundary
        self.full_step_norm = None  # |d| of the full step that led to coef, if it was one

    def run(self, max_iter):
        trial, iteration = self._first_trial(), 0
        if self.problem.init is None:
            iteration = 1         # the IRLS start was a pass of its own
            self.trace.record(iteration, np.nan, trial, kkt_norm=np.nan, step=np.nan)
        message, converged = f"reached max_iter={max_iter}", False
        while iteration < max_iter:
            iteration += 1
            evaluation = self.problem.objective.evaluate(trial, hessian=True)
            if self._accept(trial, evaluation):
                kkt = self.problem.kkt_norm(self.coef, self.grad)
                self.trace.record(iteration, self.total, self.coef, kkt_norm=kkt, step=self.step)
                if kkt <= self.tol:
                    message, converged = f"KKT residual {kkt:.3g} <= tol", True
                    break
                last_full_step = self.full_step_norm
                self._new_direction()
                if self.decrease > _noise(self.total):
                    message = f"the model's step is not a descent direction (KKT {kkt:.3g})"
                    break
                predicted = self._predicted_kkt(kkt, last_full_step)
                if predicted <= self.tol / _PREDICTION_MARGIN:
                    return self._predicted_result(iteration, kkt, predicted)
            elif self.coef is None:
                # the start is outside the mean space: step back toward a
                # point inside (one pass), then evaluate there as the start
                iteration += 1
                trial, total = self.problem.step_inside(trial)
                self.trace.record(iteration, total, trial, kkt_norm=np.nan, step=np.nan)
                continue
            elif not self._backtrack(iteration, trial):
                message = "the line search found no decrease"
                break
            trial = self.coef + self.step * self.direction
        return self._result(converged, iteration, message, trial)

    def _first_trial(self):
        return self.problem.irls_point()

    def _accept(self, trial, evaluation):
        total = evaluation.value + self.problem.penalty_value(trial)
        if not np.isfinite(total):
            return False
        if self.coef is not None and not self._decreases(trial, total, evaluation.gradient):
            return False
        full = self.coef is not None and self.step == 1.0
        self.full_step_norm = self._step_norm(self.direction) if full else None
        self.coef, self.total = trial, total
        self.grad, self.hessian = evaluation.gradient, evaluation.hessian
        self.n_boundary = evaluation.n_boundary
        return True

    def _decreases(self, trial, total, grad):
        """Armijo's test; where the objective's change is rounding, a trial
        must also lower the KKT residual. Fisher scoring's full step can grow
        it near the optimum (a log link of the binomial whose means near 1
        make the expected information far from the observed), where the
        objective no longer tells; a shorter step then contracts, and is
        taken on the objective's word alone."""
        wanted = self.total + _ARMIJO * self.step * self.decrease
        if total <= wanted:
            return True
        if total > wanted + _noise(self.total):
            return False
        if self.step < 1.0:        # a shortened step: the objective's word, as before
            return True
        problem = self.problem
        return problem.kkt_norm(trial, grad) < problem.kkt_norm(self.coef, self.grad)

    def _new_direction(self):
        problem = self.problem
        target, _ = minimise_quadratic(self.hessian, self.grad, self.coef,
                                       problem.penalty, problem.penalized)
        self.direction = target - self.coef
        self.decrease = (self.grad @ self.direction + problem.penalty_value(target)
                         - problem.penalty_value(self.coef))
        self.step = 1.0

    def _predicted_kkt(self, kkt, last_full_step):
        """The KKT residual the new full step should leave (inf when unknown)."""
        if not last_full_step:
            return np.inf
        ratio = self._step_norm(self.direction) / last_full_step
        if ratio >= 1.0:           # not yet in the converging phase
            return np.inf
        return kkt * ratio ** (2 if self.problem.family.is_canonical else 1)

    def _step_norm(self, direction):
        """|d| in coefficient units, so that the ratio of two steps does not
        depend on the columns' scale."""
        return float(np.linalg.norm(direction / self.problem.objective.coefficient_units))

    def _predicted_result(self, iteration, kkt, predicted):
        """``coef + direction`` as the answer, its objective from the quadratic model."""
        problem, d = self.problem, self.direction
        target = self.coef + d
        smooth = self.total - problem.penalty_value(self.coef)
        objective = (smooth + self.grad @ d + 0.5 * d @ self.hessian @ d
                     + problem.penalty_value(target))
        message = (f"KKT residual {kkt:.3g}, predicted {predicted:.3g} after the last "
                   f"full step (<= tol / {_PREDICTION_MARGIN:g})")
        info = {"hessian": self.hessian, "gradient": self.grad, "predicted_kkt": predicted}
        return self.trace.result(target, converged=True, n_iter=iteration,
                                 objective=objective, message=message, info=info)

    def _backtrack(self, iteration, trial):
        self.step *= 0.5
        self.trace.record(iteration, self.total, self.coef, kkt_norm=np.nan, step=self.step)
        return self.step >= _MIN_STEP

    def _result(self, converged, iteration, message, trial):
        if self.grad is None:  # max_iter ran out before the first evaluation
            return self.trace.result(trial, converged=False, n_iter=iteration,
                                     objective=np.nan, message=message)
        from ..exceptions import ConvergenceWarning, PerfectSeparationWarning  # see exceptions

        info = {"hessian": self.hessian, "gradient": self.grad}
        warning = ConvergenceWarning
        if self.n_boundary and self.problem.penalty.is_zero:
            # a penalty keeps the optimum finite; without one, fitted means on
            # the boundary are the mark of separation (no MLE exists)
            converged, warning = False, PerfectSeparationWarning
            message = separation_message(self.n_boundary, self.problem.family)
        return self.trace.result(self.coef, converged=converged, n_iter=iteration,
                                 objective=self.total, message=message, info=info,
                                 warning=warning)



def separation_message(n_rows, family) -> str:
    """Why a fit whose fitted means reach the boundary has no valid answer."""
    return (
        f"{n_rows} row(s) are fitted with a mean numerically at the edge of the "
        f"{family.name} family's range (a probability of 0 or 1, a rate of 0): the data "
        f"are (quasi-)perfectly separated, the maximum likelihood estimate does not "
        f"exist, and the coefficients diverge; drop or merge the separating columns "
        f"or add a penalty"
    )
