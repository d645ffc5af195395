"""End to end on a formula: claims with large categoricals, daskglm against glum.

``python -m benchmarks.formula_claims [--rows N] [--models ...]`` (part of
``make bench``). The claims data of ``examples/claims.py`` (with a 1,000-level
``zone`` and a 20,000-level ``zone20000`` column) are written once as 8
parquet files; then each model is fitted, Poisson with the log of ``years``
as exposure:

- **daskglm**: ``dd.read_parquet`` + ``daskglm.glm`` + ``fit``, the design
  persisted (``persist=True``) and streamed from the files on every pass
  (``persist=False``);
- **glum**: ``pd.read_parquet`` + ``GeneralizedLinearRegressor`` on the
  frame's categorical columns (``drop_first=True``, as patsy's Treatment
  coding), with the same offset.

Both are timed from reading the files to the coefficients, after a warm-up
fit of each on a small file (imports and compilation); glum runs in a
child whose address space is limited to half the machine's memory, so that
running out of it (glum's Hessian is dense: 20,000 levels make it 3.2 GB,
and it needs several) is reported instead of ending the benchmark. The
accuracy of each is the largest coefficient difference to a tight daskglm
fit (``tol=1e-10``); the fits count when it is at most 1e-6. Peak memory is
the rise of the resident set during the fit (:mod:`benchmarks.measure`),
compared with the size of the numeric data (the design's dense columns plus
int32 codes, as daskglm holds them).

With 20,000 zones (50 policies each) some zones have no claim at all, and
their unpenalized estimates are minus infinity; that model is fitted with a
tiny ridge (``alpha=1e-6`` on every coefficient but the intercept, the same
objective in both libraries).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .measure import measure

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DATA = Path(__file__).resolve().parent / ".data" / "claims-zones"
BASE = "claims ~ age + C(region) + C(vehicle)"
MODELS = {
    "claims": (BASE, 0.0),
    "claims + 1k zones": (BASE + " + C(zone)", 0.0),
    "claims + 20k zones": (BASE + " + C(zone20000)", 1e-6),
}
ACCURACY = 1e-6


def write_data(folder: Path, n_rows: int) -> Path:
    """The claims files (written once per size)."""
    sys.path.insert(0, str(EXAMPLES))
    from claims import write_claims

    target = folder / f"rows-{n_rows}"
    if not (target / "part-007.parquet").exists():
        write_claims(target, n_rows=n_rows, n_files=8, zones=(1000, 20000))
    return target


def fit_daskglm(path, formula, alpha, persist, tol=1e-8):
    import dask.dataframe as dd

    import daskglm

    model = daskglm.glm(formula, dd.read_parquet(path), family=daskglm.Poisson(),
                        exposure="years")
    if alpha:
        result = model.fit_regularized("l2", alpha=alpha, tol=tol, persist=persist)
    else:
        result = model.fit(tol=tol, persist=persist)
    return result


def _glum_names(formula):
    """The frame's columns a formula of this module reads."""
    return ["age"] + [term[2:-1] for term in formula.split(" ~ ")[1].split(" + ")
                      if term.startswith("C(")]


def fit_glum(path, formula, alpha, gradient_tol=1e-8):
    from glum import GeneralizedLinearRegressor

    frame = pd.read_parquet(path)
    columns = _glum_names(formula)
    model = GeneralizedLinearRegressor(family="poisson", alpha=alpha, drop_first=True,
                                       gradient_tol=gradient_tol, fit_intercept=True)
    model.fit(frame[columns], frame["claims"].astype(float), offset=np.log(frame["years"]))
    return model, columns


def glum_params(model, formula) -> pd.Series:
    """glum's coefficients under patsy's names (``C(region)[T.R02]``, ...)."""
    names = {"age": "age"}
    for column in _glum_names(formula)[1:]:
        names.update({f"{column}[{level}]": f"C({column})[T.{level}]"
                      for level in _levels(model, column)})
    index = ["Intercept"] + [names[n] for n in model.feature_names_]
    return pd.Series(np.concatenate([[model.intercept_], model.coef_]), index=index)


