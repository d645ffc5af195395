"""ADMM's per-chunk work: the local solve and the dual update of one chunk.

This runs where the chunk lives (a dask task, or a future on a
``distributed`` worker); only p-vectors come in and go out. Chunk ``k``'s
share of the smooth objective is

    f_k(b) = sum_{i in k} w_i nll_i(x_i' b + offset_i) / W,     W = sum_i w_i,

so that ``sum_k f_k`` is the objective every solver minimises. Its local
problem in round t is

    minimise_b  f_k(b) + 1/2 (b - z + u_k)' R (b - z + u_k),

with a positive definite penalty matrix ``R = rho M``, solved by Newton
steps from ``z``. The first sweep of the chunk gives the value, gradient
and Hessian at ``z`` (the round's record needs the first two anyway). On a
dense chunk every trial point's sweep brings its Hessian too, so a step
costs one sweep; on a sparse one the Hessian
``X_k' diag(w * fisher) X_k / W`` is refreshed only when the steps stop
shrinking quickly. A last step below the stopping size is taken without a
sweep of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..passes import kernels as _kernels
from ..passes.chunked import single_threaded_blas
from ..passes.objective import linear_predictor, weighted_gram

__all__ = ["LocalSettings", "LocalState", "consensus_step"]

_ARMIJO = 1e-4
_MIN_STEP = 2.0 ** -30
#: A local solve also stops once its step is this fraction of its first step
#: (a forcing term, as in inexact Newton): far from the consensus the local
#: problems need not be solved to the last digit, and near it the first step
#: is small anyway. On 400,000 x 20 logistic data it saved a third of the
#: local steps without changing the number of rounds.
_FORCING = 1e-2


@dataclass(frozen=True)
class LocalSettings:
    """What every local solve needs besides its chunk (fixed for a fit).

    Attributes
    ----------
    family : Family
    inverse_total_weight : float
        ``1 / W``, W the sum of all weights (or the number of rows).
    over_relaxation : float
        Boyd's alpha in (0, 2): the chunk reports ``alpha b + (1 - alpha) z``.
    max_steps : int
        Most Newton steps per local solve.
    tol : float
        A local solve stops when a step moves no coefficient by more than
        ``tol * max(1, |b|_inf)``, both measured in ``coef_units``.
    coef_units : array of shape (n_features,)
        The unit of each coefficient (a step of one moves a typical row's
        mean by one standard deviation of y; see
        :func:`daskglm.passes.stopping.coefficient_units`), so that the
        local tolerance does not depend on the columns' or y's scale.
    report_hessian : bool
        Send the chunk's Hessian back with the result (p x p numbers per
        chunk: only in the round that needs them).
    """

    family: object
    inverse_total_weight: float
    over_relaxation: float
    max_steps: int
    tol: float
    coef_units: np.ndarray
    report_hessian: bool = False


class LocalState:
    """One chunk's state after a round: its solution, dual and report.

    Attributes
    ----------
    coef : array of shape (n_features,)
        ``b_k``, the local solution.
    dual : array of shape (n_features,)
        ``u_k`` (scaled dual, in units of ``rho``) used in this round's solve.
    relaxed : array of shape (n_features,)
        ``alpha b_k + (1 - alpha) z``: what enters the consensus average.
    rho : float
        The penalty parameter of this round.
    value, gradient
        ``f_k`` and its gradient at the consensus point the round received.
    n_steps : int
        Newton steps the local solve took.
    hessian : array of shape (n_features, n_features) or None
        ``f_k``'s Fisher Hessian where the local solve last factorised it
        (near ``coef``), when ``settings.report_hessian``.
    """

    __slots__ = ("coef", "dual", "relaxed", "rho", "value", "gradient", "n_steps", "hessian")

    def __init__(self, coef, dual, relaxed, rho, value, gradient, n_steps, hessian):
        self.coef, self.dual, self.relaxed, self.rho = coef, dual, relaxed, rho
        self.value, self.gradient, self.n_steps = value, gradient, n_steps
        self.hessian = hessian


def consensus_step(X, y, offset, weights, previous, consensus, rho, metric, settings,
                   limit_blas=True):
    """One chunk's ADMM round: dual update with the new consensus, then local solve.

    Parameters
    ----------
    X, y, offset, weights
        The chunk (in memory).
    previous : LocalState or None
        The chunk's state from its last round (None in the first).
    consensus : array of shape (n_features,)
        ``z``, the consensus the client sent.
    rho : float
        The penalty parameter for this round; the dual carried over from a
        round with another ``rho`` is rescaled to it.
    metric : array of shape (n_features, n_features)
        Positive definite; the local problem's proximity term is
        ``1/2 (b - t)' (rho metric) (b - t)``.
    settings : LocalSettings
    limit_blas : bool
        Keep BLAS single-threaded (inside dask tasks).

    Returns
    -------
    LocalState
    """
    if limit_blas:
        with single_threaded_blas():
            return _consensus_step(X, y, offset, weights, previous, consensus, rho, metric,
                                   settings)
    return _consensus_step(X, y, offset, weights, previous, consensus, rho, metric, settings)


def _consensus_step(X, y, offset, weights, previous, consensus, rho, metric, settings):
    z = np.asarray(consensus, dtype=float)
    rho = float(rho)
    if previous is None:
        dual = np.zeros_like(z)
    else:
        dual = (previous.dual + previous.relaxed - z) * (previous.rho / rho)
    chunk = _Chunk(X, y, offset, weights, settings)
    at_z = chunk.value_gradient_hessian(z)
    penalty = rho * np.asarray(metric, dtype=float)
    coef, n_steps, hessian = _local_newton(chunk, z, z - dual, penalty, settings, at_z)
    value, gradient = at_z[:2]
    alpha = settings.over_relaxation
    relaxed = alpha * coef + (1.0 - alpha) * z
    hessian = hessian if settings.report_hessian else None
    return LocalState(coef, dual, relaxed, rho, value, gradient, n_steps, hessian)


class _Chunk:
    """One chunk's weighted, normalised negative log-likelihood.

    Dense chunks go through the fused pass of :mod:`daskglm.passes.kernels`
    (one sweep, no row-sized temporaries), compiled from the family's row
    math; scipy.sparse chunks through the same row math over arrays.
    """

    def __init__(self, X, y, offset, weights, settings):
        self.X, self.y, self.offset, self.weights = X, y, offset, weights
        self.scale = scale = settings.inverse_total_weight
        self.row_scale = scale if weights is None else weights * scale
        self.family = settings.family
        self.fused = not sp.issparse(X)

    def _fused(self, coef, hessian):
        value, grad, _, gram = _kernels.fused_pass(
            self.X, self.y, self.offset, self.weights, coef, self.family, hessian)
        return value * self.scale, grad * self.scale, gram * self.scale

    def _parts(self, coef, hessian=False):
        eta = linear_predictor(self.X, coef[:, None], self.offset)[:, 0]
        nll, grad, fisher = self.family.derivatives(self.y, eta, hessian=hessian)
        return nll, grad * self.row_scale, fisher

    def at_trial(self, coef):
        """Value, gradient and, where the same sweep gives it (dense
        chunks), the Hessian at ``coef``; else None for the Hessian."""
        if self.fused:
            return self._fused(coef, hessian=True)
        nll, grad, _ = self._parts(coef)
        return float(np.sum(nll * self.row_scale)), np.asarray(self.X.T @ grad).ravel(), None

    def hessian(self, coef):
        return self.value_gradient_hessian(coef)[2]

    def value_gradient_hessian(self, coef):
        """All three at ``coef`` (one sweep for a dense chunk)."""
        if self.fused:
            return self._fused(coef, hessian=True)
        nll, grad, fisher = self._parts(coef, hessian=True)
        h = fisher * self.row_scale
        gram = weighted_gram(self.X, np.where(np.isfinite(h), h, 0.0))
        return float(np.sum(nll * self.row_scale)), np.asarray(self.X.T @ grad).ravel(), gram


def _local_newton(chunk, start, target, penalty, settings, at_start=None):
    """Minimise ``f_k(b) + 1/2 (b - target)' penalty (b - target)`` from ``start``.

    Newton steps with step halving on the local objective. A fused chunk
    gets the Hessian with every trial point's value (one sweep a step);
    otherwise the Hessian is computed at the start and again only when a
    step is more than half the size of the one before (the old Hessian no
    longer fits well). Stops when a step moves no coefficient by more than
    ``settings.tol * max(1, |b|_inf)`` (in ``settings.coef_units``) or
    ``_FORCING`` times the first
    step; such a last step is taken without evaluating its trial point.

    ``at_start``, when given, is ``f_k``'s value, gradient and Hessian at
    ``start``. Returns the solution, the number of steps, and ``f_k``'s
    Hessian at the last point it was factorised.
    """
    coef = np.array(start, dtype=float)
    value, gradient, hessian = (chunk.value_gradient_hessian(coef) if at_start is None
                                else at_start)
    value, gradient = _add_proximity(value, gradient, coef, target, penalty)
    factor, fresh, previous_size, n_steps = _factorise(hessian, penalty), True, np.inf, 0
    first_size = None
    while n_steps < settings.max_steps:
        direction = -scipy.linalg.cho_solve(factor, gradient)
        size = float(np.max(np.abs(direction / settings.coef_units)))
        n_steps += 1
        if first_size is not None and size <= _small_step(settings, coef, first_size):
            return coef + direction, n_steps, hessian
        step, trial = _halving_search(chunk, coef, value, gradient, direction, target, penalty)
        if step == 0.0:
            if fresh:
                break  # even a fresh Hessian finds no decrease: optimal to rounding
            hessian = chunk.hessian(coef)
            factor, fresh = _factorise(hessian, penalty), True
            continue
        coef, (value, gradient, trial_hessian), size = trial[0], trial[1:], step * size
        first_size = size if first_size is None else first_size
        if size <= _small_step(settings, coef, first_size):
            break
        if trial_hessian is not None or size > 0.5 * previous_size:
            hessian = chunk.hessian(coef) if trial_hessian is None else trial_hessian
            factor, fresh = _factorise(hessian, penalty), True
        else:
            fresh = False
        previous_size = size
    return coef, n_steps, hessian


def _small_step(settings, coef, first_size):
    """The step size at which a local solve stops."""
    largest = float(np.max(np.abs(coef / settings.coef_units)))
    return max(settings.tol * max(1.0, largest), _FORCING * first_size)


def _factorise(hessian, penalty):
    return scipy.linalg.cho_factor(hessian + penalty, check_finite=False)


def _local_trial(chunk, coef, target, penalty):
    """``(value, gradient, hessian)`` of the local objective's smooth part at
    ``coef``, with the proximity term added to value and gradient; the
    chunk's Hessian only where it comes with the same sweep (else None)."""
    value, gradient, hessian = chunk.at_trial(coef)
    return (*_add_proximity(value, gradient, coef, target, penalty), hessian)


def _add_proximity(value, gradient, coef, target, penalty):
    """The local objective's value and gradient from the chunk's own."""
    gap = coef - target
    pull = penalty @ gap
    return value + 0.5 * float(gap @ pull), gradient + pull


def _halving_search(chunk, coef, value, gradient, direction, target, penalty):
    """``(step, (coef, value, gradient, hessian))``: the largest step in 1,
    1/2, ... with Armijo decrease and what :func:`_local_trial` gave there;
    step 0 and None when none decreases."""
    slope = float(gradient @ direction)
    step = 1.0
    while step >= _MIN_STEP:
        trial = coef + step * direction
        trial_value, trial_gradient, trial_hessian = _local_trial(chunk, trial, target, penalty)
        allowed = value + _ARMIJO * step * slope + 16 * np.finfo(float).eps * abs(value)
        if np.isfinite(trial_value) and trial_value <= allowed:
            return step, (trial, trial_value, trial_gradient, trial_hessian)
        step *= 0.5
    return 0.0, None
