"""Row-aligned data in chunks: the one place that knows how passes are scheduled.

:class:`ChunkedData` holds ``X``, ``y``, ``offset`` and ``weights``, either as
in-memory numpy arrays or as dask arrays chunked alike along rows. A *pass*
applies a per-chunk function to every chunk and sums the flat float vectors
it returns: for dask input one graph (a task per chunk, a tree of sums, the
broadcast arguments stored once), for numpy input one plain call. Solvers
never touch the arrays themselves; they ask for passes.

The first pass also validates the data (non-finite values, negative weights,
a response outside the family's domain) in the same read, and records the
sum of weights and the weighted mean square of every column.
"""

from __future__ import annotations

import numbers
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp

from . import kernels as _kernels
from .client import compute, current_client, scheduler_client
from .coded import CodedMatrix
from .coded_kernels import coded_column_checks

__all__ = ["ChunkedData", "DataStats", "ColumnScaleError", "column_scale_message",
           "map_reduce_together"]

#: at most this many per-thread partial sums of a pass are added by the client
_CLIENT_SUM_PARTS = 8
# sum_w, n_rows, bad X, bad y, bad offset, bad weights, bad domain, sum_w y, sum_w y^2
_N_CHECKS = 9


def _to_array(value, name):
    """numpy, dask, pandas, dask dataframe or list -> numpy / dask / sparse array."""
    if value is None or isinstance(value, (np.ndarray, da.Array)) or sp.issparse(value):
        return value
    if hasattr(value, "to_dask_array"):
        return value.to_dask_array(lengths=True)
    if hasattr(value, "to_numpy"):
        return value.to_numpy()
    if isinstance(value, numbers.Number):
        raise TypeError(f"{name} must be an array, got the scalar {value!r}")
    return np.asarray(value)


def _as_float(array, name):
    dtype = getattr(array, "dtype", None)
    if dtype is not None and dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {dtype}")
    if sp.issparse(array):
        return sp.csr_matrix(array, dtype=np.float64)
    return array.astype(np.float64) if dtype != np.float64 else array


def _resolve_chunks(array, name):
    if isinstance(array, da.Array) and any(np.isnan(c) for c in array.chunks[0]):
        array = array.compute_chunk_sizes()
    return array


@dataclass(frozen=True)
class DataStats:
    """What the validating first pass learns about the data."""

    sum_weights: float
    n_rows: int
    column_mean_squares: np.ndarray
    #: weighted mean and variance of ``y`` (the units of the stopping rule)
    mean_y: float = 0.0
    var_y: float = 0.0


