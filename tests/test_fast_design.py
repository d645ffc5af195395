"""The column-wise design builder against ``patsy.build_design_matrices``, exactly."""

import decimal

import dask.dataframe as dd
import numpy as np
import pandas as pd
import patsy
import pytest

from daskglm.families import Poisson
from daskglm.frontend import fast_design
from daskglm.frontend.fast_design import _build_columnwise, _Unsupported, build_design_block
from daskglm.frontend.formula import design_partition, learn_formula
from daskglm.frontend.prediction import predict_partition


def make_frame(n=1200, seed=1):
    """Every kind of column a formula meets: pandas strings, object strings, a
    pandas categorical with an unused category, booleans, integers, floats;
    sorted by ``g`` so that row ranges lack some of its levels."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["alpha", "beta", "delta", "gamma", "omega"], n)
    data = pd.DataFrame({
        "g": pd.Series(g, dtype="str"),
        "h": pd.Series(rng.choice(["u", "v", "w"], n), dtype=object),
        "c": pd.Categorical(rng.choice(["lo", "mid", "hi"], n),
                            categories=["lo", "mid", "hi", "never"]),
        "b": rng.random(n) > 0.4,
        "k": rng.integers(1, 5, n),
        "kf": rng.integers(1, 4, n).astype(float),
        "x": rng.normal(size=n),
        "z": rng.uniform(0.5, 3.0, n),
        "small": rng.integers(-3, 4, n).astype(np.int16),
    })
    data["y"] = rng.poisson(np.exp(0.3 * data["x"])).astype(float)
    return data.sort_values("g", kind="stable").reset_index(drop=True)


def make_frame_with_missing(seed=2):
    """Missing values of every kind patsy counts as missing."""
    data = make_frame(seed=seed)
    rng = np.random.default_rng(seed)
    rows = lambda: rng.choice(len(data), 40, replace=False)  # noqa: E731
    data.loc[rows(), "x"] = np.nan
    data.loc[rows(), "g"] = np.nan
    data.loc[rows(), "g"] = "nan"                   # a string patsy reads as NaN
    data["c"] = data["c"].astype(object)
    data.loc[rows(), "c"] = None
    data["c"] = pd.Categorical(data["c"], categories=["lo", "mid", "hi", "never"])
    h = data["h"].to_numpy(copy=True)
    h[rows()] = None
    h[rows()] = np.nan
    h[rows()[:5]] = decimal.Decimal("NaN")
    data["h"] = pd.Series(h, dtype=object)
    data.loc[rows(), "kf"] = np.nan
    return data


FORMULAS = [
    "y ~ x + C(g) + c + b + C(k) + h",
    "y ~ g:c + c:b + C(kf)",                                  # cat:cat
    "y ~ C(g):x + x:z + b:small",                             # cat:num, num:num
    "y ~ C(g) + c - 1",                                       # full-rank coding
    "y ~ g:c - 1",
    "y ~ C(g, Treatment(reference='beta')) + C(c, Sum) + C(k, Helmert) + C(kf, Poly)",
    "y ~ C(h, Diff) * x + C(g, Sum(omit='gamma'))",
    "np.log(y + 1) ~ np.log(z) + center(x) + standardize(z) + I(x ** 2) + scale(z, ddof=1)",
    "y ~ g * b * x",                                          # three-way interactions
    "y ~ C(k, levels=[4, 3, 2, 1]) + C(c, levels=['hi', 'lo', 'mid', 'never'])",
    "y ~ C(b, levels=[True, False]) + C(np.asarray(g, dtype=str))",
    "y ~ np.column_stack([x, z]) + C(g):np.column_stack([x, small])",
    "y ~ 1",
    "y ~ 0 + x",
    "y ~ I(small * 2) + small:k + np.where(b, x, z)",
]


def patsy_infos(formula, data):
    """patsy's own DesignInfo objects, learned on the whole frame."""
    y, X = patsy.dmatrices(formula, data, NA_action="drop")
    return [y.design_info, X.design_info]


def patsy_block(infos, data, NA_action="raise"):
    return np.column_stack(patsy.build_design_matrices(infos, data, NA_action=NA_action))


def row_ranges(data, n_parts=4):
    """Row ranges of ``data`` (each lacks some levels of ``g``), with their index."""
    cuts = np.linspace(0, len(data), n_parts + 1).astype(int)
    return [data.iloc[start:stop] for start, stop in zip(cuts[:-1], cuts[1:], strict=True)]


@pytest.mark.parametrize("formula", FORMULAS)
def test_columnwise_equals_patsy(formula):
    data = make_frame()
    infos = patsy_infos(formula, data)
    np.testing.assert_array_equal(_build_columnwise(infos, data, "raise", 0),
                                  patsy_block(infos, data))
    for part in row_ranges(data) + [data.iloc[::7], data.iloc[:1]]:
        np.testing.assert_array_equal(_build_columnwise(infos, part, "raise", 0),
                                      patsy_block(infos, part))


def test_rows_combined_a_range_at_a_time(monkeypatch):
    monkeypatch.setattr(fast_design, "_BLOCK_BYTES", 1024)      # ranges of 512 rows
    data = make_frame()
    for formula in FORMULAS:
        infos = patsy_infos(formula, data)
        assert len(fast_design._row_ranges(len(data), infos[1])) == 3
        np.testing.assert_array_equal(_build_columnwise(infos, data, "raise", 0),
                                      patsy_block(infos, data))


