"""Time to reach a relative objective gap of 1e-4: ADMM, SAGA, newton, scikit-learn.

A standalone script (not a test): one L1-penalised logistic problem of at
least 2,000,000 x 20, fitted in the same run by

- daskglm ``newton`` (dask threads),
- daskglm ``admm``, synchronous rounds (dask threads),
- daskglm ``admm``, asynchronous batched updates on a ``distributed.LocalCluster``,
- daskglm ``saga`` (dask threads),
- scikit-learn's ``LogisticRegression(solver="saga")`` (in memory, one core).

The optimum ``F*`` is newton's at a tight tolerance. Each daskglm solver
records its coefficients through ``callback`` with the wall time since the
call started (setup, validation and first passes included); afterwards, off
the clock, the objective is computed at every recorded point, and the time
to target is the first time the relative gap ``(F - F*) / |F*|`` is at most
the target. scikit-learn has no callback, so it is fitted with
``max_iter = 1, 2, 3, 4, 6, 8, ...`` from scratch; its time is that of the
first fit reaching the target (its ``C`` is ``1 / (alpha n)``, the same
objective, intercept unpenalized).

Run from the repository root as ``python -m benchmarks.bench_admm_saga``
(``--help`` lists the options: rows, columns, chunks, alpha, workers); the
output ends with a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import dask
import dask.array as da
import numpy as np

import daskglm
from daskglm.solvers import admm, newton, saga

TARGET = 1e-4


def make_data(n_rows, n_cols, seed):
    """An intercept column and ``n_cols - 1`` standard normal features; a
    quarter of the true coefficients are zero."""
    rng = np.random.default_rng(seed)
    X = np.empty((n_rows, n_cols))
    X[:, 0] = 1.0
    X[:, 1:] = rng.standard_normal((n_rows, n_cols - 1))
    coef = rng.normal(scale=0.5, size=n_cols)
    coef[rng.choice(np.arange(1, n_cols), size=n_cols // 4, replace=False)] = 0.0
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-(X @ coef)))).astype(float)
    return X, y


def objectives(X, y, points, alpha, rows_per_block=250_000):
    """Mean logistic loss + alpha |b[1:]|_1 at each column of ``points``."""
    points = np.asarray(points, dtype=float).reshape(X.shape[1], -1)
    total = np.zeros(points.shape[1])
    for start in range(0, X.shape[0], rows_per_block):
        block = slice(start, start + rows_per_block)
        eta = X[block] @ points
        total += (np.logaddexp(0.0, eta) - y[block, None] * eta).sum(axis=0)
    return total / X.shape[0] + alpha * np.abs(points[1:]).sum(axis=0)


class Recorder:
    """A solver callback: the coefficients and the wall time since ``start``."""

    def __init__(self):
        self.times, self.coefs = [], []
        self.start = time.perf_counter()

    def __call__(self, record):
        self.times.append(time.perf_counter() - self.start)
        self.coefs.append(record["coef"])


def time_to_target(X, y, recorder, alpha, best):
    """First recorded time with relative gap <= TARGET (inf if never), and the last gap."""
    gaps = np.concatenate([
        (objectives(X, y, np.stack(recorder.coefs[i:i + 64], axis=1), alpha) - best) / abs(best)
        for i in range(0, len(recorder.coefs), 64)])
    hits = np.flatnonzero(gaps <= TARGET)
    return (recorder.times[hits[0]] if hits.size else np.inf), gaps[-1]


def run_daskglm(name, solver, X, y, Xd, yd, alpha, best, **options):
    recorder = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", daskglm.ConvergenceWarning)
        fit = solver(Xd, yd, daskglm.Logistic(), daskglm.L1(alpha), unpenalized=[0],
                     callback=recorder, **options)
    total = time.perf_counter() - recorder.start
    reach, last_gap = time_to_target(X, y, recorder, alpha, best)
    final_gap = (objectives(X, y, fit.coef, alpha)[0] - best) / abs(best)
    extra = ""
    if "n_updates" in fit.info:
        extra = f"{fit.info['n_updates']} z-updates for {fit.info['n_results']} local solves"
    return {"solver": name, "reach": reach, "total": total, "n_iter": fit.n_iter,
            "n_passes": fit.n_passes, "final_gap": final_gap, "converged": fit.converged,
            "note": extra}


def run_sklearn(X, y, alpha, best, max_budget):
    """scikit-learn's saga from scratch with growing max_iter until it reaches the target."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    C = 1.0 / (alpha * X.shape[0])
    spent, last = 0.0, None
    for max_iter in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128):
        model = LogisticRegression(solver="saga", l1_ratio=1.0, C=C, tol=1e-12,
                                   max_iter=max_iter, random_state=0)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X[:, 1:], y)
        elapsed = time.perf_counter() - start
        spent += elapsed
        coef = np.concatenate([model.intercept_, model.coef_.ravel()])
        gap = (objectives(X, y, coef, alpha)[0] - best) / abs(best)
        last = {"solver": "scikit-learn saga", "reach": np.inf, "total": elapsed,
                "n_iter": int(model.n_iter_[0]), "n_passes": int(model.n_iter_[0]),
                "final_gap": gap, "converged": gap <= TARGET,
                "note": f"fresh fit with max_iter={max_iter}"}
        if gap <= TARGET:
            last["reach"] = elapsed
            return last
        if spent > max_budget:
            break
    last["note"] += f" (gave up after {spent:.0f} s of fits)"
    return last


