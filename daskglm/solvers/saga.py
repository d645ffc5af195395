"""Block-sequential SAGA: a numba kernel walks one chunk at a time, its
state travelling from chunk to chunk as a task dependency."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import dask
import numpy as np
import scipy.sparse as sp

from ..math.compiled import timed_first_call
from ..math.families import Logistic, get_family
from ..passes.client import compute
from . import _saga_kernels as kernels
from ._base import Trace, noise, setup
from ._registry import register_solver

__all__ = ["saga"]

@register_solver("saga", nonsmooth=True)
def saga(X, y, family=Logistic(), regularizer=None, *, max_iter=500, tol=1e-6,
         offset=None, weights=None, unpenalized=None, init=None, callback=None,
         seed=0, shuffle_chunks=False, step_size=None, refresh=True, persist="auto"):
    """Minimise the penalised mean negative log-likelihood by block-sequential SAGA.

    An epoch walks the chunks one after the other (in order, or in a seeded
    shuffled order); on each chunk a compiled kernel takes one SAGA step per
    row, in a seeded random order of the chunk's rows, carrying the
    coefficients and the running average of the stored gradients from chunk
    to chunk, and updating the chunk's stored gradients (one number per row:
    ``d nll / d eta`` times the row's weight). One epoch is one dask graph:
    chunk k's task depends on the one before it, and only p-vectors pass
    between them. L1, L2 and elastic-net enter through the proximal step;
    ``unpenalized`` columns take plain gradient steps.

    Parameters
    ----------
    X, y, family, regularizer, offset, weights, unpenalized, init, callback
        As for every solver (see :func:`daskglm.solvers.newton`). ``X`` may
        also be a scipy.sparse matrix or a dask array whose chunks are
        scipy.sparse CSR matrices; the sparse kernel touches only a row's
        nonzeros. Any family and link: the kernels are compiled from the
        family's row math.
    max_iter : int
        Most epochs (walks over all rows), rejected ones included.
    tol : float
        Stop when the largest KKT residual ``gradient + penalty
        subgradient`` at the end of an epoch, entry j divided by
        ``rms(x_j)`` times the response's unit, is at most ``tol`` (the
        scale-invariant rule of every solver; see
        :func:`daskglm.solvers.newton`).
    seed : int or None
        Seeds the order of the rows within every chunk, per epoch (and the
        order of the chunks with ``shuffle_chunks``). The same seed and
        chunking give bit-for-bit the same coefficients. None draws a seed
        (kept in ``info["seed"]``).
    shuffle_chunks : bool
        Walk the chunks in a new seeded order every epoch.
    step_size : float, optional
        SAGA's step; default ``1 / (3 L)`` (see Notes).
    refresh : bool
        Start every epoch with every stored gradient recomputed at the
        coefficients the last epoch ended with (their average is then the
        exact gradient that the convergence check computes anyway). False
        keeps the stored gradients across epochs, beside their chunks, as
        textbook SAGA does; see Notes for why that stalls.
    persist : bool or "auto"
        Keep dask data in memory between epochs.

    Returns
    -------
    SolverResult
        One ``history`` record per epoch: ``objective``, ``kkt_norm``,
        ``step`` (the step size) and ``rejected`` (1 when the epoch was
        undone). ``info``: ``gradient`` at ``coef``, ``seed``,
        ``step_size``, ``n_rejected``.

    Notes
    -----
    Step size: ``1 / (3 L)`` with ``L = s * max_i (n w_i / W) |x_i|^2``, the
    largest smoothness constant of one row's term (Defazio et al., 2014), and
    ``s`` the family's ``curvature_bound``, a bound on ``d^2 nll / d eta^2``
    (1/4 for the logit link, 1 for probit and for the Normal family's
    identity link). Where there is none (Poisson's ``exp(eta)``, most
    non-canonical links), saga takes ``s = max(1, max_i F(eta_i),
    max_i F(g(y_i)))``, ``F`` the family's Fisher weight, ``eta_i`` at the
    starting coefficients and ``g(y_i)`` the saturated fit (for Poisson:
    ``max(1, max_i mu_i, max_i y_i)``): near the optimum the curvature rarely
    exceeds both. Because that is not a guarantee, every family has a
    safeguard: an epoch after which neither the objective (beyond rounding)
    nor the KKT residual went down, or whose objective is not finite, is
    undone and retried with half the step.

    Stopping rule: after every epoch one pass of
    :class:`~daskglm.objective.Objective` computes the objective and the
    exact gradient at the coefficients, and the fit stops when the KKT
    residual is at most ``tol``. An epoch thus reads the data twice.

    Why ``refresh``: walking the chunks in blocks revisits each row almost
    exactly one epoch after its last visit, as cyclic-order SAG does; the
    stored gradients then age in step and the iterates stall far from the
    optimum (on 400,000 x 20 logistic data in 8 chunks the KKT residual
    stayed near 1e-2 at the default step). Recomputing them every epoch
    (SVRG's snapshot, kept up to date by SAGA's updates within the epoch)
    restores linear convergence whatever the chunking. Chunks should still
    be exchangeable: with rows sorted by a covariate, each chunk's walk
    drifts towards the chunk's own optimum, the safeguard halves the step
    until epochs make progress, and convergence is slow. Shuffle such rows
    or use ``newton`` / ``admm``.

    References
    ----------
    Defazio, Bach & Lacoste-Julien (2014), SAGA: a fast incremental gradient
    method with support for non-strongly convex composite objectives.
    Johnson & Zhang (2013), Accelerating stochastic gradient descent using
    predictive variance reduction (SVRG). Schmidt, Le Roux & Bach (2017),
    Minimizing finite sums with the stochastic average gradient
    (just-in-time updates for sparse data).
    """
    _check_options(seed, step_size, shuffle_chunks, refresh)
    _check_family(family)
    problem = setup(saga, X, y, family, regularizer, offset=offset, weights=weights,
                    unpenalized=unpenalized, init=init, max_iter=max_iter, tol=tol,
                    persist=persist)
    if problem.penalty.per_coefficient:
        raise ValueError("saga takes one alpha for all coefficients; a penalty with one alpha "
                         "per coefficient is minimised by newton, lbfgs, proximal_grad or admm")
    trace = Trace("saga", problem, callback)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2 ** 63)
    run = _SagaRun(problem, trace, int(seed), bool(shuffle_chunks), bool(refresh))
    run.start(step_size)
    return run.run(max_iter, tol)


def _check_family(family):
    """Refuse a family whose ``supports_incremental`` is False (Gamma, inverse
    Gaussian): the step-size rule and its safeguard rest on a curvature the
    Fisher weights bound and on every finite eta being a valid mean."""
    family = get_family(family)
    if not family.supports_incremental:
        raise ValueError(
            f"saga cannot fit {family!r}: its step size needs a bound on d^2 nll / d eta^2 "
            "that the Fisher weights give and a mean for every finite eta, which this "
            "family and link do not have; use newton, lbfgs, proximal_grad or admm")


def _check_options(seed, step_size, shuffle_chunks, refresh):
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)
                             or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    if step_size is not None and (not isinstance(step_size, numbers.Real)
                                  or not np.isfinite(step_size) or step_size <= 0):
        raise ValueError(f"step_size must be a positive number or None, got {step_size!r}")
    for name, value in (("shuffle_chunks", shuffle_chunks), ("refresh", refresh)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")


@dataclass(frozen=True)
class _Settings:
    """What every chunk's kernel call needs besides its chunk and state."""

    family: object
    n_total: int
    inverse_total_weight: float
    l1: float
    l2: float
    penalized: np.ndarray


