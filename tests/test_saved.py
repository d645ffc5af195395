"""Saved fits: the JSON document round-trips and predicts exactly as the results did."""

import json

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import daskglm
from daskglm.families import FAMILIES
from daskglm.frontend.saved import (
    FORMAT,
    VERSION,
    _family_document,
    _family_from,
    fit_document,
    load_fit,
    save_results,
)

FORMULA = ("y ~ center(x) + standardize(np.log(z)) + C(g, Treatment('b')) + h + C(k) + flag"
           " + z:g")


def _frame(n, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "z": rng.uniform(1.0, 3.0, n),
        "g": rng.choice(["a", "b", "c"], n),
        "h": pd.Categorical(rng.choice(["u", "v", "w"], n), categories=["w", "v", "u"]),
        "k": rng.integers(0, 3, n),
        "flag": rng.random(n) > 0.5,
        "years": rng.uniform(0.2, 2.0, n),
        "shift": rng.normal(scale=0.1, size=n),
    })
    eta = 0.2 + 0.3 * frame["x"] - 0.2 * (frame["g"] == "c") + np.log(frame["years"])
    frame["y"] = rng.poisson(np.exp(eta)).astype(float)
    return frame


@pytest.fixture(scope="module")
def fitted():
    train = dd.from_pandas(_frame(3_000, seed=0), npartitions=3)
    model = daskglm.glm(FORMULA, train, family=daskglm.Poisson(), exposure="years")
    return model.fit()


def test_round_trip_predicts_exactly_as_the_results(fitted, tmp_path):
    path = save_results(fitted, tmp_path / "fit.json")
    loaded = load_fit(path)
    new = _frame(500, seed=1)
    new.loc[new.index[:5], "x"] = np.nan          # missing values predict NaN in both
    for which in ("mean", "linear"):
        for options in ({}, {"exposure": "years"}, {"offset": "shift"}):
            expected = fitted.predict(new, which=which, **options)
            got = loaded.predict(new, which=which, **options)
            np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    lazy = dd.from_pandas(new, npartitions=4)
    expected = fitted.predict(lazy, exposure="years").compute()
    got = loaded.predict(lazy, exposure="years")
    assert isinstance(got, dd.Series)
    np.testing.assert_array_equal(got.compute().to_numpy(), expected.to_numpy())
    assert np.isnan(got.compute().to_numpy()[:5]).all()


def test_round_trip_keeps_the_estimates_and_statistics(fitted, tmp_path):
    loaded = load_fit(save_results(fitted, tmp_path / "fit.json"))
    pd.testing.assert_series_equal(loaded.params, fitted.params)
    pd.testing.assert_series_equal(loaded.bse, fitted.bse)
    pd.testing.assert_series_equal(loaded.pvalues, fitted.pvalues)
    pd.testing.assert_frame_equal(loaded.cov_params(), fitted.cov_params())
    for name in ("llf", "deviance", "aic", "bic", "pearson_chi2", "scale"):
        assert loaded.statistics[name] == getattr(fitted, name)
    assert loaded.statistics["nobs"] == fitted.nobs
    assert loaded.convergence["converged"] is True
    assert loaded.convergence["n_iter"] == fitted.n_iter
    assert loaded.family.name == "Poisson" and loaded.formula == FORMULA


def test_document_is_strict_json_with_the_documented_keys(fitted, tmp_path):
    text = save_results(fitted, tmp_path / "fit.json").read_text()

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    document = json.loads(text, parse_constant=refuse)
    assert document["format"] == FORMAT and document["version"] == VERSION
    assert document["family"] == {"name": "poisson", "link": "log", "params": {},
                                  "link_params": {}}
    assert document["training"] == {"exposure": "years"}
    factors = document["design"]["factors"]
    # levels learned over all partitions; the explicit categories keep their order
    assert factors["h"]["levels"] == ["w", "v", "u"]
    assert factors["C(k)"]["levels"] == [0, 1, 2]
    assert factors["flag"]["levels"] == [False, True]
    (center,) = factors["center(x)"]["transforms"].values()
    assert center["type"] == "center" and center["count"] == 3_000
    assert document["design"]["namespace"]["np"] == "numpy"
    assert list(document["params"]) == document["exog_names"] == list(fitted.params.index)
    assert document == fit_document(fitted)


