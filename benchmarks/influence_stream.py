"""Cook's distance of a fit on data that is never held in memory.

``python -m benchmarks.influence_stream --rows 2e7``: a Poisson GLM on a
design generated lazily, chunk by chunk, from a seeded generator (a dask
array that is never persisted: every pass over the rows generates them
again), then ``get_influence().cooks_distance`` reduced to its maximum and
sum in one more pass. Time and peak resident memory above the start
(:func:`benchmarks.measure.measure`) are reported for the fit and for the
influence pass, against the bytes of one chunk and of the whole design.

The claim checked: a streamed fit and its influence measures need memory
bounded by the chunk size (times the threads working at once), not by the
number of rows.

Run 2026-12-02 (2 cores shared with other jobs, load average about 4), 2e7
rows in chunks of 1e6 (one chunk 53 MiB, the design 1,068 MiB): the fit took
44 s (5 newton iterations) with a peak of 291 MiB above the start,
Cook's distance's max and sum 9.7 s with a peak of 395 MiB: 7.4 chunks, 37%
of the data. At 2e6 and 4e6 rows in chunks of 2e5 the peaks were 73 and 74
MiB (fit) and 43 and 44 MiB (influence): the same number of chunks whatever
the rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

#: The coefficients of the generated model: an intercept and N_FEATURES - 1 normals.
TRUE_COEF = np.array([0.3, 0.2, -0.15, 0.1, 0.05, -0.1])
N_FEATURES = TRUE_COEF.size


def _rows(block_ids, sizes, seed):
    """One chunk, ``[X | y]``, from its own seeded stream (``block_ids`` holds
    the chunk's index, ``sizes`` every chunk's rows)."""
    block_index = int(block_ids[0])
    n_rows = sizes[block_index]
    rng = np.random.default_rng([seed, block_index])
    X = np.empty((n_rows, N_FEATURES))
    X[:, 0] = 1.0
    X[:, 1:] = rng.standard_normal((n_rows, N_FEATURES - 1))
    y = rng.poisson(np.exp(X @ TRUE_COEF))
    return np.column_stack([X, y])


def generated_design(n_rows, chunk_rows, seed=0):
    """``(X, y)``: lazy dask arrays of ``n_rows`` rows in chunks of ``chunk_rows``,
    made per chunk when a pass asks for them (never persisted)."""
    import dask.array as da

    sizes = [chunk_rows] * (n_rows // chunk_rows)
    if n_rows % chunk_rows:
        sizes.append(n_rows % chunk_rows)
    block_ids = da.from_array(np.arange(len(sizes)), chunks=1)
    table = block_ids.map_blocks(_rows, tuple(sizes), seed,
                                 chunks=(tuple(sizes), (N_FEATURES + 1,)), new_axis=1,
                                 dtype=float)
    return table[:, :N_FEATURES], table[:, N_FEATURES]


def run(n_rows, chunk_rows, seed=0, tol=1e-8):
    """Fit, then reduce Cook's distance; returns the numbers :func:`main` prints."""
    import dask

    import daskglm
    from benchmarks.measure import measure

    # warm up: imports, numba's compilation and dask's first graphs are not the pass's memory
    small = daskglm.GLM(*reversed(generated_design(2000, 1000, seed + 1)),
                        family=daskglm.Poisson()).fit(persist=False)
    dask.compute(small.get_influence().cooks_distance[0].max())
    X, y = generated_design(n_rows, chunk_rows, seed)
    model = daskglm.GLM(y, X, family=daskglm.Poisson())
    fit = measure(model.fit, tol=tol, persist=False)
    results = fit.value

    def reduce_cooks():
        distance = results.get_influence().cooks_distance[0]
        return dask.compute(distance.max(), distance.sum())

    influence = measure(reduce_cooks)
    cooks_max, cooks_sum = influence.value
    return {
        "rows": n_rows, "chunk_rows": chunk_rows,
        "chunk_bytes": chunk_rows * (N_FEATURES + 1) * 8,
        "data_bytes": n_rows * (N_FEATURES + 1) * 8,
        "converged": results.converged, "n_iter": results.n_iter,
        "persisted": results.solver_result.info["persisted"],
        "params": results.params.to_numpy(),
        "fit_seconds": fit.seconds, "fit_peak_bytes": fit.peak_extra_bytes,
        "influence_seconds": influence.seconds, "influence_peak_bytes": influence.peak_extra_bytes,
        "cooks_max": float(cooks_max), "cooks_sum": float(cooks_sum),
    }


def _mib(n_bytes):
    return f"{n_bytes / 2 ** 20:,.0f} MiB"


def main(argv=None):
    from benchmarks.measure import memory_method

    parser = argparse.ArgumentParser(prog="python -m benchmarks.influence_stream",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=2e7, help="rows (default 2e7)")
    parser.add_argument("--chunk-rows", type=float, default=1e6,
                        help="rows per chunk (default 1e6)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = run(int(args.rows), int(args.chunk_rows), args.seed)
    print(f"{out['rows']:,} rows of {N_FEATURES} columns + y in chunks of "
          f"{out['chunk_rows']:,} rows: one chunk {_mib(out['chunk_bytes'])}, all the data "
          f"{_mib(out['data_bytes'])} (generated per pass, persisted: {out['persisted']})")
    print(f"fit: {out['fit_seconds']:.1f} s, {out['n_iter']} newton iterations, converged "
          f"{out['converged']}, peak memory above the start {_mib(out['fit_peak_bytes'])}")
    print(f"Cook's distance max and sum: {out['influence_seconds']:.1f} s, peak memory above "
          f"the start {_mib(out['influence_peak_bytes'])}; max {out['cooks_max']:.3e}, "
          f"sum {out['cooks_sum']:.6f}")
    peak = max(out["fit_peak_bytes"], out["influence_peak_bytes"])
    print(f"peak memory: {peak / out['chunk_bytes']:.1f} chunks, "
          f"{peak / out['data_bytes']:.1%} of the data ({memory_method()}); "
          f"total {time.perf_counter() - start:.1f} s")
    return out


if __name__ == "__main__":
    main()
