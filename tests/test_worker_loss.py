"""A worker process killed (SIGKILL) in the middle of a fit: dask recomputes
the lost chunks from their graph and the fit ends with the coefficients of an
undisturbed fit, without hanging."""

import os
import signal
import threading
import time

import dask.array as da
import numpy as np
import pytest

import daskglm
from daskglm import solvers

N, P, CHUNK = 60_000, 5, 10_000


def graph_data():
    """Logistic data that exist only as a seeded dask graph (recomputable)."""
    rng = da.random.default_rng(42)
    X = rng.normal(size=(N, P), chunks=(CHUNK, P))
    X = da.concatenate([da.ones((N, 1), chunks=(CHUNK, 1)), X[:, 1:]], axis=1)
    coef = np.array([0.2, -0.4, 0.7, 0.1, -0.3])
    prob = 1 / (1 + da.exp(-(X @ coef)))
    y = (rng.random(size=N, chunks=CHUNK) < prob).astype(float)
    return X, y


class KillAtIteration:
    """A solver callback that SIGKILLs one worker's process, from a thread,
    when the fit reaches ``iteration``."""

    def __init__(self, client, iteration=2):
        self.client, self.iteration = client, iteration
        self.killed_pid = None
        self.thread = None

    def __call__(self, record):
        if record["iteration"] == self.iteration and self.thread is None:
            pids = self.client.run(os.getpid)
            self.killed_pid = sorted(pids.values())[0]
            self.thread = threading.Thread(target=self._kill, daemon=True)
            self.thread.start()
            time.sleep(0.05)          # the next pass starts while the worker dies

    def _kill(self):
        os.kill(self.killed_pid, signal.SIGKILL)


CASES = {
    "newton": ("newton", {}),
    "lbfgs": ("lbfgs", {}),
    "proximal_grad": ("proximal_grad", {}),
    "admm": ("admm", {"max_iter": 300, "tol": 1e-6}),
    "admm_async": ("admm", {"max_iter": 2000, "tol": 1e-7, "asynchronous": True}),
    "saga": ("saga", {"max_iter": 200, "tol": 1e-7}),
}
#: how close the two fits must be: the same path to 1e-8; asynchronous ADMM's
#: path depends on the order results arrive in, so within its tolerance
ATOL = {"admm_async": 1e-4}


# newton and async ADMM in the default run; the other solvers with -m slow
_EACH_CASE = [pytest.param(case, marks=() if case in ("newton", "admm_async")
                           else pytest.mark.slow) for case in sorted(CASES)]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("case", _EACH_CASE)
def test_fit_survives_a_killed_worker(own_cluster_client, case):
    client = own_cluster_client
    name, options = CASES[case]
    solver = solvers.get_solver(name)
    X, y = graph_data()
    with client.as_current():
        undisturbed = solver(X, y, daskglm.Logistic(), **options)
        client.wait_for_workers(2, timeout=60)
        killer = KillAtIteration(client)
        disturbed = solver(X, y, daskglm.Logistic(), callback=killer, **options)
        killer.thread.join(timeout=10)
        client.wait_for_workers(2, timeout=60)   # the nanny restarts the worker
    assert killer.killed_pid is not None
    assert killer.killed_pid not in client.run(os.getpid).values()
    assert disturbed.converged and undisturbed.converged
    np.testing.assert_allclose(disturbed.coef, undisturbed.coef, rtol=0,
                               atol=ATOL.get(case, 1e-8))
