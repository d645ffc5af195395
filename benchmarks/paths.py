"""Regularization paths and their cross-validation against glum's.

A standalone script (not a test): one L1-penalised logistic problem (by
default 1,000,000 x 100, ten true non-zero coefficients, an unpenalized
intercept), fitted in one run by

- daskglm ``solvers.path`` on the persisted dask design (threaded scheduler):
  100 alphas from the smallest that zeroes every coefficient down to 1e-3
  times it (glmnet's grid);
- glum's ``GeneralizedLinearRegressor(alpha_search=True)`` on the same numpy
  data at the same alphas (glum's objective is half the deviance over the
  sum of weights plus the penalty: the same as daskglm's), same tolerance
  (glum's ``gradient_tol``, daskglm's KKT residual);
- 5-fold cross-validation over the same grid: daskglm's
  ``solvers.cv.cross_validate_path`` against glum's
  ``GeneralizedLinearRegressorCV`` (both refit on all rows at the chosen alpha);
- daskglm's path again on a 2-process ``distributed.LocalCluster`` (one
  thread each), against the threaded scheduler.

Reported: wall times and their ratios, daskglm's passes per alpha, the
largest difference between the two libraries' paths. Run from the
repository root as ``python -m benchmarks.paths`` (``--help`` for options;
``--rows 20000 --cols 20`` is a quick look). Times on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import dask
import dask.array as da
import numpy as np

from daskglm.solvers import path
from daskglm.solvers.cv import cross_validate_path


def make_data(n_rows, n_cols, n_nonzero, seed):
    """Standard normal features (no intercept column: the peers add it) and
    a logistic response with ``n_nonzero`` true non-zero coefficients."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_cols))
    coef = np.zeros(n_cols)
    coef[rng.choice(n_cols, n_nonzero, replace=False)] = rng.normal(scale=0.5, size=n_nonzero)
    eta = X @ coef - 0.5
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, y


def design(X, chunk_rows):
    """The daskglm design: features then a column of ones (unpenalized), in chunks."""
    ones = np.ones((X.shape[0], 1))
    return da.from_array(np.hstack([X, ones]), chunks=(chunk_rows, -1)), X.shape[1]


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def run_daskglm_path(Xd, yd, intercept, options):
    return path(Xd, yd, "binomial", l1_ratio=1.0, n_alphas=options.n_alphas,
                alpha_min_ratio=options.min_ratio, unpenalized=[intercept], tol=options.tol)


def run_glum_path(X, y, alphas, options):
    from glum import GeneralizedLinearRegressor

    model = GeneralizedLinearRegressor(family="binomial", alpha=list(alphas), alpha_search=True,
                                       l1_ratio=1.0, gradient_tol=options.tol, max_iter=100)
    model.fit(X, y)
    return np.column_stack([model.coef_path_, np.asarray(model.intercept_path_)])


def run_daskglm_cv(Xd, yd, intercept, alphas, options):
    return cross_validate_path(Xd, yd, "binomial", cv=options.folds, l1_ratio=1.0,
                               alphas=alphas, unpenalized=[intercept], tol=options.tol)


def run_glum_cv(X, y, alphas, options):
    from glum import GeneralizedLinearRegressorCV

    model = GeneralizedLinearRegressorCV(family="binomial", alphas=list(alphas), l1_ratio=[1.0],
                                         cv=options.folds, gradient_tol=options.tol,
                                         max_iter=100)
    model.fit(X, y)
    return model


