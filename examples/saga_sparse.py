"""SAGA on sparse data: a dask array whose chunks are scipy.sparse CSR matrices.

Text-like features (a few hundred columns, 1 % of them nonzero in a row)
with an L1 penalty; SAGA's kernel touches only each row's nonzeros. Proximal
gradient, on the same chunks, gives the comparison::

    python examples/saga_sparse.py
"""

import time

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp

import daskglm
from daskglm import solvers


def make_sparse_data(n_rows, n_features, density, n_chunks, seed=0):
    """``(X, y, X_csr)``: X a dask array of CSR chunks whose first column is the
    intercept's ones, y a binary response, X_csr the same matrix in memory."""
    rng = np.random.default_rng(seed)
    features = sp.random(n_rows, n_features, density=density, format="csr", random_state=rng,
                         data_rvs=lambda size: rng.uniform(0.5, 2.0, size))
    X_csr = sp.hstack([np.ones((n_rows, 1)), features], format="csr")
    coef = np.zeros(n_features + 1)
    coef[0] = -0.4
    signal = rng.choice(n_features, n_features // 10, replace=False) + 1
    coef[signal] = rng.normal(scale=1.5, size=signal.size)
    y = rng.binomial(1, 1.0 / (1.0 + np.exp(-(X_csr @ coef)))).astype(float)
    bounds = np.linspace(0, n_rows, n_chunks + 1).astype(int)
    blocks = [da.from_delayed(dask.delayed(X_csr[start:stop]), shape=(stop - start, n_features + 1),
                              dtype=float, meta=sp.csr_matrix((0, n_features + 1)))
              for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]
    X = da.concatenate(blocks, axis=0)
    return X, da.from_array(y, chunks=(tuple(np.diff(bounds)),)), X_csr


def main(n_rows=100_000, n_features=500, density=0.01, n_chunks=8, alpha=2e-4, seed=0):
    """Fit with SAGA and, for comparison, proximal gradient on the same sparse
    chunks; return both fits (None, with a message, when no "saga" solver is
    registered)."""
    if "saga" not in solvers.SOLVERS:
        print("skipped: this daskglm has no 'saga' solver registered "
              f"(registered: {', '.join(sorted(solvers.SOLVERS))})")
        return None
    X, y, _ = make_sparse_data(n_rows, n_features, density, n_chunks, seed)
    X, y = dask.persist(X, y)
    print(f"L1({alpha}) logistic regression on {n_rows:,} rows x {n_features} sparse features "
          f"({density:.0%} nonzero) in {X.numblocks[0]} CSR chunks")
    fits = {}
    for name, options in (("saga", {"seed": seed}), ("proximal_grad", {})):
        start = time.perf_counter()
        fits[name] = fit = solvers.get_solver(name)(
            X, y, daskglm.Logistic(), daskglm.L1(alpha), unpenalized=[0], tol=1e-7, **options)
        print(f"{name:>14}: converged={fit.converged} in {fit.n_iter} iterations, "
              f"{fit.n_passes} passes over the data, {time.perf_counter() - start:.2f} s, "
              f"{np.count_nonzero(fit.coef[1:])} nonzero coefficients")
    gap = np.abs(fits["saga"].coef - fits["proximal_grad"].coef).max()
    print(f"max |saga - proximal_grad| = {gap:.1e}")
    return fits


if __name__ == "__main__":
    main()