def run_async_admm(X, y, chunk_rows, alpha, best, n_workers):
    from distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        # the data goes to the workers before the clock starts, as it is for the
        # other solvers, whose data is in this process's memory
        Xd = _scattered(client, X, chunk_rows)
        yd = _scattered(client, y, chunk_rows)
        Xd, yd = client.persist([Xd, yd])
        wait([Xd, yd])
        return run_daskglm("admm, asynchronous (LocalCluster)", admm, X, y, Xd, yd, alpha,
                           best, asynchronous=True, client=client, tol=1e-6, max_iter=300)


def _scattered(client, array, chunk_rows):
    """A dask array whose chunks are scattered to the workers, one by one."""
    starts = range(0, array.shape[0], chunk_rows)
    futures = client.scatter([array[start:start + chunk_rows] for start in starts])
    blocks = [da.from_delayed(dask.delayed(future), shape=(min(chunk_rows, array.shape[0] - start),)
                              + array.shape[1:], dtype=array.dtype)
              for start, future in zip(starts, futures, strict=True)]
    return da.concatenate(blocks, axis=0)


def warm_up():
    """Load (or compile) the numba kernels before any clock starts."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = (rng.random(200) < 0.5).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", daskglm.ConvergenceWarning)
        saga(X, y, max_iter=2)
        newton(X, y, daskglm.Logistic(), daskglm.L1(0.01), max_iter=3)


def markdown_table(rows):
    lines = ["| solver | time to 1e-4 rel. gap (s) | total time (s) | iterations | passes "
             "| final rel. gap | converged | note |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for row in rows:
        reach = f"{row['reach']:.2f}" if np.isfinite(row["reach"]) else "not reached"
        lines.append(f"| {row['solver']} | {reach} | {row['total']:.2f} | {row['n_iter']} "
                     f"| {row['n_passes']} | {row['final_gap']:.1e} | {row['converged']} "
                     f"| {row['note']} |")
    return "\n".join(lines)


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=8, help="row chunks of the dask arrays")
    parser.add_argument("--alpha", type=float, default=1e-3, help="L1 strength")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sklearn-budget", type=float, default=300.0,
                        help="seconds of scikit-learn fits before giving up")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    X, y = make_data(args.rows, args.cols, args.seed)
    chunk_rows = -(-args.rows // args.chunks)
    Xd = da.from_array(X, chunks=(chunk_rows, args.cols))
    yd = da.from_array(y, chunks=chunk_rows)
    Xd, yd = dask.persist(Xd, yd)
    warm_up()
    reference = newton(Xd, yd, daskglm.Logistic(), daskglm.L1(args.alpha), unpenalized=[0],
                       tol=1e-10)
    best = float(objectives(X, y, reference.coef, args.alpha)[0])
    print(f"logistic, L1 alpha={args.alpha}: {args.rows:,} x {args.cols} in {args.chunks} "
          f"chunks; F* = {best:.12f} (newton, KKT {reference.history[-1]['kkt_norm']:.1e}); "
          f"{sum(reference.coef[1:] == 0)} zero coefficients")
    rows = [
        run_daskglm("newton", newton, X, y, Xd, yd, args.alpha, best, tol=1e-8),
        run_daskglm("admm, synchronous (threads)", admm, X, y, Xd, yd, args.alpha, best,
                    tol=1e-6, max_iter=300),
        run_async_admm(X, y, chunk_rows, args.alpha, best, args.workers),
        run_daskglm("saga (threads)", saga, X, y, Xd, yd, args.alpha, best, tol=1e-6,
                    max_iter=100),
        run_sklearn(X, y, args.alpha, best, args.sklearn_budget),
    ]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nmachine: {platform.machine()}, {dask.system.CPU_COUNT} cores, load average "
          f"{load} at the end (other jobs share the cores); target: relative objective "
          f"gap <= {TARGET:g}\n")
    print(markdown_table(rows))
    return rows


if __name__ == "__main__":
    main()