def run_cluster(X, y, options):
    """The daskglm path on a 2-process LocalCluster (one thread per worker)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        Xd, intercept = design(X, options.chunk_rows)
        Xd, yd = dask.persist(Xd, da.from_array(y, chunks=options.chunk_rows))
        run_daskglm_path(Xd[:2000], yd[:2000], intercept, options)   # warm the workers
        return timed(run_daskglm_path, Xd, yd, intercept, options)


def main(argv=None):
    options = parse_args(argv)
    X, y = make_data(options.rows, options.cols, options.nonzero, options.seed)
    Xd, intercept = design(X, options.chunk_rows)
    yd = da.from_array(y, chunks=options.chunk_rows)
    results = {"rows": options.rows, "cols": options.cols, "tol": options.tol,
               "n_alphas": options.n_alphas, "folds": options.folds,
               "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    with dask.config.set(scheduler="threads"):
        run_daskglm_path(Xd[:2000], yd[:2000], intercept, options)   # numba compiles here
        ours, seconds = timed(run_daskglm_path, Xd, yd, intercept, options)
        results.update(path_seconds=seconds, passes=ours.n_passes,
                       passes_per_alpha=ours.n_passes / len(ours.alphas),
                       converged=int(ours.converged.sum()))
        print(f"daskglm path: {seconds:.2f} s, {ours.n_passes} passes "
              f"({results['passes_per_alpha']:.2f} per alpha)", flush=True)
        if not options.skip_cv:
            cv, seconds = timed(run_daskglm_cv, Xd, yd, intercept, ours.alphas, options)
            results.update(cv_seconds=seconds, cv_passes=cv.n_passes,
                           cv_alpha=float(cv.alphas[0][cv.index]))
            print(f"daskglm {options.folds}-fold CV: {seconds:.2f} s, {cv.n_passes} passes",
                  flush=True)
    if not options.skip_glum:
        glum_path(X, y, ours, options, results)
    if not options.skip_cluster:
        _, seconds = run_cluster(X, y, options)
        results.update(cluster_seconds=seconds,
                       cluster_ratio=seconds / results["path_seconds"])
        print(f"daskglm path on 2 processes: {seconds:.2f} s", flush=True)
    print(table(results))
    if options.out:
        with open(options.out, "w") as handle:
            json.dump(results, handle, indent=2)
    return results


def glum_path(X, y, ours, options, results):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_glum_path(X[:2000], y[:2000], ours.alphas[:3], options)   # warm-up
        coefs, seconds = timed(run_glum_path, X, y, ours.alphas, options)
    results.update(glum_path_seconds=seconds, path_ratio=results["path_seconds"] / seconds,
                   max_path_difference=float(np.abs(coefs - ours.coefs).max()))
    print(f"glum path: {seconds:.2f} s", flush=True)
    if options.skip_cv:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, seconds = timed(run_glum_cv, X, y, ours.alphas, options)
    results.update(glum_cv_seconds=seconds, cv_ratio=results["cv_seconds"] / seconds,
                   glum_cv_alpha=float(model.alpha_))
    print(f"glum {options.folds}-fold CV: {seconds:.2f} s", flush=True)


def table(results) -> str:
    rows = [("daskglm path (threads)", "path_seconds"), ("glum path", "glum_path_seconds"),
            ("ratio daskglm / glum (path)", "path_ratio"),
            ("passes per alpha", "passes_per_alpha"),
            ("max abs coef difference along the path", "max_path_difference"),
            ("daskglm CV (threads)", "cv_seconds"), ("glum CV", "glum_cv_seconds"),
            ("ratio daskglm / glum (CV)", "cv_ratio"),
            ("alpha chosen: daskglm / glum", "cv_alpha"),
            ("daskglm path, 2 processes", "cluster_seconds"),
            ("ratio processes / threads", "cluster_ratio")]
    lines = [f"Logistic L1 path, {results['rows']} x {results['cols']}, "
             f"{results['n_alphas']} alphas, tol {results['tol']:g} "
             f"({results['machine']})", "", "| measure | value |", "| --- | --- |"]
    for label, key in rows:
        if key not in results:
            continue
        value = results[key]
        if key == "cv_alpha":
            value = f"{value:.4g} / {results.get('glum_cv_alpha', float('nan')):.4g}"
        else:
            value = f"{value:.3g}"
        lines.append(f"| {label} | {value} |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paths", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--nonzero", type=int, default=10)
    parser.add_argument("--n-alphas", type=int, default=100)
    parser.add_argument("--min-ratio", type=float, default=1e-3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help="rows per dask chunk (default: 8 chunks)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-glum", action="store_true")
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--skip-cluster", action="store_true")
    parser.add_argument("--out", help="write the numbers as JSON here")
    options = parser.parse_args(argv)
    if options.chunk_rows is None:
        options.chunk_rows = -(-options.rows // 8)
    return options


if __name__ == "__main__":
    main()