class ChunkedData:
    """``X``, ``y``, ``offset`` and ``weights`` aligned by rows.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        numpy, scipy.sparse, dask array (row chunks; column chunks are
        merged), pandas or dask dataframe, or a
        :class:`~daskglm.passes.coded.CodedMatrix` (a dense block and the
        codes of categorical terms; each chunk function then gets one).
    y : array of shape (n_samples,)
    offset, weights : array of shape (n_samples,), optional
    in_domain : callable, optional
        ``in_domain(y_chunk) -> bool mask`` for the family's response domain.
    domain_error : callable, optional
        ``domain_error(n_bad, first_rows) -> str``, the message for rows of
        ``y`` outside the domain.
    persist : bool or "auto"
        Keep dask inputs in (distributed) memory across passes. "auto"
        persists when the data takes at most half the memory available.
    """

    def __init__(self, X, y, offset=None, weights=None, *, in_domain=None,
                 domain_error=None, persist="auto"):
        arrays = self._validate_shapes(X, y, offset, weights)
        coded = arrays[0] if isinstance(arrays[0], CodedMatrix) else None
        if coded is not None:                  # the codes travel as a fifth array
            arrays = [coded.dense, *arrays[1:], coded.codes]
        self.is_dask = any(isinstance(a, da.Array) for a in arrays if a is not None)
        #: whether dask data are held in memory across passes (else streamed)
        self.persisted = False
        if self.is_dask:
            arrays = self._align_chunks(*arrays)
            self.persisted = should_persist(persist, arrays)
            if self.persisted:
                arrays = dask.persist(*balance_row_chunks(arrays))
        self._dense = arrays[0]
        if coded is not None:
            arrays = [coded.with_parts(arrays[0], arrays[4]), *arrays[1:4]]
        #: the coded design's terms (a CodedMatrix), None for a plain design
        self.coded = arrays[0] if coded is not None else None
        self.X, self.y, self.offset, self.weights = arrays
        self.n_rows, self.n_cols = self.X.shape
        self._in_domain = in_domain
        self._domain_error = domain_error
        self.stats: DataStats | None = None
        self.n_passes = 0
        self._blocks = self._make_blocks() if self.is_dask else None

    # -- construction -----------------------------------------------------
    @staticmethod
    def _validate_shapes(X, y, offset, weights):
        if isinstance(X, CodedMatrix):
            dense = _to_array(X.dense, "X")
            X = X.with_parts(dense, _resolve_chunks(_to_array(X.codes, "codes"), "codes"))
            dense = X.dense
        else:
            X = dense = _to_array(X, "X")
        if X is None or X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {getattr(X, 'shape', None)}")
        dense = _as_float(_resolve_chunks(dense, "X"), "X")
        X = X.with_parts(dense, X.codes) if isinstance(X, CodedMatrix) else dense
        n_rows = X.shape[0]
        if n_rows == 0 or X.shape[1] == 0:
            raise ValueError(f"X is empty (shape {X.shape})")
        out = [X]
        for name, vec in (("y", y), ("offset", offset), ("weights", weights)):
            vec = _to_array(vec, name)
            if vec is None:
                if name == "y":
                    raise ValueError("y is required")
                out.append(None)
                continue
            if vec.ndim == 2 and vec.shape[1] == 1:
                vec = vec[:, 0]
            if vec.ndim != 1:
                raise ValueError(f"{name} must be 1-dimensional, got shape {vec.shape}")
            vec = _as_float(_resolve_chunks(vec, name), name)
            if vec.shape[0] != n_rows:
                raise ValueError(
                    f"{name} has {vec.shape[0]} rows but X has {n_rows}; they must match"
                )
            out.append(vec)
        return out

    @staticmethod
    def _align_chunks(X, y, offset, weights, codes=None):
        if not isinstance(X, da.Array):
            rows = next(a for a in (y, offset, weights, codes)
                        if isinstance(a, da.Array)).chunks[0]
            X = da.from_array(X, chunks=(rows, -1))
        if X.numblocks[1] != 1:
            X = X.rechunk({1: -1})
        rows = X.chunks[0]

        def match(vec):
            if vec is None:
                return None
            chunks = (rows,) if vec.ndim == 1 else (rows, -1)
            if not isinstance(vec, da.Array):
                return da.from_array(vec, chunks=chunks)
            return vec if vec.chunks == da.core.normalize_chunks(chunks, vec.shape) \
                else vec.rechunk(chunks)

        aligned = [X, match(y), match(offset), match(weights)]
        return aligned if codes is None else aligned + [match(codes)]

    def _make_blocks(self):
        n_blocks = self._dense.numblocks[0]
        columns = []
        for array in (self._dense, self.y, self.offset, self.weights):
            if array is None:
                columns.append([None] * n_blocks)
            else:
                columns.append(list(array.to_delayed(optimize_graph=False).ravel()))
        #: each chunk's block of X, as a Delayed whose key names it on a cluster
        self._chunk_keys = columns[0]
        if self.coded is not None:
            codes = self.coded.codes.to_delayed(optimize_graph=False).ravel()
            join = dask.delayed(CodedMatrix, pure=True)
            levels = self.coded.n_levels
            columns[0] = [join(dense, block, levels) for dense, block in zip(columns[0], codes)]
        return list(zip(*columns))

    @property
    def row_chunks(self) -> tuple:
        """Rows per chunk (one chunk for in-memory data)."""
        return self._dense.chunks[0] if self.is_dask else (self.n_rows,)

    @property
    def blocks(self) -> list:
        """Per-chunk ``(X, y, offset, weights)`` as dask Delayed objects (dask input)."""
        return self._blocks

    # -- passes -------------------------------------------------------------
    def map_reduce(self, func, *args):
        """One pass: ``sum over chunks of func(X, y, offset, weights, *args)``.

        ``func`` returns a flat float array of the same length for every
        chunk. The arguments in ``args`` travel once per pass, not per chunk.
        The first pass also validates the data; a problem raises ``ValueError``.
        """
        return map_reduce_together([(self, func, args)])[0]

    def _dask_parts(self, func, args, check) -> list:
        """The pass as Delayed partial sums (not computed), to be added on the
        client: one per worker thread, pinned to the worker that holds its
        chunks, when the data are persisted on a distributed cluster (at most
        :data:`_CLIENT_SUM_PARTS`; more are summed on the workers in a tree of
        eights); else a task per chunk and a tree of sums (one part). A pass is
        then as many tasks as worker threads, whatever the number of chunks,
        and no partial sum travels between workers."""
        shared = [dask.delayed(a, pure=True) if isinstance(a, np.ndarray) else a for a in args]
        groups = self._thread_groups()
        if groups is None:
            task = dask.delayed(_chunk_task, pure=False)
            return [_tree_sum([task(func, check, self._in_domain, True, *block, *shared)
                               for block in self._blocks])]
        sweep = dask.delayed(_sweep_task, pure=False)
        parts = []
        for worker, chunks in groups:
            # a lost chunk is recomputed wherever the scheduler likes
            with dask.annotate(workers=[worker], allow_other_workers=True):
                parts.append(sweep(func, check, self._in_domain,
                                   [self._blocks[k] for k in chunks], *shared))
        return parts if len(parts) <= _CLIENT_SUM_PARTS else [_tree_sum(parts)]

    def _finish_pass(self, total, check):
        self.n_passes += 1
        return self._record_checks(total) if check else total

    def chunk_workers(self):
        """``(worker of each chunk, threads of each worker)`` when the data are
        persisted on a distributed cluster, else None. A chunk held nowhere
        (lost) is given to the worker with the fewest; tasks pinned to these
        workers with ``dask.annotate(workers=[w], allow_other_workers=True)``
        run where their rows are."""
        client = scheduler_client() if self.persisted else None
        if client is None:
            return None
        holders = client.who_has(self._chunk_keys)
        threads = client.nthreads()
        if not threads:
            return None          # no worker: the watched compute reports it
        counts = dict.fromkeys(threads, 0)
        workers = []
        for chunk in self._chunk_keys:
            where = [w for w in holders.get(chunk.key, ()) if w in counts]
            worker = where[0] if where else min(counts, key=counts.get)
            counts[worker] += 1
            workers.append(worker)
        return workers, threads

    def _thread_groups(self):
        """``[(worker, chunk indices), ...]``, one entry per worker thread that
        holds chunks, when the data are persisted on a distributed cluster;
        else None (streamed data and dask's local schedulers keep a task per chunk)."""
        placed = self.chunk_workers()
        if placed is None:
            return None
        workers, threads = placed
        by_worker = {worker: [] for worker in threads}
        for k, worker in enumerate(workers):
            by_worker[worker].append(k)
        return [(worker, [int(k) for k in group])
                for worker, chunks in by_worker.items() if chunks
                for group in np.array_split(chunks, min(threads[worker], len(chunks)))]

    def _threaded_map_reduce(self, func, args, check):
        """In-memory data: row blocks (views) on a few threads, one BLAS thread each."""
        bounds = _row_blocks(self.n_rows)
        def run(bound):
            rows = slice(*bound)
            pick = lambda a: None if a is None else a[rows]  # noqa: E731
            return _chunk_task(func, check, self._in_domain, len(bounds) > 1,
                               self.X[rows], self.y[rows], pick(self.offset),
                               pick(self.weights), *args)
        if len(bounds) == 1:
            return run(bounds[0])
        with ThreadPoolExecutor(max_workers=len(bounds)) as pool:
            return _sum_arrays(*pool.map(run, bounds))

    def _record_checks(self, total):
        checks, result = total[:_N_CHECKS + self.n_cols], total[_N_CHECKS + self.n_cols:]
        sum_w, n_rows, bad_x, bad_y, bad_off, bad_w, bad_domain, sum_wy, sum_wy2 = \
            checks[:_N_CHECKS]
        if bad_x and self.coded is not None:
            raise ValueError(f"X contains {int(bad_x)} NaN or infinite value(s) or codes "
                             f"outside [-1, levels) of their coded term (levels: "
                             f"{list(self.coded.n_levels)})")
        for name, count in (("X", bad_x), ("y", bad_y), ("offset", bad_off)):
            if count:
                raise ValueError(f"{name} contains {int(count)} NaN or infinite value(s)")
        if bad_w:
            raise ValueError(f"weights contain {int(bad_w)} negative, NaN or infinite value(s)")
        if bad_domain:
            first = self.first_rows_outside(self._in_domain)
            raise ValueError(self._domain_error(int(bad_domain), first))
        if sum_w <= 0:
            raise ValueError("the weights sum to zero: no row carries information")
        mean_squares = checks[_N_CHECKS:] / sum_w
        _check_column_scale(mean_squares)
        mean_y = sum_wy / sum_w
        var_y = max(sum_wy2 / sum_w - mean_y ** 2, 0.0)
        self.stats = DataStats(float(sum_w), int(n_rows), mean_squares, float(mean_y),
                               float(var_y))
        return result

    def first_rows_outside(self, in_domain, limit=5):
        """Global indices of the first ``limit`` rows whose ``y`` is outside the domain."""
        if not self.is_dask:
            return _rows_outside(self.y, in_domain, limit)
        starts = np.concatenate([[0], np.cumsum(self.row_chunks)[:-1]])
        find = dask.delayed(_rows_outside, pure=True)
        hits = compute(*[find(block[1], in_domain, limit) for block in self._blocks])
        found = np.concatenate([start + h for start, h in zip(starts, hits)])
        return found[:limit]