def test_penalized_fit_saves_null_standard_errors(tmp_path):
    train = dd.from_pandas(_frame(2_000, seed=2), npartitions=2)
    model = daskglm.glm("y ~ x + C(g)", train, family="poisson")
    result = model.fit_regularized(daskglm.L1(0.01))
    path = save_results(result, tmp_path / "fit.json")
    document = json.loads(path.read_text())
    assert document["penalty"] == {"alpha": 0.01, "l1_ratio": 1.0}
    assert all(value is None for value in document["bse"].values())
    loaded = load_fit(path)
    assert loaded.bse.isna().all()
    pd.testing.assert_series_equal(loaded.params, result.params)
    new = _frame(50, seed=3)
    np.testing.assert_array_equal(loaded.predict(new).to_numpy(),
                                  result.predict(new).to_numpy())


def test_what_cannot_be_saved_is_refused(fitted, tmp_path):
    rng = np.random.default_rng(4)
    X = np.column_stack([np.ones(100), rng.normal(size=100)])
    y = rng.poisson(1.0, 100)
    array_result = daskglm.GLM(y, X, family=daskglm.Poisson()).fit()
    with pytest.raises(ValueError, match="formula model"):
        save_results(array_result, tmp_path / "a.json")

    def double(values):
        return 2 * values

    frame = _frame(300, seed=5)
    result = daskglm.glm("y ~ double(x)", frame, family="poisson").fit()
    with pytest.raises(ValueError, match="'double' from the Python session"):
        save_results(result, tmp_path / "b.json")


def test_unseen_level_in_new_data_is_an_error(fitted, tmp_path):
    loaded = load_fit(save_results(fitted, tmp_path / "fit.json"))
    new = _frame(20, seed=6)
    new.loc[new.index[0], "g"] = "zzz"
    with pytest.raises(ValueError, match="zzz"):
        loaded.predict(new)
    with pytest.raises(ValueError, match="which must be"):
        loaded.predict(_frame(20, seed=6), which="response")


@pytest.mark.parametrize("content, message", [
    ("not json", "not JSON"),
    ('{"format": "something-else"}', "not a daskglm saved fit"),
    (json.dumps({"format": FORMAT, "version": VERSION + 1}), "format version 2"),
    (json.dumps({"format": FORMAT, "version": 1, "formula": "y ~ x"}), "lacks the key 'family'"),
])
def test_bad_files_are_refused(tmp_path, content, message):
    path = tmp_path / "fit.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_fit(path)
    with pytest.raises(FileNotFoundError):
        load_fit(tmp_path / "absent.json")


def test_inconsistent_document_is_refused(fitted, tmp_path):
    document = fit_document(fitted)
    document["design"]["factors"]["C(k)"]["levels"] = [0, 1]
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="inconsistent"):
        load_fit(path)


def test_a_file_without_family_parameters_still_loads(fitted, tmp_path):
    """Files written before families had parameters name only family and link."""
    document = fit_document(fitted)
    del document["family"]["params"], document["family"]["link_params"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    loaded = load_fit(path)
    assert loaded.family == daskglm.Poisson()
    pd.testing.assert_series_equal(loaded.params, fitted.params)


class _DispersedPoisson(daskglm.Poisson):
    """A Poisson family with a (here inert) parameter, to test that saved
    fits keep parameters."""

    name = "DispersedPoisson"
    param_names = ("dispersion",)

    def __init__(self, link=None, dispersion=1.0):
        super().__init__(link=link)
        self.dispersion = dispersion


@pytest.mark.parametrize("family", [
    daskglm.Poisson(), daskglm.Logistic(link="probit"), daskglm.Normal(link="log"),
    _DispersedPoisson(dispersion=2.5), _DispersedPoisson(link="sqrt", dispersion=0.5),
], ids=repr)
def test_family_and_its_parameters_round_trip(family, monkeypatch):
    monkeypatch.setitem(FAMILIES, "dispersedpoisson", _DispersedPoisson)
    restored = _family_from(json.loads(json.dumps(_family_document(family))))
    assert restored == family and type(restored) is type(family)
    assert restored.params == family.params and restored.link == family.link
    assert hash(restored) == hash(family)
    if family.params:
        other = _DispersedPoisson(link=family.link, dispersion=family.params[0] + 1)
        assert other != family and repr(other) != repr(family)
