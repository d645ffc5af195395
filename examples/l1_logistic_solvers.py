"""L1-penalised logistic regression with every registered solver that can do it.

The solvers are picked at run time from the registry
(``daskglm.solvers.solvers_for(L1(...))``), so solvers added later (ADMM,
SAGA, your own) show up here too. All minimise the same objective, so they
reach the same coefficients; they differ in how many passes over the data
they need::

    python examples/l1_logistic_solvers.py
"""

import time

import dask.array as da
import numpy as np
import pandas as pd

import daskglm
from daskglm import solvers


def make_data(n_rows, n_features, n_chunks, seed=0):
    """An intercept column and ``n_features`` correlated features, of which a
    fifth carry signal; a binary response from the logistic model."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n_rows, 1))
    features = 0.8 * rng.normal(size=(n_rows, n_features)) + 0.6 * shared
    X = np.column_stack([np.ones(n_rows), features])
    coef = np.zeros(n_features + 1)
    coef[0] = -0.5
    coef[1:1 + max(1, n_features // 5)] = rng.choice([-1.0, 1.0], max(1, n_features // 5))
    y = rng.binomial(1, 1.0 / (1.0 + np.exp(-X @ coef))).astype(float)
    rows = -(-n_rows // n_chunks)
    return da.from_array(X, chunks=(rows, -1)), da.from_array(y, chunks=rows)


def main(n_rows=200_000, n_features=20, n_chunks=8, alpha=0.005, seed=0):
    """Fit with each solver that handles L1; print a comparison; return the fits."""
    X, y = make_data(n_rows, n_features, n_chunks, seed)
    X, y = X.persist(), y.persist()
    penalty = daskglm.L1(alpha)
    names = solvers.solvers_for(penalty)
    print(f"L1({alpha}) logistic regression, {n_rows:,} rows x {n_features + 1} columns in "
          f"{n_chunks} chunks; solvers that handle L1: {', '.join(names)}")
    fits, seconds = {}, {}
    for name in names:
        start = time.perf_counter()
        fits[name] = solvers.get_solver(name)(X, y, daskglm.Logistic(), penalty, unpenalized=[0])
        seconds[name] = time.perf_counter() - start
    best = min(fits.values(), key=lambda fit: fit.objective)
    table = pd.DataFrame({
        "converged": {n: f.converged for n, f in fits.items()},
        "iterations": {n: f.n_iter for n, f in fits.items()},
        "passes": {n: f.n_passes for n, f in fits.items()},
        "objective - best": {n: f.objective - best.objective for n, f in fits.items()},
        "nonzero coefs": {n: int(np.count_nonzero(f.coef[1:])) for n, f in fits.items()},
        "max |coef - best|": {n: np.abs(f.coef - best.coef).max() for n, f in fits.items()},
        "seconds": seconds,
    })
    print(table.to_string(formatters={"objective - best": "{:.1e}".format,
                                      "max |coef - best|": "{:.1e}".format,
                                      "seconds": "{:.2f}".format}))
    return fits


if __name__ == "__main__":
    main()