class _Carry:
    """What passes from chunk to chunk: the coefficients and the average of
    the stored gradients (an opaque object to dask, not unpacked)."""

    __slots__ = ("coef", "avg")

    def __init__(self, coef, avg):
        self.coef, self.avg = coef, avg


class _SagaRun:
    """One SAGA fit: its epochs, their checks and the step size safeguard."""

    def __init__(self, problem, trace, seed, shuffle_chunks, refresh):
        self.problem, self.trace, self.seed = problem, trace, seed
        self.shuffle_chunks, self.refresh = shuffle_chunks, refresh
        self.data = problem.objective.data
        self.blocks = (self.data.blocks if self.data.is_dask
                       else [(self.data.X, self.data.y, self.data.offset, self.data.weights)])
        self.n_rejected = 0

    def start(self, step_size):
        """The validating first pass at the start, and the step size."""
        problem = self.problem
        coef = problem.start()
        first = problem.objective.evaluate(coef)
        self.total = first.value + problem.penalty_value(coef)
        self.gradient = first.gradient
        self.kkt = problem.kkt_norm(coef, first.gradient)
        self.settings = _Settings(problem.family, self.data.stats.n_rows,
                                  1.0 / self.data.stats.sum_weights, problem.penalty.l1,
                                  problem.penalty.l2, problem.penalized)
        self.carry = _Carry(coef, first.gradient.copy())
        self.tables = [None] * len(self.blocks)   # None: compute at the snapshot
        self.snapshot = coef
        if step_size is None:
            self.step = 1.0 / (3.0 * self._smoothness(coef))
        else:
            self.step = float(step_size)

    def _smoothness(self, coef):
        """One pass: ``L`` of the step size rule (see :func:`saga`'s Notes)."""
        self.data.n_passes += 1
        if self.data.is_dask:
            task = dask.delayed(_row_bounds, pure=False)
            bounds = compute(*[task(*block, coef, self.settings) for block in self.blocks])
        else:
            bounds = [_row_bounds(*self.blocks[0], coef, self.settings)]
        largest_row, curvature = np.max(np.array(bounds), axis=0)
        return max(float(largest_row * curvature), np.finfo(float).tiny)

    def run(self, max_iter, tol):
        problem = self.problem
        epoch, message, converged = 0, f"reached max_iter={max_iter}", self.kkt <= tol
        if converged:
            message = f"KKT residual {self.kkt:.3g} <= tol at the start"
        while not converged and epoch < max_iter:
            epoch += 1
            tables, carry = self._epoch(epoch)
            evaluation = problem.objective.evaluate(carry.coef)
            total = evaluation.value + problem.penalty_value(carry.coef)
            kkt = problem.kkt_norm(carry.coef, evaluation.gradient)
            if not self._acceptable(total, kkt):
                self.step *= 0.5
                self.n_rejected += 1
                self.trace.record(epoch, self.total, self.carry.coef, kkt_norm=self.kkt,
                                  step=self.step, rejected=1)
                continue
            self._accept(tables, carry, total, evaluation.gradient, kkt)
            self.trace.record(epoch, total, carry.coef, kkt_norm=kkt, step=self.step, rejected=0)
            if kkt <= tol:
                message, converged = f"KKT residual {kkt:.3g} <= tol", True
        info = {"gradient": self.gradient, "seed": self.seed, "step_size": self.step,
                "n_rejected": self.n_rejected}
        return self.trace.result(self.carry.coef, converged=converged, n_iter=epoch,
                                 objective=self.total, message=message, info=info)

    def _acceptable(self, total, kkt):
        if not np.isfinite(total):
            return False
        return total <= self.total + noise(self.total) or kkt < self.kkt

    def _accept(self, tables, carry, total, gradient, kkt):
        self.total, self.gradient, self.kkt = total, gradient, kkt
        if self.refresh:
            # every stored gradient restarts at the new point; their average
            # is the exact gradient the check just computed
            self.carry = _Carry(carry.coef, gradient.copy())
            self.snapshot = carry.coef
        else:
            self.carry, self.tables = carry, tables

    def _epoch(self, epoch):
        """One walk over the chunks: a chain of tasks, one graph."""
        self.data.n_passes += 1
        tables, carry = list(self.tables), self.carry
        if not self.data.is_dask:
            tables[0], carry = _saga_chunk(*self.blocks[0], tables[0], self.snapshot, carry,
                                           (self.seed, epoch, 0), self.step, self.settings)
            return tables, carry
        task = dask.delayed(_saga_chunk, pure=False, nout=2)
        for k in self._chunk_order(epoch):
            tables[k], carry = task(*self.blocks[k], tables[k], self.snapshot, carry,
                                    (self.seed, epoch, int(k)), self.step, self.settings)
        if self.refresh:
            (carry,) = compute(carry)
            return self.tables, carry
        persisted = dask.persist(*tables, carry)
        (carry,) = compute(persisted[-1])
        return list(persisted[:-1]), carry

    def _chunk_order(self, epoch):
        n_chunks = len(self.blocks)
        if not self.shuffle_chunks:
            return range(n_chunks)
        return np.random.default_rng([self.seed, epoch]).permutation(n_chunks)


