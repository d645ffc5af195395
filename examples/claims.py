"""A seeded, realistic insurance-claims dataset with a known Poisson model.

Each policy has the driver's age, one of 40 regions, a vehicle type and the
years it was exposed; its claim count is Poisson with mean
``years * exp(intercept + age effect + region effect + vehicle effect)``.
:func:`write_claims` writes it as several parquet files and returns the
true coefficients, named as patsy names the columns of
``claims ~ age + C(region) + C(vehicle)``.

With ``zones``, each policy also gets one column per entry, ``zone`` (the
first) and ``zone<levels>`` (the others), holding one of that many zones
(``Z00001``, ...), drawn from their own seeded stream: they carry no effect,
so the true model and the other columns are the same with or without them
(benchmarks fit ``claims ~ age + C(region) + C(vehicle) + C(zone)`` on them).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

REGIONS = [f"R{i:02d}" for i in range(1, 41)]
VEHICLES = ["car", "motorcycle", "suv", "truck", "van"]  # sorted: "car" is the baseline


def true_coefficients(seed=2024) -> dict:
    """The model's coefficients, keyed by patsy's column names."""
    rng = np.random.default_rng(seed)
    coef = {"Intercept": -1.7}
    for region, effect in zip(REGIONS[1:], rng.normal(0.0, 0.25, len(REGIONS) - 1), strict=True):
        coef[f"C(region)[T.{region}]"] = round(float(effect), 4)
    for vehicle, effect in zip(VEHICLES[1:], [0.45, 0.12, 0.30, -0.08], strict=True):
        coef[f"C(vehicle)[T.{vehicle}]"] = effect
    coef["age"] = -0.012
    return coef


def _policies(rng, n_rows, coef) -> pd.DataFrame:
    age = rng.integers(18, 86, n_rows)
    region = rng.choice(len(REGIONS), n_rows, p=_region_shares(rng))
    vehicle = rng.choice(len(VEHICLES), n_rows, p=[0.55, 0.05, 0.2, 0.08, 0.12])
    years = rng.uniform(0.1, 1.0, n_rows).round(3)
    region_effect = np.array([0.0] + [coef[f"C(region)[T.{r}]"] for r in REGIONS[1:]])
    vehicle_effect = np.array([0.0] + [coef[f"C(vehicle)[T.{v}]"] for v in VEHICLES[1:]])
    eta = (coef["Intercept"] + coef["age"] * age + region_effect[region]
           + vehicle_effect[vehicle] + np.log(years))
    return pd.DataFrame({
        "age": age.astype(np.int16),
        "region": pd.Categorical.from_codes(region, REGIONS),
        "vehicle": pd.Categorical.from_codes(vehicle, VEHICLES),
        "years": years,
        "claims": rng.poisson(np.exp(eta)).astype(np.int16),
    })


def _region_shares(rng):
    weights = rng.gamma(2.0, 1.0, len(REGIONS))
    return weights / weights.sum()


def zone_columns(rng, n_rows, zones) -> dict:
    """``{name: categorical}``: one column of zones per entry of ``zones``."""
    columns = {}
    for index, levels in enumerate(zones):
        names = [f"Z{i:05d}" for i in range(1, levels + 1)]
        name = "zone" if index == 0 else f"zone{levels}"
        columns[name] = pd.Categorical.from_codes(rng.integers(0, levels, n_rows), names)
    return columns


def write_claims(path, n_rows=3_000_000, n_files=8, seed=2024, zones=()) -> dict:
    """Write ``n_rows`` policies as ``n_files`` parquet files under ``path``.

    ``zones``: the levels of each zone column to add (see the module's notes).
    Returns the true coefficients; they are also saved as ``truth.json``
    beside the data.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    coef = true_coefficients(seed)
    rows_per_file = np.diff(np.linspace(0, n_rows, n_files + 1).astype(int))
    for index, rows in enumerate(rows_per_file):
        rng = np.random.default_rng([seed, index])
        policies = _policies(rng, rows, coef)
        zone_rng = np.random.default_rng([seed, index, 1])
        policies = policies.assign(**zone_columns(zone_rng, rows, zones))
        policies.to_parquet(path / f"part-{index:03d}.parquet", index=False)
    (path.parent / f"{path.name}-truth.json").write_text(json.dumps(coef, indent=1))
    return coef
