"""How one fit is measured: wall time, peak memory, dask passes, warnings.

Peak memory
-----------
``tracemalloc`` sees only allocations made through Python's allocator hooks
(numpy's data buffers are reported, but BLAS/LAPACK workspaces, OpenMP
buffers of glum's tabmat, numba and Cython allocations are not), and
``resource.getrusage``'s ``ru_maxrss`` is a high-water mark for the whole
life of the process, which cannot be reset between fits. We use the
kernel's own high-water mark of the resident set instead: writing ``5`` to
``/proc/self/clear_refs`` resets ``VmHWM`` (Linux >= 4.0), the fit runs, and
``VmHWM`` read afterwards is the exact peak resident memory during the fit,
every thread and every allocator included, with no sampling gap. We report
the peak *above* the resident memory just before the fit, i.e. what the fit
itself needed on top of the data already in memory. Where ``clear_refs`` is
not writable (not Linux) a psutil sampling thread (every 5 ms) stands in,
and the record says which method was used.

CPU time
--------
Each fit also records the process's CPU seconds (every thread). CPU time
far above wall time x threads used, or a wall time far above CPU time, are
signs of another process competing for the cores (the machine is shared).

Passes
------
Our solvers count their passes (``SolverResult.n_passes``). For dask
libraries we count the ``dask.compute`` calls made on the local scheduler
(a dask callback): each is at least one pass over the chunks, and for
dask-glm's newton exactly one per iteration (plus one for its
normalisation).
"""

from __future__ import annotations

import gc
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass, field

__all__ = ["Measurement", "measure", "memory_method", "set_thread_limits"]

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


@dataclass
class Measurement:
    """What :func:`measure` saw around one call."""

    seconds: float
    cpu_seconds: float
    peak_extra_bytes: float
    dask_computes: int
    warnings: list = field(default_factory=list)
    value: object = None


def _read_status(key):
    with open(_STATUS) as status:
        match = re.search(rf"^{key}:\s+(\d+) kB", status.read(), re.MULTILINE)
    return int(match.group(1)) * 1024


def _can_reset_hwm():
    try:
        with open(_CLEAR_REFS, "w") as handle:
            handle.write("5")
        _read_status("VmHWM")
        return True
    except OSError:
        return False


_HWM = _can_reset_hwm()


def memory_method() -> str:
    """Which peak-memory method this process uses (for the report)."""
    return "kernel VmHWM reset per fit" if _HWM else "psutil RSS sampled every 5 ms"


class _Sampler:
    """Fallback: poll the resident set size in a thread."""

    def __init__(self, interval=0.005):
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(self._interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


class _ComputeCounter:
    """Counts dask graph executions on the local schedulers."""

    def __init__(self):
        from dask.callbacks import Callback

        counter = self
        self.count = 0

        class _Count(Callback):
            def _start(self, dsk):
                counter.count += 1

        self._callback = _Count()

    def __enter__(self):
        self._callback.__enter__()
        return self

    def __exit__(self, *exc):
        self._callback.__exit__(*exc)


def measure(func, *args, **kwargs) -> Measurement:
    """Call ``func(*args, **kwargs)`` once and measure it.

    Garbage is collected before the call (not timed). Warnings raised during
    the call are recorded, not shown.
    """
    gc.collect()
    if _HWM:
        with open(_CLEAR_REFS, "w") as handle:
            handle.write("5")
        before = _read_status("VmRSS")
    with warnings.catch_warnings(record=True) as caught, _ComputeCounter() as computes:
        warnings.simplefilter("always")
        if _HWM:
            cpu, start = _cpu_seconds(), time.perf_counter()
            value = func(*args, **kwargs)
            seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
            peak = _read_status("VmHWM")
        else:
            with _Sampler() as sampler:
                before = sampler.peak
                cpu, start = _cpu_seconds(), time.perf_counter()
                value = func(*args, **kwargs)
                seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
            peak = sampler.peak
    messages = sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})
    return Measurement(seconds, cpu, max(0.0, float(peak - before)), computes.count, messages,
                       value)


def _cpu_seconds():
    """User + system CPU time of this process, every thread included."""
    times = os.times()
    return times.user + times.system


def set_thread_limits(n_threads=None):
    """Let BLAS and OpenMP use ``n_threads`` (default: every core we may use).

    ``make bench`` exports ``OMP_NUM_THREADS=1`` (and OpenBLAS/MKL) so that
    dask's worker threads do not oversubscribe the cores; that would leave
    the in-memory peers (statsmodels, scikit-learn, glum's OpenMP kernels)
    on one core while dask uses two. The benchmark gives every library the
    whole machine instead; our dask path limits BLAS inside its own tasks.
    Returns what threadpoolctl reports afterwards.
    """
    from threadpoolctl import threadpool_info, threadpool_limits

    if n_threads is None:
        n_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count()
    threadpool_limits(limits=int(n_threads))
    return [(info["internal_api"], info["num_threads"]) for info in threadpool_info()]