def _levels(model, column):
    prefix = f"{column}["
    return [name[len(prefix):-1] for name in model.feature_names_ if name.startswith(prefix)]


def numeric_bytes(result) -> int:
    """The numeric data daskglm fits: the dense design, y, offset and int32 codes."""
    design = result._design
    n = design.n_rows
    dense = design.X.shape[1] + 2
    codes = 0 if design.coded is None else len(design.coded.terms)
    return n * (8 * dense + 4 * codes)


def _limited_glum(path, formula, alpha, limit):
    """In the child: measure glum's fit under an address-space limit, after
    the same warm-up fit on the small file as in the parent."""
    import resource

    small = write_data(DATA, 16_000)
    fit_glum(small, MODELS["claims + 1k zones"][0], alpha)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        measured = measure(fit_glum, path, formula, alpha)
    except MemoryError:
        return None
    measured.value = glum_params(measured.value[0], formula)
    return measured


def measure_glum(path, formula, alpha):
    """:func:`measure` of glum's fit in a child process with half the memory.

    The child comes from a fork server, not a fork of this process: forking
    a process whose dask and numba threads hold locks can leave the child
    waiting on them forever (it did, on 2 Dec 2026)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import psutil

    limit = int(psutil.virtual_memory().total // 2)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        return pool.submit(_limited_glum, path, formula, alpha, limit).result()


def run_model(path, name, formula, alpha):
    reference = fit_daskglm(path, formula, alpha, True, tol=1e-10).params
    row = {"model": name, "n_coef": len(reference)}
    for label, fit in (("daskglm persisted", lambda: fit_daskglm(path, formula, alpha, True)),
                       ("daskglm streaming", lambda: fit_daskglm(path, formula, alpha, False)),
                       ("glum", None)):
        measured = measure(fit) if fit else measure_glum(path, formula, alpha)
        if measured is None:
            row["glum"] = "MemoryError (address space limited to half the machine's memory)"
            continue
        if label == "glum":
            params = measured.value
        else:
            params = measured.value.params
            row["numeric_bytes"] = numeric_bytes(measured.value)
            row[f"{label} passes"] = measured.value.solver_result.n_passes
        error = float(np.max(np.abs(params.reindex(reference.index) - reference)))
        row[f"{label} s"] = round(measured.seconds, 2)
        row[f"{label} peak MB"] = round(measured.peak_extra_bytes / 2**20, 1)
        row[f"{label} max |dcoef|"] = error
        row[f"{label} counts"] = bool(error <= ACCURACY)
    if "glum s" in row:
        row["persisted / glum"] = round(row["daskglm persisted s"] / row["glum s"], 3)
    row["streaming / persisted per pass"] = round(
        (row["daskglm streaming s"] / row["daskglm streaming passes"])
        / (row["daskglm persisted s"] / row["daskglm persisted passes"]), 3)
    row["persisted peak / numeric data"] = round(
        row["daskglm persisted peak MB"] * 2**20 / row["numeric_bytes"], 3)
    return row


def warm_up(folder):
    """Compile and import everything on a small file first (every model runs
    the same kernels; 20,000 zones would leave most zones without a row)."""
    small = write_data(folder, 16_000)
    formula, _ = MODELS["claims + 1k zones"]
    for alpha in (0.0, 1e-6):
        fit_daskglm(small, formula, alpha, True)
        fit_daskglm(small, formula, alpha, False)
        fit_glum(small, formula, alpha)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.formula_claims",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "formula_claims.json")
    args = parser.parse_args(argv)
    import warnings

    warnings.simplefilter("ignore")
    warm_up(DATA)
    path = write_data(DATA, args.rows)
    rows = []
    for name in args.models:
        start = time.perf_counter()
        rows.append(run_model(path, name, *MODELS[name]))
        print(json.dumps(rows[-1]), f"({time.perf_counter() - start:.0f} s)", flush=True)
    args.out.write_text(json.dumps({"rows": args.rows, "results": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