def _chunk_arrays(X, y, offset, weights, settings):
    """The chunk as the kernels want it, and each row's scale ``n w_i / W``."""
    scale = settings.n_total * settings.inverse_total_weight
    row_scale = np.full(X.shape[0], scale) if weights is None else weights * scale
    offset = np.zeros(X.shape[0]) if offset is None else np.ascontiguousarray(offset, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
    else:
        X = np.ascontiguousarray(X, dtype=float)
    return X, y, offset, row_scale


def _row_bounds(X, y, offset, weights, coef, settings):
    """``[max_i (n w_i / W) |x_i|^2, curvature bound s]`` on one chunk."""
    X, y, offset, row_scale = _chunk_arrays(X, y, offset, weights, settings)
    squares = (np.asarray(X.multiply(X).sum(axis=1)).ravel() if sp.issparse(X)
               else np.einsum("ij,ij->i", X, X))
    largest = float(np.max(row_scale * squares, initial=0.0))
    family = settings.family
    curvature = family.curvature_bound
    if not np.isfinite(curvature):
        with np.errstate(all="ignore"):
            at_start = family.fisher_weights(np.asarray(X @ coef).ravel() + offset)
            saturated = family.fisher_weights(family.link.link(y))
        weights = np.concatenate([at_start, saturated])
        curvature = max(1.0, float(np.max(weights[np.isfinite(weights)], initial=0.0)))
    return np.array([largest, curvature])


def _saga_chunk(X, y, offset, weights, table, snapshot, carry, row_seed, step, settings):
    """Run the kernel over one chunk.

    ``table`` holds the chunk's stored gradients, or None to compute them at
    ``snapshot``. Returns the chunk's new stored gradients and the carry.
    """
    X, y, offset, row_scale = _chunk_arrays(X, y, offset, weights, settings)
    family = settings.family
    if table is None:
        eta = np.asarray(X @ snapshot).ravel() + offset
        table = row_scale * family.gradient(y, eta)
    else:
        table = table.copy()
    order = np.random.default_rng(list(row_seed)).permutation(X.shape[0])
    coef, avg = carry.coef.copy(), carry.avg.copy()
    common = (y, offset, row_scale, order, coef, avg, table, step, 1.0 / settings.n_total,
              settings.l1, settings.l2, settings.penalized)
    dense, csr = kernels.saga_kernels(family.row_math.row)
    if sp.issparse(X):
        timed_first_call(f"saga csr for {family!r}", csr, X.data, X.indices, X.indptr, *common)
    else:
        timed_first_call(f"saga dense for {family!r}", dense, X, *common)
    return table, _Carry(coef, avg)
