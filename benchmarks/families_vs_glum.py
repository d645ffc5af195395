"""Log-link families that are not canonical, against glum: Gamma and Tweedie(1.5).

``python -m benchmarks.families_vs_glum [--rows 1000000] [--features 20]
[--chunks 8] [--accuracy 1e-6]`` times, in one process and on the same data,

1. daskglm's ``newton`` on a persisted dask array (``--chunks`` chunks of
   rows) and glum's ``GeneralizedLinearRegressor`` (``alpha=0``,
   ``solver="irls-ls"`` as :mod:`benchmarks.peers`, its OpenMP and BLAS
   threads on every core unless ``--threads``) on the numpy array, each at
   the loosest tolerance of ``(1e-6, 1e-8, 1e-10)`` whose coefficients are
   within ``--accuracy`` (max absolute difference) of statsmodels' IRLS
   converged to 1e-12 (the independent reference), for Gamma with the log
   link and Tweedie with ``var_power=1.5`` and the log link (a compound
   Poisson-Gamma sample with exact zeros); the ratio is daskglm's seconds
   over glum's;
2. the fused pass per row (section 7 of :mod:`benchmarks.pass_kernels`):
   canonical links against these log links, one thread.

The Gamma case runs where daskglm has a Gamma family (looked up by name with
:func:`daskglm.math.families.get_family`); where it has none, the case is
skipped with a printed line. The numbers go to stdout.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from .measure import measure, set_thread_limits
from .problems import compound_poisson_gamma

__all__ = ["make_data", "run_family", "main"]

TOLERANCES = (1e-6, 1e-8, 1e-10)
#: glum's family for each case, and daskglm's family by name and parameters
CASES = {
    "gamma": ("gamma", {}),
    "tweedie": ("tweedie", {"var_power": 1.5}),
}


def make_data(case, n_rows, n_features, seed=0):
    """``(X, y)``: an intercept column and standard normal features, and a
    response with log-linear mean (Gamma of shape 2, or Tweedie 1.5 with
    dispersion 1.5)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n_rows), rng.standard_normal((n_rows, n_features))])
    coef = np.concatenate([[0.5], rng.normal(0.0, 0.3 / np.sqrt(n_features), n_features)])
    mu = np.exp(X @ coef)
    if case == "gamma":
        return X, rng.gamma(2.0, mu / 2.0)
    return X, compound_poisson_gamma(mu, 1.5, 1.5, rng)


def daskglm_family(case):
    """daskglm's family of ``case`` with the log link, or None where this
    daskglm does not have it."""
    from daskglm.math.families import get_family

    name, params = CASES[case]
    try:
        family = get_family(name, link="log")
    except ValueError:
        return None
    return type(family)(link="log", **params)


def glum_family(case):
    from glum import TweedieDistribution

    return "gamma" if case == "gamma" else TweedieDistribution(CASES[case][1]["var_power"])


def statsmodels_reference(X, y, case):
    """Coefficients of statsmodels' IRLS, converged to 1e-12."""
    import statsmodels.api as sm

    family = sm.families.Gamma(link=sm.families.links.Log()) if case == "gamma" else \
        sm.families.Tweedie(var_power=CASES[case][1]["var_power"])
    return np.asarray(sm.GLM(y, X, family=family).fit(tol=1e-12, maxiter=200).params)


def _daskglm_fit(X, y, family, tol):
    from daskglm import solvers

    result = solvers.newton(X, y, family, tol=tol, max_iter=100)
    return result.coef, result.n_iter


def _glum_fit(features, y, family, tol):
    """glum's fit on the features (no intercept column: glum adds its own)."""
    from glum import GeneralizedLinearRegressor

    model = GeneralizedLinearRegressor(family=family, link="log", alpha=0, fit_intercept=True,
                                       solver="irls-ls", gradient_tol=tol, max_iter=100)
    model.fit(features, y)
    return np.concatenate([[model.intercept_], model.coef_]), int(model.n_iter_)