def map_reduce_together(calls):
    """Several passes at once: ``calls`` is a list of ``(data, func, args)``, and
    the answer the list of what each ``data.map_reduce(func, *args)`` returns.

    The passes over dask data run as ONE dask graph (one ``dask.compute``), so
    that several problems on the same chunks (the folds of a cross-validation)
    read their data in one sweep; in-memory data are swept one call after the
    other. Each ``data`` counts one pass.
    """
    checks = [data.stats is None for data, _, _ in calls]
    graphs = {i: data._dask_parts(func, args, check)
              for i, ((data, func, args), check) in enumerate(zip(calls, checks)) if data.is_dask}
    flat = compute(*[part for parts in graphs.values() for part in parts]) if graphs else ()
    computed, start = {}, 0
    for i, parts in graphs.items():
        computed[i] = _sum_arrays(*flat[start:start + len(parts)])
        start += len(parts)
    totals = []
    for i, ((data, func, args), check) in enumerate(zip(calls, checks)):
        total = computed[i] if i in computed else data._threaded_map_reduce(func, args, check)
        totals.append(data._finish_pass(total, check))
    return totals


class ColumnScaleError(ValueError):
    """Columns of X too large to square; ``positions`` are their indices, so
    that a caller that knows the columns' names can name them."""

    def __init__(self, message, positions=()):
        super().__init__(message)
        self.positions = tuple(int(p) for p in positions)


