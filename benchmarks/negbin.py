"""Negative binomial with alpha estimated: daskglm against statsmodels' discrete NB2.

``python -m benchmarks.negbin [--rows N] [--cols P] [--big-rows M] [--threads T]``

- **side by side** on ``--rows`` rows (default 1e5) and ``--cols`` columns
  (an intercept and standard normal regressors; NB2 counts with alpha 0.5):
  ``daskglm.GLM(y, X, family=NegativeBinomial(alpha="estimate")).fit()``
  (the whole fit: alpha and the coefficients, the statistics pass, standard
  errors) against ``statsmodels.api.NegativeBinomial(y, X,
  loglike_method="nb2").fit()`` with its defaults (a Poisson fit for the
  start, then BFGS in log alpha, at most 35 iterations) and with
  ``method="newton"`` (quadratic convergence, in alpha). Each is timed after
  a warm-up fit (imports, numba compilation), best of ``--repeat``. The
  accuracy of each is the largest relative difference of the coefficients
  and alpha to a reference converged to a gradient of 1e-12 (statsmodels'
  Newton from its BFGS answer); the ratio is printed against the
  statsmodels run that reaches the same accuracy (1e-6).
- **ours alone** on ``--big-rows`` rows (default 1e7; 0 skips it): the
  design and the response as a dask array in ``--chunk-rows`` chunks,
  persisted before the clock starts; time, passes over the data and the
  estimates. statsmodels is not run there (what happens to it at 1e6 and
  1e7 rows: ``benchmarks/results/negbin.md``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from .measure import set_thread_limits

ALPHA = 0.5
ACCURACY = 1e-6


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=10, help="columns, the intercept included")
    parser.add_argument("--big-rows", type=int, default=10_000_000,
                        help="rows of the daskglm-only run (0: skip it)")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def true_coef(n_cols):
    coef = np.linspace(-0.3, 0.3, n_cols) / np.sqrt(n_cols)
    coef[0] = 0.5
    return coef


def make_block(n_rows, n_cols, seed):
    """``(X, y)``: an intercept, standard normal regressors, NB2 counts."""
    rng = np.random.default_rng(seed)
    X = np.empty((n_rows, n_cols))
    X[:, 0] = 1.0
    X[:, 1:] = rng.standard_normal((n_rows, n_cols - 1))
    mu = np.exp(X @ true_coef(n_cols))
    y = rng.negative_binomial(1.0 / ALPHA, 1.0 / (1.0 + ALPHA * mu)).astype(float)
    return X, y


def best_time(repeat, fit):
    seconds, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fit()
        seconds = min(seconds, time.perf_counter() - start)
    return seconds, result


def fit_daskglm(X, y):
    import daskglm

    res = daskglm.GLM(y, X, family=daskglm.NegativeBinomial(alpha="estimate")).fit()
    return np.append(res.params.to_numpy(), res.alpha), res


def fit_statsmodels(X, y, **options):
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # its convergence warnings are judged below
        res = sm.NegativeBinomial(y, X, loglike_method="nb2").fit(disp=0, **options)
    return np.asarray(res.params), res


def reference(X, y):
    """statsmodels' Newton from its BFGS answer, to a gradient of 1e-12."""
    import statsmodels.api as sm

    model = sm.NegativeBinomial(y, X, loglike_method="nb2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = model.fit(method="bfgs", maxiter=2000, gtol=1e-10, disp=0).params
        res = model.fit(start_params=start, method="newton", tol=1e-14, maxiter=100, disp=0)
    return np.asarray(res.params)


def error(params, ref):
    return float(np.max(np.abs(params - ref) / np.maximum(np.abs(ref), 1e-3)))


def side_by_side(options):
    X, y = make_block(options.rows, options.cols, options.seed)
    small_X, small_y = make_block(2000, options.cols, options.seed + 1)
    fit_daskglm(small_X, small_y)                      # warm-up: imports, compilation
    fit_statsmodels(small_X, small_y)
    ref = reference(X, y)
    rows = {}
    seconds, (params, res) = best_time(options.repeat, lambda: fit_daskglm(X, y))
    rows["daskglm newton (joint)"] = (seconds, error(params, ref),
                                      f"{res.solver_result.n_passes} passes")
    for label, fit_options in (("statsmodels fit() (bfgs)", {}),
                               ("statsmodels fit(method='newton')",
                                {"method": "newton", "maxiter": 100})):
        seconds, (params, res) = best_time(options.repeat,
                                           lambda o=fit_options: fit_statsmodels(X, y, **o))
        retvals = res.mle_retvals
        steps = retvals.get("iterations", retvals.get("gcalls"))
        rows[label] = (seconds, error(params, ref),
                       f"{steps} iterations (or gradient calls), converged="
                       f"{retvals.get('converged')}")
    print(f"\n{options.rows:,} rows x {options.cols} columns, alpha = {ref[-1]:.4f} "
          f"(true {ALPHA}); best of {options.repeat}")
    print(f"{'fit':36s} {'seconds':>9s} {'max rel err':>12s}  notes")
    for label, (seconds, err, notes) in rows.items():
        print(f"{label:36s} {seconds:9.3f} {err:12.2e}  {notes}")
    ours = rows["daskglm newton (joint)"][0]
    accurate = {k: v for k, v in rows.items() if k.startswith("statsmodels") and v[1] <= ACCURACY}
    if accurate:
        label, (theirs, _, _) = min(accurate.items(), key=lambda item: item[1][0])
        print(f"ratio daskglm / {label} (both within {ACCURACY:g}): {ours / theirs:.2f}x")
    else:
        print(f"no statsmodels run reached {ACCURACY:g}; ratio to the fastest: "
              f"{ours / min(v[0] for k, v in rows.items() if k.startswith('statsmodels')):.2f}x")
    return rows


def persisted_data(n, p, rows, seed):
    """``(X, y)`` as dask arrays of ``rows``-row chunks, generated and persisted."""
    import dask
    import dask.array as da

    sizes = [min(rows, n - start) for start in range(0, n, rows)]
    blocks = [dask.delayed(make_block)(m, p, seed + k) for k, m in enumerate(sizes)]
    X = da.concatenate([da.from_delayed(b[0], (m, p), float) for b, m in zip(blocks, sizes)])
    y = da.concatenate([da.from_delayed(b[1], (m,), float) for b, m in zip(blocks, sizes)])
    return dask.persist(X, y)


def big(options):
    import daskglm

    n, p = options.big_rows, options.cols
    family = daskglm.NegativeBinomial(alpha="estimate")
    daskglm.GLM(*reversed(persisted_data(3000, p, 1000, options.seed)), family=family).fit()
    X, y = persisted_data(n, p, options.chunk_rows, options.seed + 10)
    start = time.perf_counter()
    res = daskglm.GLM(y, X, family=family).fit()
    seconds = time.perf_counter() - start
    passes = res.solver_result.n_passes
    print(f"\ndaskglm alone, {n:,} rows x {p} columns in {X.numblocks[0]} persisted chunks: "
          f"{seconds:.2f} s for the fit and its statistics ({passes} passes for the fit, one "
          f"validating the data, one for the statistics; converged={res.converged}); "
          f"alpha = {res.alpha:.5f} +- {res.bse_alpha:.5f} (true {ALPHA}); max |coef - true| = "
          f"{np.max(np.abs(res.params.to_numpy() - true_coef(p))):.2e}")
    return seconds, passes, res


def main(argv=None):
    options = parse_args(argv)
    set_thread_limits(options.threads)
    side_by_side(options)
    if options.big_rows:
        big(options)


if __name__ == "__main__":
    main()