def _ladder(fit, reference, accuracy):
    """The loosest tolerance whose fit is within ``accuracy`` of ``reference``
    (else the last), as ``dict(tol, seconds, n_iter, max_dcoef, counts)``."""
    attempt = {}
    for tol in TOLERANCES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            measured = measure(fit, tol)
        coef, n_iter = measured.value
        dcoef = float(np.max(np.abs(coef - reference)))
        attempt = dict(tol=tol, seconds=measured.seconds, n_iter=n_iter, max_dcoef=dcoef,
                       counts=dcoef <= accuracy)
        if attempt["counts"]:
            break
    return attempt


def run_family(case, n_rows, n_features, n_chunks, accuracy, seed=0):
    """Both libraries' fits of one case; ``None`` where daskglm lacks the family."""
    import dask.array as da

    family = daskglm_family(case)
    if family is None:
        print(f"{case}: daskglm has no {case!r} family here; skipped")
        return None
    X, y = make_data(case, n_rows, n_features, seed)
    reference = statsmodels_reference(X, y, case)
    rows = -(-n_rows // n_chunks)
    X_dask = da.from_array(X, chunks=(rows, X.shape[1])).persist()
    y_dask = da.from_array(y, chunks=rows).persist()
    features = np.ascontiguousarray(X[:, 1:])    # glum would copy a strided view each fit
    glum = glum_family(case)
    toy_X, toy_y = make_data(case, 2000, 3, seed + 1)      # compile and import outside the timing
    _daskglm_fit(toy_X, toy_y, family, 1e-8)
    _glum_fit(np.ascontiguousarray(toy_X[:, 1:]), toy_y, glum, 1e-8)
    ours = _ladder(lambda tol: _daskglm_fit(X_dask, y_dask, family, tol), reference, accuracy)
    theirs = _ladder(lambda tol: _glum_fit(features, y, glum, tol), reference, accuracy)
    return {"case": case, "family": repr(family), "zeros": float(np.mean(y == 0)),
            "daskglm newton": ours, "glum irls": theirs,
            "ratio": ours["seconds"] / theirs["seconds"]}


def _print(record, n_rows, n_features, n_chunks):
    print(f"\n{record['family']} / log, {n_rows:,} x {n_features + 1} "
          f"({n_chunks} chunks; {100 * record['zeros']:.1f}% zeros)")
    for name in ("daskglm newton", "glum irls"):
        a = record[name]
        flag = "" if a["counts"] else "  (did not reach the accuracy)"
        print(f"   {name:16s} {a['seconds']:8.2f} s  {a['n_iter']:3d} iterations  "
              f"tol {a['tol']:.0e}  max|dcoef| {a['max_dcoef']:.1e}{flag}")
    print(f"   daskglm / glum   {record['ratio']:.2f}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--accuracy", type=float, default=1e-6,
                        help="max |coef - reference| a fit must reach to count")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP threads for glum (default: all cores)")
    parser.add_argument("--families", default="gamma,tweedie",
                        help="comma-separated cases among " + ", ".join(CASES))
    parser.add_argument("--pass-rows", type=int, default=None,
                        help="rows of the per-row pass timing (default --rows; 0 skips it)")
    args = parser.parse_args(argv)
    unknown = set(args.families.split(",")) - set(CASES)
    if unknown:
        parser.error(f"unknown --families {sorted(unknown)}; known: {sorted(CASES)}")
    return args


def main(argv=None):
    from threadpoolctl import threadpool_limits

    from . import pass_kernels
    from .problems import PROBLEMS

    args = parse_args(argv)
    set_thread_limits(args.threads)    # as benchmarks.run: glum gets the whole machine
    records = []
    for case in args.families.split(","):
        record = run_family(case, args.rows, args.features, args.chunks, args.accuracy)
        if record is not None:
            _print(record, args.rows, args.features, args.chunks)
            records.append(record)
    pass_rows = args.rows if args.pass_rows is None else args.pass_rows
    if pass_rows:
        data = PROBLEMS["logistic"].scaled(n_rows=pass_rows,
                                           n_features=args.features).make()
        with threadpool_limits(1):
            pass_kernels.family_passes((data.design, data.y, data.true_coef * 0.9), pass_rows)
    return records


if __name__ == "__main__":
    main()
