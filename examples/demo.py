"""Fit GLMs with daskglm on real data that ships with statsmodels, on dask's
local scheduler, and print the estimates beside statsmodels' own.

- Poisson: doctor visits (``mdvis``) in the RAND health insurance experiment.
- Logistic: whether a respondent reported an affair (Fair, 1978).
"""

import time

import dask.array as da
import numpy as np
import pandas as pd
import statsmodels.api as sm

import daskglm
from daskglm import solvers


def compare(title, X, y, family, sm_family, names, n_chunks=8):
    chunk = -(-len(y) // n_chunks)
    X_dask = da.from_array(X, chunks=(chunk, X.shape[1]))
    y_dask = da.from_array(y, chunks=chunk)
    start = time.perf_counter()
    fit = solvers.newton(X_dask, y_dask, family)
    elapsed = time.perf_counter() - start
    reference = sm.GLM(y, X, family=sm_family).fit()
    table = pd.DataFrame({"daskglm": fit.coef, "statsmodels": reference.params}, index=names)
    table["abs diff"] = (table["daskglm"] - table["statsmodels"]).abs()
    print(f"\n== {title}: {len(y):,} rows in {X_dask.numblocks[0]} chunks ==")
    print(table.to_string(float_format=lambda v: f"{v: .8f}"))
    print(f"newton: {fit.n_iter} iterations, {fit.n_passes} passes over the data, "
          f"{elapsed:.2f} s, converged={fit.converged}; "
          f"largest difference {table['abs diff'].max():.2e}")


def main():
    rand = sm.datasets.randhie.load_pandas().data
    X = sm.add_constant(rand.drop(columns="mdvis")).to_numpy(float)
    names = ["const"] + [c for c in rand.columns if c != "mdvis"]
    compare("Poisson: doctor visits (randhie)", X, rand["mdvis"].to_numpy(float),
            daskglm.Poisson(), sm.families.Poisson(), names)

    fair = sm.datasets.fair.load_pandas().data
    y = (fair["affairs"] > 0).to_numpy(float)
    features = fair.drop(columns="affairs")
    X = sm.add_constant(features).to_numpy(float)
    compare("Logistic: any affair (fair)", X, y, daskglm.Logistic(), sm.families.Binomial(),
            ["const"] + list(features.columns))


if __name__ == "__main__":
    main()