def column_scale_message(columns) -> str:
    """The refusal of columns too large to square; ``columns`` are their
    positions or names (at most ten are listed)."""
    listed = [c if isinstance(c, (int, np.integer)) else str(c) for c in list(columns)[:10]]
    more = f" and {len(columns) - 10} more" if len(columns) > 10 else ""
    return (f"X has values too large to square in double precision (above about 1e154) "
            f"in column(s) {listed}{more}: the Hessian X'WX overflows; scale these "
            "columns before fitting (for example divide each by its standard deviation "
            "or change its units)")


def _check_column_scale(mean_squares):
    """Refuse columns whose squares overflow: no Hessian or Gram matrix of them
    exists in double precision, and every solver would fail deep inside."""
    huge = np.flatnonzero(~np.isfinite(mean_squares))
    if huge.size:
        raise ColumnScaleError(column_scale_message(huge.tolist()), huge)


def _rows_outside(y, in_domain, limit):
    with np.errstate(invalid="ignore"):
        return np.flatnonzero(np.isfinite(y) & ~in_domain(y))[:limit]


def _row_blocks(n_rows, min_rows=100_000):
    """Row ranges for in-memory data: one per core, none under ``min_rows``."""
    n_blocks = max(1, min(os.cpu_count() or 1, n_rows // min_rows))
    edges = np.linspace(0, n_rows, n_blocks + 1).astype(int)
    return list(zip(edges[:-1], edges[1:]))


def _tree_sum(parts, split_every=8):
    add = dask.delayed(_sum_arrays, pure=False)
    while len(parts) > 1:
        parts = [add(*parts[i:i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


def _sweep_task(func, check, in_domain, blocks, *args):
    """``_chunk_task`` on each of ``blocks`` in turn, summed: one worker
    thread's share of a pass as one task and one result."""
    return _sum_arrays(*[_chunk_task(func, check, in_domain, True, *block, *args)
                         for block in blocks])


def _sum_arrays(*arrays):
    total = arrays[0].copy()
    for array in arrays[1:]:
        total += array
    return total


def _chunk_task(func, check, in_domain, limit_blas, X, y, offset, weights, *args):
    """Run ``func`` on one chunk, prefixed by the validation counts on the first pass."""
    if limit_blas:
        with single_threaded_blas():
            result = func(X, y, offset, weights, *args)
    else:
        result = func(X, y, offset, weights, *args)
    if not check:
        return result
    return np.concatenate([_chunk_checks(X, y, offset, weights, in_domain), result])


def _chunk_checks(X, y, offset, weights, in_domain):
    bad_w = 0 if weights is None else np.count_nonzero(~(np.isfinite(weights) & (weights >= 0)))
    with np.errstate(invalid="ignore"):
        bad_domain = 0 if in_domain is None else np.count_nonzero(np.isfinite(y) & ~in_domain(y))
    if isinstance(X, CodedMatrix):
        with np.errstate(invalid="ignore", over="ignore"):
            bad_x, col_sq = coded_column_checks(X, weights)
    elif sp.issparse(X):
        w = np.ones(X.shape[0]) if weights is None else weights
        col_sq = np.asarray(X.multiply(X).T @ w).ravel()
        bad_x = np.count_nonzero(~np.isfinite(X.data))
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            bad_x, col_sq = _kernels.column_checks(X, weights)
    counts = [
        np.sum(weights) if weights is not None else float(X.shape[0]),
        float(X.shape[0]),
        bad_x,
        np.count_nonzero(~np.isfinite(y)),
        0 if offset is None else np.count_nonzero(~np.isfinite(offset)),
        bad_w,
        bad_domain,
        *_response_sums(y, weights),
    ]
    return np.concatenate([np.asarray(counts, dtype=float), col_sq])


def _response_sums(y, weights):
    """``(sum w y, sum w y^2)`` over the finite rows (the others are refused)."""
    finite = np.isfinite(y)
    y = np.where(finite, y, 0.0)
    w = finite.astype(float) if weights is None else np.where(finite, weights, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        return float(w @ y), float(w @ (y * y))


class single_threaded_blas:
    """Keep BLAS to one thread while dask tasks run, so that worker threads do
    not each start a full BLAS thread pool on the same cores.

    BLAS thread counts are process-wide, so the limit is taken when the first
    concurrent task enters and given back when the last one leaves.
    """

    _lock = threading.Lock()
    _active = 0
    _limiter = None
    _controller = None

    def __enter__(self):
        cls = single_threaded_blas
        with cls._lock:
            if cls._active == 0:
                if cls._controller is None:
                    from threadpoolctl import ThreadpoolController

                    cls._controller = ThreadpoolController()
                cls._limiter = cls._controller.limit(limits=1, user_api="blas")
            cls._active += 1
        return self

    def __exit__(self, *exc):
        cls = single_threaded_blas
        with cls._lock:
            cls._active -= 1
            if cls._active == 0:
                cls._limiter.restore_original_limits()
                cls._limiter = None


# Rows per chunk, chosen when data are persisted: a chunk of X between these
# sizes keeps the per-task overhead (about 0.6 ms a task on the threaded
# scheduler, against 30 ms for a Newton pass over 1e6 x 21 on two cores)
# below 5 % and bounds what one task holds.
_MIN_CHUNK_BYTES = 16 * 2**20
_MAX_CHUNK_BYTES = 256 * 2**20


def balance_row_chunks(arrays):
    """The row-aligned dask ``arrays`` rechunked for the machine, when their
    chunks are poor and they are not in memory yet.

    Poor: fewer chunks than worker threads (idle cores), or chunks of X
    outside 16-256 MiB. The new chunks are a multiple of the thread count
    in number, each at most 256 MiB (where the data allow, at least
    16 MiB). Arrays already in memory (persisted, or numpy wrapped by
    ``da.from_array``) are left alone: rechunking them would copy them; so
    are scipy.sparse chunks, whose size dask does not know.
    ``dask.config.set({"daskglm.rechunk": False})`` keeps chunks as given.
    """
    X = arrays[0]
    if (not dask.config.get("daskglm.rechunk", True) or _in_memory(X)
            or sp.issparse(getattr(X, "_meta", None))):
        return arrays
    rows = _balanced_rows(X, _worker_threads())
    if rows is None:
        return arrays
    return [None if a is None else a.rechunk({0: rows}) for a in arrays]


def _balanced_rows(X, threads):
    """Rows per chunk for X, or None when its chunks are fine as they are."""
    n_rows, n_chunks = X.shape[0], X.numblocks[0]
    total = X.nbytes
    mean = total / n_chunks
    if n_chunks >= threads and _MIN_CHUNK_BYTES <= mean <= _MAX_CHUNK_BYTES:
        return None
    target = max(threads, -(-total // _MAX_CHUNK_BYTES))
    target = min(target, max(threads, total // _MIN_CHUNK_BYTES))
    target = -(-target // threads) * threads
    rows = -(-n_rows // target)
    return None if rows == X.chunks[0][0] and n_chunks == target else int(rows)


def _in_memory(array) -> bool:
    """True when every chunk of ``array`` is already a value (an array, or a
    future of ``distributed``): nothing is left to compute."""
    from dask.core import istask

    graph = array.__dask_graph__()
    return len(graph) == array.npartitions and not any(map(istask, graph.values()))


def _worker_threads() -> int:
    client = current_client()
    if client is None:
        return os.cpu_count() or 1
    return int(sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


def should_persist(persist, arrays) -> bool:
    """Whether to persist ``arrays``: ``persist`` itself, or for ``"auto"`` whether
    they take at most half the memory of the workers (of this machine without a client)."""
    if persist in (True, False):
        return persist
    if persist != "auto":
        raise ValueError(f"persist must be True, False or 'auto', got {persist!r}")
    nbytes = sum(a.nbytes for a in arrays if a is not None)
    return nbytes <= 0.5 * _available_memory()


def _available_memory() -> float:
    """Memory the data may use: the workers' limits with a client, else free RAM."""
    client = current_client()
    if client is None:
        import psutil

        return float(psutil.virtual_memory().available)
    workers = client.scheduler_info()["workers"].values()
    return float(sum(w.get("memory_limit", 0) or 0 for w in workers))
