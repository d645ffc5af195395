"""The formula front end: patsy's design, learned over every partition."""

import pickle

import cloudpickle
import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import patsy
import pytest

from daskglm.frontend.formula import learn_formula
from daskglm.frontend.formula_learning import learn_partition
from daskglm.frontend.transforms import Center, Standardize

from dask_counting import CountComputes


def make_frame(n=600, seed=0):
    """Strings, a pandas categorical with an unused category, booleans, integers
    and floats, sorted by the string column (partitions hold few of its levels)."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({
        "g": rng.choice(["alpha", "beta", "delta", "gamma", "omega"], n),
        "c": pd.Categorical(rng.choice(["lo", "mid", "hi"], n),
                            categories=["lo", "mid", "hi", "never"]),
        "b": rng.random(n) > 0.4,
        "k": rng.integers(1, 5, n),
        "x": rng.normal(size=n),
        "z": rng.uniform(0.5, 3.0, n),
    })
    data["y"] = rng.poisson(np.exp(0.3 * data["x"])).astype(float)
    return data.sort_values("g", kind="stable").reset_index(drop=True)


FORMULAS = [
    "y ~ x + np.log(z) + C(g) + c + b + C(k, Treatment(3))",
    "y ~ center(x) + standardize(z) + g:x + I(x ** 2) - 1",
    "np.log1p(y) ~ C(g, Sum) * b + scale(z, ddof=1)",
]


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("npartitions", [1, 3, 7])
def test_design_equals_patsy_on_the_whole_frame(formula, npartitions):
    data = make_frame()
    ddf = dd.from_pandas(data, npartitions=npartitions, sort=False)
    with CountComputes() as counter:
        learned = learn_formula(formula, ddf)
        design = learned.design()
    assert counter.count == 1          # one pass learns the formula; building is lazy
    y_ref, X_ref = patsy.dmatrices(formula, data)
    assert learned.exog_names == X_ref.design_info.column_names
    assert learned.endog_name == y_ref.design_info.column_names[0]
    X = design["X"]
    assert X.chunks[0] == learned.row_counts == tuple(ddf.map_partitions(len).compute())
    assert X.numblocks[1] == 1
    np.testing.assert_allclose(X.compute(), np.asarray(X_ref), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(design["y"].compute(), np.asarray(y_ref)[:, 0], rtol=1e-14)


def test_partitions_holding_some_levels_still_get_every_column():
    data = make_frame()
    ddf = dd.from_pandas(data, npartitions=5, sort=False)
    levels_per_partition = ddf["g"].map_partitions(lambda s: s.nunique()).compute()
    assert levels_per_partition.min() < data["g"].nunique()
    learned = learn_formula("y ~ C(g)", ddf)
    blocks = learned.design()["X"].to_delayed().ravel()
    for block in dask.compute(*blocks):
        assert block.shape[1] == data["g"].nunique()


def test_learning_moves_only_levels_and_sums():
    data = pd.concat([make_frame(seed=s) for s in range(30)], ignore_index=True)  # 18,000 rows
    learned = learn_formula("y ~ C(g) + center(x) + standardize(z) + c", data)
    report = learn_partition(data, learned._recipe)
    assert len(pickle.dumps(report)) < 6_000


def test_categories_dask_does_not_know_are_merged_like_pandas():
    data = make_frame()
    ddf = dd.from_pandas(data, npartitions=4, sort=False)
    ddf["g"] = ddf["g"].astype("category")           # per-partition categories
    assert not ddf["g"].cat.known
    learned = learn_formula("y ~ x + g", ddf)
    whole = data.assign(g=data["g"].astype("category"))
    X_ref = patsy.dmatrix("x + g", whole)
    assert learned.exog_names == X_ref.design_info.column_names
    np.testing.assert_array_equal(learned.design()["X"].compute(), np.asarray(X_ref))


def test_missing_rows_dropped_in_every_term_and_extra_column():
    data = make_frame()
    data.loc[[3, 400], "x"] = np.nan
    data["g"] = data["g"].astype(object)
    data.loc[[10, 590], "g"] = None
    data.loc[[20], "y"] = np.nan
    data["w"] = 1.0
    data.loc[[30, 31], "w"] = np.nan
    ddf = dd.from_pandas(data, npartitions=4, sort=False)
    learned = learn_formula("y ~ x + C(g)", ddf, extras={"freq_weights": "w"})
    design = learned.design()
    keep = data[["x", "g", "y", "w"]].notna().all(axis=1)
    y_ref, X_ref = patsy.dmatrices("y ~ x + C(g)", data[keep])
    assert sum(learned.row_counts) == keep.sum() == len(data) - 7
    np.testing.assert_allclose(design["X"].compute(), np.asarray(X_ref))
    np.testing.assert_array_equal(design["freq_weights"].compute(), np.ones(keep.sum()))
    with pytest.raises(ValueError, match=r"'x' \(2 rows\), 'C\(g\)' \(2 rows\).*"
                                         r"'freq_weights' \(2 rows\)"):
        learn_formula("y ~ x + C(g)", ddf, extras={"freq_weights": "w"}, missing="raise")


def test_partition_with_no_complete_row():
    data = make_frame(n=90)
    data.loc[:29, "x"] = np.nan
    learned = learn_formula("y ~ x + C(g)", dd.from_pandas(data, npartitions=3, sort=False))
    assert learned.row_counts[0] == 0
    X = learned.design()["X"].compute()
    # levels come from every row, also those dropped for a missing x (as in patsy)
    np.testing.assert_allclose(X, np.asarray(patsy.dmatrix("x + C(g)", data)))


def test_names_that_do_not_exist_fail_naming_them():
    ddf = dd.from_pandas(make_frame(), npartitions=2)
    with pytest.raises(ValueError, match=r"refers to 'xx' \(in 'np.log\(xx\)'\)"):
        learn_formula("y ~ x + np.log(xx)", ddf)
    with pytest.raises(ValueError, match=r"refers to the column 'my col'"):
        learn_formula('y ~ x + Q("my col")', ddf)
    renamed = ddf.rename(columns={"z": "my col"})
    learned = learn_formula('y ~ x + Q("my col")', renamed)
    assert learned.exog_names == ["Intercept", "x", 'Q("my col")']


def test_functions_from_the_callers_scope():
    def shifted(values, by):
        return values + by

    offset_by = 2.5  # noqa: F841 (the formula reads it from this scope)
    learned = learn_formula("y ~ shifted(x, offset_by)", make_frame())
    X = learned.design()["X"].compute()
    np.testing.assert_allclose(X[:, 1], make_frame()["x"] + 2.5)


def test_stateful_transforms_that_cannot_merge_are_refused():
    ddf = dd.from_pandas(make_frame(), npartitions=2)
    with pytest.raises(ValueError, match=r"several passes"):
        learn_formula("y ~ center(standardize(x))", ddf)
    with pytest.raises(ValueError, match=r"BS .*cannot be learned over partitions"):
        learn_formula("y ~ bs(x, df=4)", ddf)


def test_transform_of_a_column_with_missing_values_is_an_error():
    data = make_frame()
    data.loc[5, "z"] = np.nan
    with pytest.raises(ValueError, match=r"'standardize\(z\)' is undefined"):
        learn_formula("y ~ standardize(z)", dd.from_pandas(data, npartitions=3))


def test_response_must_be_one_numeric_column():
    data = make_frame()
    with pytest.raises(ValueError, match="response .* must be one numeric column"):
        learn_formula("b ~ x", data)


@pytest.mark.parametrize("ddof", [0, 1])
def test_merged_transforms_equal_patsy(ddof):
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 2.0, size=(1000, 2))
    cuts = np.sort(rng.choice(np.arange(1, 1000), size=6, replace=False))
    pieces = np.split(x, cuts)
    centers, scalers = [], []
    for piece in pieces:
        center, scaler = Center(), Standardize()
        center.memorize_chunk(piece)
        scaler.memorize_chunk(piece, ddof=ddof)
        centers.append(center)
        scalers.append(scaler)
    np.testing.assert_allclose(Center.merge(centers).transform(x), patsy.center(x),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Standardize.merge(scalers).transform(x, ddof=ddof),
                               patsy.standardize(x, ddof=ddof), rtol=1e-12, atol=1e-12)


def test_learned_formula_survives_pickling():
    learned = learn_formula("y ~ center(x) + C(g, Treatment('omega')) + c", make_frame())
    recipe = cloudpickle.loads(cloudpickle.dumps(learned._recipe))
    assert recipe.design_infos()[1].column_names == learned.exog_names
