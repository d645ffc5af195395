"""A cluster that can no longer compute stops a fit with a clear error.

Real ``dask scheduler`` / ``dask worker`` processes (workers without a
nanny, so a killed one stays dead): when every worker is killed in the middle
of a fit, or the scheduler is, each solver raises
:class:`daskglm.ClusterError` within ``daskglm.cluster-timeout`` (plus one
look at the cluster) instead of waiting forever.
"""

import threading
import time

import dask
import dask.array as da
import distributed
import pytest
from real_cluster import scheduler, stop, wait_for_workers, workers

import daskglm
from daskglm import solvers

N, P, CHUNK = 20_000, 4, 5_000
TIMEOUT = 3.0          # daskglm.cluster-timeout in these tests, seconds
SLACK = 10.0           # a loaded machine: one poll, a gather, the traceback

SOLVERS = {
    "newton": ("newton", {}),
    "lbfgs": ("lbfgs", {}),
    "proximal_grad": ("proximal_grad", {"regularizer": daskglm.regularizers.L1(alpha=0.01)}),
    "admm": ("admm", {"max_iter": 500, "tol": 1e-12}),
    "admm_async": ("admm", {"max_iter": 500, "tol": 1e-12, "asynchronous": True}),
    "saga": ("saga", {"max_iter": 500, "tol": 1e-12}),
}


def graph_data():
    """Seeded logistic data that exist only as a dask graph (recomputable)."""
    rng = da.random.default_rng(7)
    X = rng.normal(size=(N, P), chunks=(CHUNK, P))
    y = (rng.random(size=N, chunks=CHUNK) < 1 / (1 + da.exp(-X.sum(axis=1)))).astype(float)
    return X, y


class KillAll:
    """A solver callback that, at its first call, SIGKILLs the given processes
    from a thread and notes the time."""

    def __init__(self, processes):
        self.processes, self.killed_at = processes, None

    def __call__(self, record):
        if self.killed_at is None:
            self.killed_at = time.monotonic()
            threading.Thread(target=lambda: [stop(p) for p in self.processes]).start()
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster_scheduler():
    with scheduler() as (address, process):
        yield address, process


def _fit_until_error(client, name, options, processes):
    solver = solvers.get_solver(name)
    killer = KillAll(processes)
    X, y = graph_data()
    with client.as_current(), dask.config.set({"daskglm.cluster-timeout": TIMEOUT}), \
            pytest.raises(daskglm.ClusterError, match="cluster-timeout") as error:
        solver(X, y, daskglm.Logistic(), callback=killer, persist=False, **options)
    assert killer.killed_at is not None
    return time.monotonic() - killer.killed_at, error


# newton and async ADMM in the default run; the other solvers with -m slow
_EACH_CASE = [pytest.param(case, marks=() if case in ("newton", "admm_async")
                           else pytest.mark.slow) for case in sorted(SOLVERS)]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", _EACH_CASE)
def test_no_worker_left_raises_within_the_timeout(cluster_scheduler, case):
    address, _ = cluster_scheduler
    name, options = SOLVERS[case]
    with workers(address, 2, nanny=False) as processes, \
            distributed.Client(address, timeout="30s") as client:
        wait_for_workers(client, 2)
        waited, error = _fit_until_error(client, name, options, processes)
    assert "no worker is left" in str(error.value)
    assert TIMEOUT <= waited <= TIMEOUT + SLACK


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["newton", pytest.param("saga", marks=pytest.mark.slow)])
def test_scheduler_gone_raises_within_the_timeout(name):
    with scheduler() as (address, process), workers(address, 2, nanny=False):
        client = distributed.Client(address, timeout="30s")
        try:
            wait_for_workers(client, 2)
            waited, error = _fit_until_error(client, name, SOLVERS[name][1], [process])
        finally:
            client.close(timeout=5)
    assert "scheduler" in str(error.value)
    assert waited <= TIMEOUT + SLACK


def test_cluster_timeout_must_be_a_positive_duration():
    from daskglm.passes.client import cluster_timeout

    with dask.config.set({"daskglm.cluster-timeout": "-1s"}), \
            pytest.raises(ValueError, match="cluster-timeout"):
        cluster_timeout()
    with dask.config.set({"daskglm.cluster-timeout": "2 minutes"}):
        assert cluster_timeout() == 120.0


def test_no_cluster_no_watch():
    """With dask's threads the watched compute is dask.compute itself."""
    from daskglm.passes.client import compute, scheduler_client

    assert scheduler_client() is None
    assert compute(da.ones(3).sum()) == (3.0,)
