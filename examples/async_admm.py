"""Asynchronous ADMM on a local dask.distributed cluster.

Every chunk of rows solves its own small problem on the worker that holds
it; the consensus is updated as results arrive, without waiting for the
slowest chunk. The synchronous rounds and Newton give the reference::

    python examples/async_admm.py
"""

import contextlib
import time

import dask.array as da
import numpy as np

import daskglm
from daskglm import solvers


def make_data(n_rows, n_features, n_chunks, seed=0):
    """Seeded logistic data generated chunk by chunk where it is computed (on the
    workers), so no large array travels in the task graph."""
    rows = -(-n_rows // n_chunks)
    rng = da.random.default_rng(seed)
    features = rng.normal(size=(n_rows, n_features), chunks=(rows, -1))
    X = da.concatenate([da.ones((n_rows, 1), chunks=(rows, 1)), features], axis=1)
    coef = np.concatenate([[0.3], np.random.default_rng(seed).normal(scale=0.5, size=n_features)])
    coef[1::3] = 0.0
    y = rng.binomial(1, 1.0 / (1.0 + da.exp(-X @ coef))).astype(float)
    return X.rechunk((rows, -1)), y.rechunk(rows)


@contextlib.contextmanager
def _local_client(client):
    """The given client, or a two-process LocalCluster's for the run."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as own:
        yield own


def main(n_rows=400_000, n_features=10, n_chunks=8, alpha=1e-3, client=None, seed=0):
    """Fit with synchronous and asynchronous ADMM and Newton; return the fits
    (None, with a message, when no "admm" solver is registered)."""
    if "admm" not in solvers.SOLVERS:
        print("skipped: this daskglm has no 'admm' solver registered "
              f"(registered: {', '.join(sorted(solvers.SOLVERS))})")
        return None
    admm = solvers.get_solver("admm")
    penalty = daskglm.L1(alpha)
    fits = {}
    with _local_client(client) as active:
        X, y = make_data(n_rows, n_features, n_chunks, seed)
        X, y = active.persist([X, y])
        runs = {"newton": lambda: solvers.newton(X, y, daskglm.Logistic(), penalty,
                                                 unpenalized=[0]),
                "admm (rounds)": lambda: admm(X, y, daskglm.Logistic(), penalty,
                                              unpenalized=[0], client=active),
                "admm (asynchronous)": lambda: admm(X, y, daskglm.Logistic(), penalty,
                                                    unpenalized=[0], asynchronous=True,
                                                    client=active)}
        print(f"L1({alpha}) logistic, {n_rows:,} rows in {n_chunks} chunks on "
              f"{len(active.scheduler_info()['workers'])} workers")
        for name, run in runs.items():
            start = time.perf_counter()
            with active.as_current():
                fits[name] = run()
            fit = fits[name]
            gap = np.abs(fit.coef - fits["newton"].coef).max()
            print(f"{name:>20}: converged={fit.converged}, {fit.n_iter} iterations, "
                  f"{time.perf_counter() - start:.2f} s, max |coef - newton| = {gap:.1e}")
    return fits


if __name__ == "__main__":
    main()
