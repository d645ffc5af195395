"""Consensus ADMM over chunks: synchronous rounds or asynchronous, batched updates."""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import time
from collections import deque

import dask
import numpy as np
import scipy.linalg
from dask.delayed import Delayed

from ..math.families import Logistic
from ..passes.client import ClusterWatch, compute, distributed_client
from ._admm_local import LocalSettings, consensus_step
from ._base import Trace, setup
from ._registry import register_solver

__all__ = ["admm"]

_BALANCE_RATIO = 10.0   # Boyd's mu: rebalance when one residual is 10x the other
_BALANCE_FACTOR = 2.0   # Boyd's tau: by how much rho changes
_BALANCE_PATIENCE = 10  # consecutive imbalanced rounds before rho changes
_AVERAGING_RHO = 1e-3   # rho's factor in the averaging first round (averaged_start)
_FULL_METRIC_MIN_RATIO = 1e-10  # a Hessian metric needs eigenvalues above this x the largest


@register_solver("admm", nonsmooth=True)
def admm(X, y, family=Logistic(), regularizer=None, *, max_iter=1000, tol=1e-6,
         offset=None, weights=None, unpenalized=None, init=None, callback=None,
         rho="auto", over_relaxation=1.8, adaptive_rho=False, averaged_start=True,
         abstol=None, reltol=None,
         local_max_iter=10, local_tol=1e-10, asynchronous=False, batched=True,
         solves_per_thread=1, client=None, persist="auto"):
    """Minimise the penalised mean negative log-likelihood by consensus ADMM.

    Every chunk k of rows keeps its own coefficients ``b_k``; the penalty
    acts on a consensus ``z``, and ADMM drives every ``b_k`` to ``z``:

        minimise  sum_k f_k(b_k) + P(z)   subject to  b_k = z,

    where ``f_k`` is chunk k's share ``sum_{i in k} w_i nll_i / sum_i w_i``
    of the smooth objective, so that the solution is the minimiser of
    DESIGN.md's objective. A round sends ``z`` and ``rho`` to every chunk;
    each chunk updates its scaled dual ``u_k += b^_k - z``, then solves

        b_k = argmin_b f_k(b) + rho/2 (b - z + u_k)' M (b - z + u_k)

    with a few Newton steps from ``z`` (on the worker that holds the chunk;
    only p-vectors travel). The client forms ``z``, the minimiser of
    ``P(z) + N rho/2 |z - mean_k(b^_k + u_k)|_M^2``, with the over-relaxed
    ``b^_k = a b_k + (1 - a) z_old``. The metric ``M``
    (``info["rho_scaling"]``) is chosen so that badly scaled or correlated
    columns do not slow the consensus down (see ``rho``).

    Parameters
    ----------
    X, y, family, regularizer, offset, weights, unpenalized, init, callback
        As for every solver (see :func:`daskglm.solvers.newton`). Every
        penalty is accepted; ``unpenalized`` columns pass through the
        z-step unchanged.
    max_iter : int
        Most rounds. Asynchronously: most local solves, divided by the
        number of chunks.
    tol : float
        The default of ``abstol`` and ``reltol``; and the fit converges only
        once, besides the residual tests, the KKT residual at the consensus
        (entry j divided by ``rms(x_j)`` times the response's unit, the
        scale-invariant rule of every solver) is at most ``tol``.
    rho : float or "auto"
        The augmented-Lagrangian parameter. A number is used with the
        identity metric. "auto" takes ``rho M`` from the Fisher Hessian
        ``H`` (plus the L2 part), as every chunk's Hessian is about ``H / N``
        for N chunks. Without an L1 part ``rho M = H / N`` (metric
        selection after Giselsson & Boyd, 2014; on a quadratic with equal
        chunks every round then shrinks the error by ``(2 - a) / 2``), with ``H`` from the IRLS
        start and, after an averaging first round, from the chunks' own
        solves. With an L1 part (whose z-step needs a diagonal metric), or
        when ``H`` is too ill-conditioned, ``M`` is the diagonal ``D`` of
        ``H`` and ``rho = sqrt(l_min l_max) / N`` per unit of ``D``, with
        ``l_min, l_max`` the extreme eigenvalues of ``D^-1/2 H D^-1/2``
        (``l_min`` at least ``1e-3 l_max``; Ghadimi et al., 2015, after
        Jacobi scaling). Costs no pass of its own.
    over_relaxation : float in (0, 2)
        Boyd's ``a``; 1 is plain ADMM. 1.8 took the fewest rounds on every
        test problem we tried (logistic, Poisson, sparse, ill-conditioned)
        with a diagonal metric; with the Hessian metric it is what makes a
        round shrink the error tenfold.
    adaptive_rho : bool
        Residual balancing (Boyd et al., 3.4.1): multiply ``rho`` by 2 when
        the primal residual has exceeded 10 times the dual one for 10
        rounds in a row, divide when the reverse holds (duals rescaled to
        match); asynchronously at most once per N results. Off by default:
        with the automatic ``rho`` it took more rounds on every test
        problem above (it reacts to the residuals of the start), but it
        rescues a badly chosen ``rho`` given by hand.
    averaged_start : bool
        Synchronously, without an L1 part: make the first round one of
        averaging. Every chunk then solves its own problem almost freely
        (``rho / 1000``, no over-relaxation), and ADMM proper starts
        afresh (zero duals) from ``z`` at the average of the chunks' own
        optima (with ``rho``'s prox for an L2 part) instead of at newton's
        start, with ``rho="auto"``'s metric from the Hessians the local
        solves ended with. It also saves the pass that evaluates the
        start. On the historical logistic problem (8e6 rows in 15 chunks)
        the averaged point was within 6e-11 of the optimum and met
        ``tol=1e-2``'s residuals by itself; with the Hessian metric the
        rounds to ``tol=1e-4`` went from 5 (no averaging) to 4. On small
        sorted chunks (chunks that differ) it can cost a round
        (tests/test_admm.py).
    abstol, reltol : float, optional
        Boyd's absolute and relative tolerances (default ``tol``).
    local_max_iter : int
        Most Newton steps per local solve.
    local_tol : float
        A local solve stops when its last step moved no coefficient by more
        than ``local_tol * max(1, |b_k|_inf)``, or by more than 1 % of its
        first step (see :mod:`daskglm.solvers._admm_local`).
    asynchronous : bool
        Run the as-completed variant on a ``distributed`` Client: every
        chunk's solve is resubmitted with the newest ``z`` as soon as its
        result has been absorbed; no round waits for the slowest chunk.
    batched : bool
        Asynchronously: absorb every result that has arrived since the last
        update at once (``as_completed(...).batches()``), then update ``z``
        once; False updates ``z`` after every single result.
    solves_per_thread : int
        Asynchronously: local solves kept in flight per worker thread. 1
        starts every solve from the newest ``z`` (fewest solves in all);
        2 keeps one queued behind the running one, so a worker never waits
        for the client's round trip (worth it when that trip is long next to
        a solve) and more results arrive together.
    client : distributed.Client, optional
        The client to run on. Asynchronously it is required: without one
        ``distributed.get_client()`` is asked (see
        :func:`daskglm._client.distributed_client`), and with none
        running a ``ValueError`` says a Client is needed. Synchronously the
        rounds run on it instead of dask's default scheduler.
    persist : bool or "auto"
        Keep dask data in memory between rounds.

    Returns
    -------
    SolverResult
        ``coef`` is the consensus ``z`` (exact zeros where the L1 part sets
        them). ``history`` holds one record per round (asynchronously: per
        update of ``z``) with ``primal_residual``, ``dual_residual``, their
        tolerances ``primal_tol`` / ``dual_tol``, ``rho`` and
        ``local_steps``; synchronously also ``objective`` and ``kkt_norm``
        at the consensus the round started from (evaluated by the same
        tasks as the local solves, so no extra pass). Asynchronously the
        chunks' values belong to different consensus points, so
        ``objective`` is NaN there. ``info`` has ``gradient`` and
        ``kkt_norm`` at ``coef`` (from one final pass), ``rho`` (the last
        one), ``rho_scaling``, ``n_chunks``, and asynchronously ``n_updates`` (client-side updates
        of ``z``) and ``n_results`` (local solves absorbed).

    Notes
    -----
    Stopping rule (Boyd et al., 2011, section 3.3), with ``z_k`` the
    consensus chunk k last solved against (every ``z_k`` is the previous
    ``z`` in synchronous rounds) and every norm the metric's,
    ``|b|_M = sqrt(b' M b)``, ``M = info["rho_scaling"]``::

        r = sqrt(sum_k |b_k - z|^2) <= sqrt(N) abstol |c|_M + reltol max(|B|_F, sqrt(N) |z|)
        s = rho sqrt(sum_k |z - z_k|^2) <= sqrt(N) abstol |g|_M^-1 + reltol rho |U|_F

    Boyd's absolute floors ``sqrt(N p) abstol`` are here in units that do
    not depend on the data's scale: ``c`` holds each coefficient's unit and
    ``g`` each gradient entry's (:mod:`daskglm.passes.stopping`). Once both
    hold, one pass measures the KKT residual at ``z``; the fit stops there
    if it is at most ``tol`` (that pass is the one the result needs
    anyway), and goes on otherwise.

    The consensus starts where newton starts: at ``init``, else after one
    (penalised) IRLS step from the family's starting mean, with zero duals.
    Every local solve starts at the consensus it receives: one sweep of
    the chunk gives the value, gradient and Hessian there, for the solve
    and for the round's record; each Newton step after it costs one sweep,
    and the last, small one none (see :mod:`daskglm.solvers._admm_local`).

    Numpy input is a single chunk (scattered to a worker once when
    asynchronous). Choose at least as many chunks as there are worker
    threads for the asynchronous variant, so that every worker has a solve
    to run.

    References
    ----------
    Boyd, Parikh, Chu, Peleato & Eckstein (2011), Distributed optimization
    and statistical learning via the alternating direction method of
    multipliers, sections 3.3-3.4 and 7.1. Giselsson & Boyd (2014),
    Diagonal scaling in Douglas-Rachford splitting and ADMM (metric
    selection). Ghadimi, Teixeira, Shames &
    Johansson (2015), Optimal parameter selection for the alternating
    direction method of multipliers: quadratic problems. Zhang & Kwok
    (2014), Asynchronous distributed ADMM for consensus optimization.
    """
    options = _check_options(rho, over_relaxation, local_max_iter, local_tol, abstol,
                             reltol, tol, asynchronous, batched)
    if (not isinstance(solves_per_thread, numbers.Integral) or isinstance(solves_per_thread, bool)
            or solves_per_thread < 1):
        raise ValueError(f"solves_per_thread must be a positive integer, got {solves_per_thread!r}")
    if asynchronous or client is not None:
        client = distributed_client(client, "admm(asynchronous=True)")
    scope = client.as_current() if client is not None else contextlib.nullcontext()
    with scope:
        problem = setup(admm, X, y, family, regularizer, offset=offset, weights=weights,
                        unpenalized=unpenalized, init=init, max_iter=max_iter, tol=tol,
                        persist=persist)
        trace = Trace("admm", problem, callback)
        run = _ADMMRun(problem, trace, options, adaptive_rho=bool(adaptive_rho),
                       averaged_start=bool(averaged_start), asynchronous=bool(asynchronous))
        if asynchronous:
            return run.run_async(max_iter, client, batched=bool(batched),
                                 depth=int(solves_per_thread))
        return run.run_sync(max_iter)


