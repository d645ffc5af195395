"""ADMM's per-chunk work: the local solve and the dual update of one chunk.

This runs where the chunk lives (a dask task, or a future on a
``distributed`` worker); only p-vectors come in and go out. Chunk ``k``'s
share of the smooth objective is

    f_k(b) = sum_{i in k} w_i nll_i(x_i' b + offset_i) / W,     W = sum_i w_i,

so that ``sum_k f_k`` is the objective every solver minimises. Its local
problem in round t is

    minimise_b  f_k(b) + 1/2 sum_j rho_j (b_j - z_j + u_kj)^2,

with one penalty parameter ``rho_j`` per coefficient, solved by Newton
steps warm-started at the chunk's previous solution. The Hessian
``X_k' diag(w * fisher) X_k / W + diag(rho)`` is factorised once per
round (the expensive part, ``n_k p^2`` flops) and reused by the following
steps, which then cost two matrix-vector products each; it is refreshed
when the steps stop shrinking quickly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

import scipy.sparse as sp

from .. import _kernels
from ..chunked import _single_threaded_blas
from ..objective import _linear_predictor, _weighted_gram, kernel_code

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
        ``tol * max(1, |b|_inf)``.
    """

    family: object
    inverse_total_weight: float
    over_relaxation: float
    max_steps: int
    tol: float


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
    rho : array of shape (n_features,)
        The penalty parameters of this round.
    value, gradient
        ``f_k`` and its gradient at the consensus point the round received.
    n_steps : int
        Newton steps the local solve took.
    """

    __slots__ = ("coef", "dual", "relaxed", "rho", "value", "gradient", "n_steps")

    def __init__(self, coef, dual, relaxed, rho, value, gradient, n_steps):
        self.coef, self.dual, self.relaxed, self.rho = coef, dual, relaxed, rho
        self.value, self.gradient, self.n_steps = value, gradient, n_steps


def consensus_step(X, y, offset, weights, previous, consensus, rho, settings, limit_blas=True):
    """One chunk's ADMM round: dual update with the new consensus, then local solve.

    Parameters
    ----------
    X, y, offset, weights
        The chunk (in memory).
    previous : LocalState or None
        The chunk's state from its last round (None in the first).
    consensus : array of shape (n_features,)
        ``z``, the consensus the client sent.
    rho : array of shape (n_features,)
        The penalty parameters for this round; the dual carried over from a
        round with other ``rho`` is rescaled to them.
    settings : LocalSettings
    limit_blas : bool
        Keep BLAS single-threaded (inside dask tasks).

    Returns
    -------
    LocalState
    """
    if limit_blas:
        with _single_threaded_blas():
            return _consensus_step(X, y, offset, weights, previous, consensus, rho, settings)
    return _consensus_step(X, y, offset, weights, previous, consensus, rho, settings)


def _consensus_step(X, y, offset, weights, previous, consensus, rho, settings):
    z = np.asarray(consensus, dtype=float)
    rho = np.asarray(rho, dtype=float)
    if previous is None:
        start, dual = z.copy(), np.zeros_like(z)
    else:
        start = previous.coef
        dual = (previous.dual + previous.relaxed - z) * (previous.rho / rho)
    chunk = _Chunk(X, y, offset, weights, settings)
    value, gradient = chunk.value_and_gradient(z)
    coef, n_steps = _local_newton(chunk, start, z - dual, rho, settings)
    alpha = settings.over_relaxation
    relaxed = alpha * coef + (1.0 - alpha) * z
    return LocalState(coef, dual, relaxed, rho, value, gradient, n_steps)


class _Chunk:
    """One chunk's weighted, normalised negative log-likelihood.

    Dense chunks of the canonical logistic, Poisson and normal families go
    through the fused kernels of :mod:`daskglm._kernels` (one sweep, no
    row-sized temporaries); others through numpy.
    """

    def __init__(self, X, y, offset, weights, settings):
        self.X, self.y, self.offset, self.weights = X, y, offset, weights
        self.scale = scale = settings.inverse_total_weight
        self.row_scale = scale if weights is None else weights * scale
        self.family = settings.family
        self.code = None if sp.issparse(X) else kernel_code(settings.family)

    def _fused(self, coef, hessian):
        value, grad, _, gram = _kernels.canonical_pass(
            self.X, self.y, self.offset, self.weights, coef, self.code, hessian)
        return value * self.scale, grad * self.scale, gram * self.scale

    def _parts(self, coef, hessian=False):
        eta = _linear_predictor(self.X, coef[:, None], self.offset)[:, 0]
        nll, grad, fisher = self.family.derivatives(self.y, eta, hessian=hessian)
        return nll, grad * self.row_scale, fisher

    def value_and_gradient(self, coef):
        if self.code is not None:
            return self._fused(coef, hessian=False)[:2]
        nll, grad, _ = self._parts(coef)
        value = float(np.sum(nll * self.row_scale))
        return value, np.asarray(self.X.T @ grad).ravel()

    def hessian(self, coef):
        return self.value_gradient_hessian(coef)[2]

    def value_gradient_hessian(self, coef):
        """All three at ``coef`` (one sweep for the fused families)."""
        if self.code is not None:
            return self._fused(coef, hessian=True)
        nll, grad, fisher = self._parts(coef, hessian=True)
        h = fisher * self.row_scale
        gram = _weighted_gram(self.X, np.where(np.isfinite(h), h, 0.0))
        return float(np.sum(nll * self.row_scale)), np.asarray(self.X.T @ grad).ravel(), gram


def _local_newton(chunk, start, target, rho, settings):
    """Minimise ``f_k(b) + 1/2 sum_j rho_j (b_j - target_j)^2`` from ``start``.

    Newton steps with step halving on the local objective; the Hessian is
    factorised at the start and again whenever a step is more than half the
    size of the one before (the reused Hessian no longer fits well). Stops
    when a step moves no coefficient by more than ``settings.tol *
    max(1, |b|_inf)`` or by more than ``_FORCING`` times the first step.
    """
    coef = np.array(start, dtype=float)
    value, gradient, hessian = chunk.value_gradient_hessian(coef)
    value, gradient = _add_proximity(value, gradient, coef, target, rho)
    factor, fresh, previous_size, n_steps = _factorise(hessian, rho), True, np.inf, 0
    first_size = None
    while n_steps < settings.max_steps:
        if factor is None:
            factor, fresh = _factorise(chunk.hessian(coef), rho), True
        direction = -scipy.linalg.cho_solve(factor, gradient)
        step, coef_new, value_new, gradient_new = _halving_search(
            chunk, coef, value, gradient, direction, target, rho)
        n_steps += 1
        if step == 0.0:
            if fresh:
                break  # even a fresh Hessian finds no decrease: optimal to rounding
            factor = None
            continue
        size = step * float(np.max(np.abs(direction)))
        coef, value, gradient, fresh = coef_new, value_new, gradient_new, False
        first_size = size if first_size is None else first_size
        if size <= max(settings.tol * max(1.0, float(np.max(np.abs(coef)))),
                       _FORCING * first_size):
            break
        if size > 0.5 * previous_size:
            factor = None
        previous_size = size
    return coef, n_steps


def _factorise(hessian, rho):
    hessian = hessian + np.diag(rho)
    return scipy.linalg.cho_factor(hessian, check_finite=False)


def _local_value_gradient(chunk, coef, target, rho):
    return _add_proximity(*chunk.value_and_gradient(coef), coef, target, rho)


def _add_proximity(value, gradient, coef, target, rho):
    """The local objective's value and gradient from the chunk's own."""
    gap = coef - target
    return value + 0.5 * float(gap @ (rho * gap)), gradient + rho * gap


def _halving_search(chunk, coef, value, gradient, direction, target, rho):
    """Largest step in 1, 1/2, ... with Armijo decrease; step 0 when none."""
    slope = float(gradient @ direction)
    step = 1.0
    while step >= _MIN_STEP:
        trial = coef + step * direction
        trial_value, trial_gradient = _local_value_gradient(chunk, trial, target, rho)
        allowed = value + _ARMIJO * step * slope + 16 * np.finfo(float).eps * abs(value)
        if np.isfinite(trial_value) and trial_value <= allowed:
            return step, trial, trial_value, trial_gradient
        step *= 0.5
    return 0.0, coef, value, gradient
