"""From a formula on a dask dataframe to statsmodels' summary, and predictions.

A Poisson model of claim counts with exposure, categorical regions learned
over every partition, and a centred age::

    python examples/formula_to_summary.py
"""

import dask.dataframe as dd
import numpy as np
import pandas as pd

import daskglm

FORMULA = "claims ~ center(age) + C(region) + C(vehicle)"


def make_policies(n_rows, n_partitions=8, seed=0) -> dd.DataFrame:
    """Seeded policies with a claim count drawn from a known Poisson model."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 86, n_rows)
    region = rng.choice(["north", "south", "east", "west", "islands"], n_rows,
                        p=[0.3, 0.3, 0.2, 0.15, 0.05])
    vehicle = rng.choice(["car", "suv", "van"], n_rows, p=[0.6, 0.25, 0.15])
    years = rng.uniform(0.1, 1.0, n_rows)
    eta = (-1.6 - 0.012 * (age - 50) + 0.25 * (region == "islands") - 0.1 * (region == "west")
           + 0.3 * (vehicle == "van") + np.log(years))
    frame = pd.DataFrame({"age": age, "region": region, "vehicle": vehicle, "years": years,
                          "claims": rng.poisson(np.exp(eta))})
    return dd.from_pandas(frame, npartitions=n_partitions)


def main(n_rows=400_000, n_partitions=8, seed=0):
    """Fit, print the summary and a few predictions; return the results."""
    policies = make_policies(n_rows, n_partitions, seed)
    model = daskglm.glm(FORMULA, policies, family=daskglm.Poisson(), exposure="years")
    result = model.fit()                       # Newton: one pass over the data per iteration
    print(result.summary())
    print(f"\nAIC {result.aic:.1f}, deviance {result.deviance:.1f} on {result.df_resid} df")
    new_policies = pd.DataFrame({"age": [25, 50, 75], "region": ["north", "islands", "west"],
                                 "vehicle": ["car", "van", "suv"], "years": [1.0, 1.0, 0.5]})
    expected = result.predict(new_policies, exposure="years")
    print("\nexpected claims of three new policies:")
    print(new_policies.assign(expected_claims=expected.round(4)).to_string(index=False))
    return result


if __name__ == "__main__":
    main()