@pytest.mark.parametrize("formula", [
    "y ~ x + C(g) + c + h",
    "y ~ g:c + h:x + C(kf)",
    "y ~ C(h, Sum) * c + np.log(z) - 1",
])
def test_missing_rows_dropped_as_patsy_drops_them(formula):
    data = make_frame_with_missing()
    infos = patsy_infos(formula, data)
    for part in [data] + row_ranges(data):
        expected = patsy_block(infos, part, NA_action="drop")
        assert len(expected) < len(part)
        np.testing.assert_array_equal(_build_columnwise(infos, part, "drop", 0), expected)


def test_trailing_columns_are_left_for_the_caller():
    data = make_frame()
    infos = patsy_infos("y ~ x + C(g)", data)
    block = build_design_block(infos, data, n_trailing=2)
    width = sum(len(info.column_names) for info in infos)
    assert block.shape == (len(data), width + 2)
    np.testing.assert_array_equal(block[:, :width], patsy_block(infos, data))


def outcome(build):
    """The built array, or the type and message of the error raised."""
    try:
        return np.asarray(build())
    except Exception as error:   # noqa: BLE001 -- comparing whatever patsy does
        return type(error), str(error)


def assert_same_outcome(infos, data, NA_action="raise"):
    ours = outcome(lambda: build_design_block(infos, data, NA_action=NA_action))
    reference = outcome(lambda: patsy_block(infos, data, NA_action))
    if isinstance(reference, tuple):
        assert ours == reference
    else:
        np.testing.assert_array_equal(ours, reference)
    return ours


def test_errors_are_patsys():
    data = make_frame()
    infos = patsy_infos("y ~ x + C(g) + c + h", data)
    unseen = data.copy()
    unseen.loc[5, "g"] = "zeta"
    error = assert_same_outcome(infos, unseen)
    assert error[0] is patsy.PatsyError and "'zeta'" in error[1]
    other_categories = data.assign(c=data["c"].cat.remove_unused_categories())
    assert assert_same_outcome(infos, other_categories)[0] is patsy.PatsyError
    with_nan = data.copy()
    with_nan.loc[3, "x"] = np.nan
    assert "missing values" in assert_same_outcome(infos, with_nan)[1]
    assert_same_outcome(infos, with_nan, NA_action="drop")


def test_values_patsy_does_not_count_as_missing_go_to_patsy():
    data = make_frame()
    infos = patsy_infos("y ~ x + C(h)", data)
    with_pd_na = data.copy()
    with_pd_na.loc[4, "h"] = pd.NA                  # pandas' missing, not patsy's
    with pytest.raises(_Unsupported):
        _build_columnwise(infos, with_pd_na, "drop", 0)
    assert_same_outcome(infos, with_pd_na, NA_action="drop")


@pytest.mark.parametrize("formula, change", [
    ("y ~ x", lambda d: d.assign(x=d["x"].astype("Float64"))),       # nullable numbers
    ("y ~ C(h)", lambda d: d.assign(h=d["h"].map(lambda v: (v,)))),  # tuples
    ("y ~ list(x)", lambda d: d),                                    # not an array
])
def test_uncovered_values_give_patsys_result(formula, change):
    data = make_frame()
    changed = change(data)
    infos = patsy_infos(formula, changed)
    with pytest.raises(_Unsupported):
        _build_columnwise(infos, changed, "raise", 0)
    assert_same_outcome(infos, changed)


@pytest.mark.parametrize("formula", [
    "y ~ x + C(g) + c + b + C(k) + h",
    "y ~ C(g, Sum):x + c:b + center(x) - 1",
])
def test_partition_builds_equal_patsy_with_the_learned_design(formula):
    data = make_frame()
    ddf = dd.from_pandas(data, npartitions=3, sort=False)
    learned = learn_formula(formula, ddf)
    recipe = learned._recipe
    for part, count in zip(ddf.partitions, learned.row_counts, strict=True):
        frame = recipe.prepare(part.compute())
        expected = patsy_block(recipe.design_infos(), frame)
        np.testing.assert_array_equal(_build_columnwise(recipe.design_infos(), frame,
                                                        "raise", 0), expected)
        np.testing.assert_array_equal(design_partition(part.compute(), recipe, count),
                                      expected)


def test_predictions_use_the_same_design():
    data = make_frame()
    learned = learn_formula("y ~ x + C(g) + c:b", data, extras={"exposure": "z"})
    recipe = learned._recipe
    coef = np.linspace(-0.3, 0.3, len(learned.exog_names))
    new = data.iloc[100:700]
    predicted = predict_partition(new, recipe, coef, Poisson(), "linear")
    (rhs,) = patsy.build_design_matrices([recipe.design_infos()[1]],
                                         recipe.prepare(new), NA_action="raise")
    np.testing.assert_array_equal(predicted.to_numpy(),
                                  np.asarray(rhs) @ coef + np.log(new["z"].to_numpy()))
    assert predicted.index.equals(new.index)


def test_learned_levels_equal_patsys():
    data = make_frame_with_missing()
    data["flag"] = data["b"].astype(object)
    data.loc[[0, 5], "flag"] = None
    formula = "y ~ C(g) + C(h) + b + C(k) + C(kf) + C(small) + flag"
    learned = learn_formula(formula, dd.from_pandas(data, npartitions=4, sort=False))
    reference = patsy.dmatrix(formula.split("~")[1], data)
    assert learned.exog_names == reference.design_info.column_names