def _check_options(rho, over_relaxation, local_max_iter, local_tol, abstol, reltol, tol,
                   asynchronous, batched):
    number = isinstance(rho, numbers.Real) and not isinstance(rho, bool)
    if not (isinstance(rho, str) and rho == "auto" or number and np.isfinite(rho) and rho > 0):
        raise ValueError(f"rho must be a positive number or 'auto', got {rho!r}")
    if not isinstance(over_relaxation, numbers.Real) or not 0 < over_relaxation < 2:
        raise ValueError(f"over_relaxation must be in (0, 2), got {over_relaxation!r}")
    if (not isinstance(local_max_iter, numbers.Integral) or isinstance(local_max_iter, bool)
            or local_max_iter < 1):
        raise ValueError(f"local_max_iter must be a positive integer, got {local_max_iter!r}")
    for name, value in (("local_tol", local_tol), ("abstol", abstol), ("reltol", reltol)):
        if value is not None and (not isinstance(value, numbers.Real) or not value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    for name, value in (("asynchronous", asynchronous), ("batched", batched)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    return {
        "rho": rho,
        "over_relaxation": float(over_relaxation),
        "local_max_iter": int(local_max_iter),
        "local_tol": float(local_tol),
        "tol": float(tol),
        "abstol": float(tol if abstol is None else abstol),
        "reltol": float(tol if reltol is None else reltol),
    }


class _Consensus:
    """The client's side of ADMM: the latest p-vectors of every chunk,
    running sums of what enters the average, ``z``, ``rho`` and the
    residuals. Nothing here touches the data."""

    def __init__(self, problem, n_chunks, z, rho, metric, abstol, reltol):
        self.problem, self.n_chunks = problem, n_chunks
        self.coef_units = problem.objective.coefficient_units
        self.kkt_units = problem.kkt_units
        self.z, self.rho, self.metric = z.copy(), float(rho), metric
        self.diagonal = not np.any(metric - np.diag(np.diag(metric)))
        self._root = np.linalg.cholesky(metric)     # metric = root @ root.T
        self.abstol, self.reltol = abstol, reltol
        self.coefs = np.tile(z, (n_chunks, 1))
        self.relaxed = self.coefs.copy()
        self.duals = np.zeros_like(self.coefs)
        self.seen = self.coefs.copy()
        self.sum_relaxed = self.relaxed.sum(axis=0)
        self.sum_duals = np.zeros_like(z)
        self.reported = np.zeros(n_chunks, dtype=bool)
        self._streak = 0

    def scaled(self, vectors):
        """Rows of ``vectors`` in coordinates where the metric is the identity."""
        return vectors @ self._root

    def absorb(self, k, state, seen):
        """Take chunk k's result, solved against the consensus ``seen``."""
        dual = state.dual * (state.rho / self.rho)   # rho may have changed since
        self.sum_relaxed += state.relaxed - self.relaxed[k]
        self.sum_duals += dual - self.duals[k]
        self.relaxed[k], self.duals[k] = state.relaxed, dual
        self.coefs[k], self.seen[k] = state.coef, seen
        self.reported[k] = True

    def update(self):
        """The z-step: the penalty's prox at the average in the metric ``N rho M``.

        Elementwise for a diagonal metric; otherwise (no L1 part, so the
        penalty is quadratic) the solution of ``(N rho M + L2) z = N rho M a``.
        """
        average = (self.sum_relaxed + self.sum_duals) / self.n_chunks
        problem = self.problem
        if self.diagonal:
            step = 1.0 / (self.n_chunks * self.rho * np.diag(self.metric))
            self.z = problem.penalty.prox(average, step, problem.penalized)
            return self.z
        weight = self.n_chunks * self.rho * self.metric
        ridge = np.diag(np.where(problem.penalized, problem.penalty.l2, 0.0))
        self.z = np.linalg.solve(weight + ridge, weight @ average)
        return self.z

    def residuals(self):
        """``(r, s, eps_primal, eps_dual)`` of Boyd's stopping rule.

        Measured in the scaled coordinates ``sqrt(metric) * b``, in which
        every coefficient has the same penalty parameter ``rho``. Boyd's
        absolute floor ``sqrt(N p) abstol`` is the norm of ``abstol`` in every
        coordinate; here it is ``abstol`` units in every coordinate: for the
        primal residual (coefficients) the coefficient units, for the dual
        residual (``rho M (z - z_k)``, a gradient) the stopping rule's
        gradient units (:mod:`daskglm.passes.stopping`), each in the norm
        that goes with it, so that the rule does not depend on the columns'
        or y's scale.
        """
        n = self.coefs.shape[0]
        norm = lambda vectors: float(np.linalg.norm(self.scaled(vectors)))  # noqa: E731
        primal = norm(self.coefs - self.z)
        dual = self.rho * norm(self.seen - self.z)
        next_duals = self.duals + self.relaxed - self.z
        dual_units = scipy.linalg.solve_triangular(self._root, self.kkt_units, lower=True)
        eps_primal = (np.sqrt(n) * self.abstol * norm(self.coef_units)
                      + self.reltol * max(norm(self.coefs), np.sqrt(n) * norm(self.z)))
        eps_dual = (np.sqrt(n) * self.abstol * float(np.linalg.norm(dual_units))
                    + self.reltol * self.rho * norm(next_duals))
        return primal, dual, eps_primal, eps_dual

    def balance(self, primal, dual):
        """Residual balancing; True when rho changed.

        Changes ``rho`` only once one residual has exceeded the other by
        the ratio in ``_BALANCE_PATIENCE`` consecutive calls: the residuals
        of the first rounds reflect the start, not a bad ``rho``.
        """
        if primal > _BALANCE_RATIO * dual:
            direction = 1
        elif dual > _BALANCE_RATIO * primal:
            direction = -1
        else:
            direction = 0
        self._streak = self._streak + direction if direction * self._streak > 0 else direction
        if abs(self._streak) < _BALANCE_PATIENCE:
            return False
        self._streak = 0
        factor = _BALANCE_FACTOR if direction > 0 else 1.0 / _BALANCE_FACTOR
        self.rho *= factor
        self.duals /= factor
        self.sum_duals /= factor
        return True


class _ADMMRun:
    """One ADMM fit: the setup shared by both variants, and their loops."""

    def __init__(self, problem, trace, options, adaptive_rho, averaged_start=False,
                 asynchronous=False):
        self.problem, self.trace, self.options = problem, trace, options
        self.tol = options["tol"]
        self.final = None         # (z, Evaluation) of the last check of optimality
        self.adaptive_rho = adaptive_rho
        self.averaged_start = (averaged_start and problem.penalty.is_smooth
                               and not asynchronous)
        data = problem.objective.data
        self.data = data
        self.blocks = data.blocks if data.is_dask else [(data.X, data.y, data.offset, data.weights)]
        z0, hessian = problem.irls_model()
        # With an averaging first round, the objective at z0 comes with that
        # round (checked there) and the IRLS model's Hessian is good enough
        # for a rho that is divided by 1000 anyway; otherwise one more pass.
        if not (self.averaged_start and (hessian is not None or options["rho"] != "auto")):
            first = problem.objective.evaluate(z0, hessian=options["rho"] == "auto")
            _check_start(first.value)
            hessian = first.hessian
        n_chunks = len(self.blocks)
        if options["rho"] == "auto":
            rho, metric = _automatic_rho(hessian, problem, n_chunks)
        else:
            rho, metric = options["rho"], np.eye(problem.n_features)
        self.consensus = _Consensus(problem, n_chunks, z0, rho, metric,
                                    options["abstol"], options["reltol"])
        self.settings = LocalSettings(
            family=problem.family,
            inverse_total_weight=1.0 / data.stats.sum_weights,
            over_relaxation=options["over_relaxation"],
            max_steps=options["local_max_iter"],
            tol=options["local_tol"],
            coef_units=problem.objective.coefficient_units,
        )

    # -- synchronous -------------------------------------------------------
    def run_sync(self, max_iter):
        problem, consensus = self.problem, self.consensus
        states = [None] * consensus.n_chunks
        message, converged, iteration = f"reached max_iter={max_iter}", False, 0
        while iteration < max_iter:
            iteration += 1
            z, rho = consensus.z, consensus.rho
            if iteration == 1 and self.averaged_start:
                rho = rho * _AVERAGING_RHO
                averaging = dataclasses.replace(self.settings, over_relaxation=1.0,
                                                report_hessian=True)
                states = self._sync_round(states, z, rho, averaging)
            else:
                states = self._sync_round(states, z, rho, self.settings)
            value = sum(state.value for state in states)
            if iteration == 1:
                _check_start(value)
            gradient = np.sum([state.gradient for state in states], axis=0)
            for k, state in enumerate(states):
                consensus.absorb(k, state, z)
            consensus.update()
            primal, dual, eps_primal, eps_dual = consensus.residuals()
            self.trace.record(
                iteration, value + problem.penalty_value(z), z,
                kkt_norm=problem.kkt_norm(z, gradient), primal_residual=primal,
                dual_residual=dual, primal_tol=eps_primal, dual_tol=eps_dual, rho=rho,
                local_steps=max(state.n_steps for state in states))
            if primal <= eps_primal and dual <= eps_dual and self._optimal():
                message, converged = self._converged_message(), True
                break
            if iteration == 1 and self.averaged_start:
                consensus, states = self._restart_at_average(states), [None] * len(states)
            elif self.adaptive_rho:
                consensus.balance(primal, dual)
        return self._result(converged, iteration, message, {})

    def _restart_at_average(self, states):
        """ADMM proper, after the averaging round: from the averaged ``z``
        with zero duals and, for ``rho="auto"``, ``rho`` and the metric from
        the chunks' Hessians near their own optima (nearer the solution than
        the start's Hessian, at no extra pass: the local solves computed
        them)."""
        old = self.consensus
        rho, metric = old.rho, old.metric
        if self.options["rho"] == "auto":
            hessian = np.sum([state.hessian for state in states], axis=0)
            rho, metric = _automatic_rho(hessian, self.problem, old.n_chunks)
        self.consensus = _Consensus(self.problem, old.n_chunks, old.z, rho, metric,
                                    old.abstol, old.reltol)
        return self.consensus

    def _sync_round(self, states, z, rho, settings):
        """Every chunk's dual update and local solve: one graph, one pass."""
        self.data.n_passes += 1
        metric = self.consensus.metric
        if not self.data.is_dask:
            return [consensus_step(*self.blocks[0], states[0], z, rho, metric, settings,
                                   limit_blas=False)]
        step = dask.delayed(consensus_step, pure=False)
        shared, metric = dask.delayed(z, pure=True), dask.delayed(metric, pure=True)
        placed = self.data.chunk_workers()
        tasks = []
        for k, (block, state) in enumerate(zip(self.blocks, states)):
            # each local solve runs where its chunk is (measured: unpinned, 4
            # workers moved 56 MB of chunks per round of 2e6 x 21)
            where = {} if placed is None else {"workers": [placed[0][k]],
                                               "allow_other_workers": True}
            with dask.annotate(**where):
                tasks.append(step(*block, state, shared, rho, metric, settings))
        return list(compute(*tasks))

    # -- asynchronous ------------------------------------------------------
    def run_async(self, max_iter, client, batched, depth):
        """As-completed ADMM on ``client``; see :class:`_AsyncLoop`."""
        loop = _AsyncLoop(self, client, depth)
        try:
            converged, message, n_updates = loop.run(max_iter * self.consensus.n_chunks,
                                                     batched)
        finally:
            loop.cancel()
        # a pass over the data is a local solve on every chunk
        self.data.n_passes += loop.n_results // self.consensus.n_chunks
        info = {"n_updates": n_updates, "n_results": loop.n_results}
        return self._result(converged, n_updates, message, info)

    # -- both ----------------------------------------------------------------
    def _optimal(self):
        """Whether the consensus meets ``tol`` on the stopping rule's KKT
        residual (one pass; asked only once the residuals are within
        tolerance, and kept for the result)."""
        z = self.consensus.z
        self.final = (z.copy(), self.problem.objective.evaluate(z))
        return self.problem.kkt_norm(z, self.final[1].gradient) <= self.tol

    def _converged_message(self):
        z, evaluation = self.final
        kkt = self.problem.kkt_norm(z, evaluation.gradient)
        return f"primal and dual residuals within tolerance, KKT residual {kkt:.3g} <= tol"

    def _result(self, converged, n_iter, message, info):
        problem, z = self.problem, self.consensus.z
        if self.final is not None and np.array_equal(self.final[0], z):
            final = self.final[1]
        else:
            final = problem.objective.evaluate(z)
        total = final.value + problem.penalty_value(z)
        info = dict(info, gradient=final.gradient, kkt_norm=problem.kkt_norm(z, final.gradient),
                    rho=self.consensus.rho, rho_scaling=self.consensus.metric,
                    n_chunks=self.consensus.n_chunks)
        return self.trace.result(z, converged=converged, n_iter=n_iter, objective=total,
                                 message=message, info=info)


class _AsyncLoop:
    """The as-completed loop: one local solve per worker thread, always.

    Chunks wait in a queue per worker that holds them, least recently solved
    first. When a solve finishes, its result (a
    :class:`~daskglm.solvers._admm_local.LocalState`, a few p-vectors) is
    absorbed into the running sums, ``z`` is updated, and the next chunk in
    the same worker's queue is submitted with the new ``z`` and the future of
    that chunk's last result (so its state stays on the worker). Keeping only
    as many solves in flight as there are threads means each one starts from
    a ``z`` at most a few updates old; queueing every chunk at once made the
    solves at the back of the queues start from stale ``z`` and cost more
    solves in all.
    """

    def __init__(self, fit, client, depth):
        self.fit, self.client, self.depth = fit, client, depth
        self.watch = ClusterWatch(client)
        self.chunks = [_chunk_futures(client, block) for block in fit.blocks]
        self.watch.wait([part for chunk in self.chunks for part in chunk if part is not None])
        self.latest = [None] * len(self.chunks)   # future of each chunk's last result
        self.queues, self.threads = self._worker_queues()
        self.in_flight = {}        # future -> (chunk index, worker, consensus sent)
        self.n_results = 0
        self._results_at_balance = 0

    def _worker_queues(self):
        """Chunk indices by the worker holding their rows of X; threads per worker."""
        threads = self.client.nthreads()
        queues = {worker: deque() for worker in threads}
        holders = self.client.who_has([chunk[0] for chunk in self.chunks])
        for k, chunk in enumerate(self.chunks):
            where = [w for w in holders.get(chunk[0].key, ()) if w in queues]
            worker = where[0] if where else min(queues, key=lambda w: len(queues[w]))
            queues[worker].append(k)
        return queues, threads

    def submit(self, worker):
        """Start the solve of the next chunk waiting on ``worker``."""
        k = self.queues[worker].popleft()
        consensus = self.fit.consensus
        z = consensus.z.copy()
        future = self.client.submit(consensus_step, *self.chunks[k], self.latest[k], z,
                                    consensus.rho, consensus.metric, self.fit.settings, pure=False,
                                    workers=[worker], allow_other_workers=True)
        self.in_flight[future] = (k, worker, z)
        return future

    def run(self, max_results, batched):
        from distributed import as_completed

        consensus, trace = self.fit.consensus, self.fit.trace
        first = [self.submit(worker) for worker, queue in self.queues.items()
                 for _ in range(min(self.depth * self.threads[worker], len(queue)))]
        completed = as_completed(first, loop=self.client.loop)
        n_updates = 0
        for futures in self._finished(completed, batched):
            batch = list(zip(futures, self.watch.gather(futures)))
            freed = []
            for future, state in batch:
                k, worker, seen = self.in_flight.pop(future)
                consensus.absorb(k, state, seen)
                self.latest[k] = future
                self.queues[worker].append(k)
                freed.append(worker)
            self.n_results += len(batch)
            rho = consensus.rho
            consensus.update()
            n_updates += 1
            primal, dual, eps_primal, eps_dual = consensus.residuals()
            trace.record(n_updates, np.nan, consensus.z, primal_residual=primal,
                         dual_residual=dual, primal_tol=eps_primal, dual_tol=eps_dual,
                         rho=rho, batch_size=len(batch), n_results=self.n_results,
                         local_steps=max(state.n_steps for _, state in batch))
            if (consensus.reported.all() and primal <= eps_primal and dual <= eps_dual
                    and self.fit._optimal()):
                return True, self.fit._converged_message(), n_updates
            if self.n_results >= max_results:
                return False, f"reached max_iter (n_results={self.n_results})", n_updates
            self._balance(primal, dual)
            for worker in freed:
                completed.add(self.submit(worker))
        return False, "no local solve is left in flight", n_updates

    def _finished(self, completed, batched):
        """The finished solves, a batch (or one) at a time, as ``completed``
        yields them, waiting through :class:`ClusterWatch` so that a cluster
        left without workers or scheduler raises instead of hanging."""
        while not completed.is_empty():
            while not completed.has_ready():
                self.watch.wait(list(self.in_flight), return_when="FIRST_COMPLETED")
                if not completed.has_ready():   # it learns on the client's event loop
                    time.sleep(0.001)
            if batched:
                yield completed.next_batch(block=True)
            else:
                yield [next(completed)]

    def _balance(self, primal, dual):
        if not self.fit.adaptive_rho:
            return
        if self.n_results - self._results_at_balance < self.fit.consensus.n_chunks:
            return
        if self.fit.consensus.balance(primal, dual):
            self._results_at_balance = self.n_results

    def cancel(self):
        if self.in_flight:
            self.client.cancel(list(self.in_flight))
        self.in_flight.clear()


def _chunk_futures(client, block):
    """Futures for one chunk's arrays, on the cluster (never gathered here)."""
    parts = []
    for part in block:
        if part is None:
            parts.append(None)
        elif isinstance(part, Delayed):
            parts.append(client.compute(part))
        else:
            parts.append(client.scatter(part))
    return parts


def _check_start(value):
    if not np.isfinite(value):
        raise FloatingPointError(
            "admm: the objective is not finite at the starting coefficients "
            "(the mean leaves the family's range); pass init= with a valid start")


def _automatic_rho(hessian, problem, n_chunks):
    """``(rho, metric)`` for ``rho="auto"``: the penalty matrix ``rho * metric``.

    With ``H`` the Fisher Hessian at the start plus the L2 part, every chunk's
    Hessian is about ``H / N``. Without an L1 part the penalty matrix is that
    estimate itself (``metric = H / s``, ``rho = s / N``, ``s`` the geometric
    mean of ``H``'s diagonal): the local problems are then as well conditioned
    as they can be, and on a quadratic with equal chunks one round solves it.
    With an L1 part the z-step needs a diagonal metric; then, with ``D`` the
    diagonal of ``H`` and ``l_min, l_max`` the extreme eigenvalues of
    ``D^-1/2 H D^-1/2`` (``l_min`` at least ``1e-3 l_max``), ``metric = D / s``
    and ``rho = sqrt(l_min l_max) s / N``. The diagonal one is used as well
    when ``H`` is too ill-conditioned to factorise reliably.
    """
    l2 = np.where(problem.penalized, problem.penalty.l2, 0.0)
    full = hessian + np.diag(l2)
    diagonal = np.diag(full).copy()
    good = np.isfinite(diagonal) & (diagonal > 0)
    if not good.any() or not np.all(np.isfinite(full)):
        return 1.0 / n_chunks, np.eye(len(diagonal))
    diagonal[~good] = np.min(diagonal[good])
    root = 1.0 / np.sqrt(diagonal)
    eigenvalues = np.linalg.eigvalsh(full * root[:, None] * root[None, :])
    largest = float(eigenvalues[-1])
    scale = float(np.exp(np.mean(np.log(diagonal))))
    if problem.penalty.is_smooth and eigenvalues[0] > _FULL_METRIC_MIN_RATIO * largest:
        return scale / n_chunks, full / scale
    smallest = max(float(eigenvalues[0]), 1e-3 * largest)
    return float(np.sqrt(smallest * largest)) * scale / n_chunks, np.diag(diagonal / scale)
