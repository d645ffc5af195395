"""Covariance types in one place, and the statistics pass's named layout."""

import numpy as np
import pandas as pd
import pytest

import daskglm
from daskglm.inference import covariance
from daskglm.passes.statistics import FlatLayout, StatisticsRequest, statistics_layout


def test_flat_layout_round_trips_by_name():
    layout = FlatLayout((("a", ()), ("v", (3,)), ("m", (2, 2))))
    values = {"a": 1.5, "v": np.arange(3.0), "m": np.array([[1.0, 2.0], [3.0, 4.0]])}
    flat = layout.pack(values)
    assert flat.shape == (layout.size,) == (8,)
    back = layout.unpack(flat)
    assert back["a"] == 1.5
    np.testing.assert_array_equal(back["v"], values["v"])
    np.testing.assert_array_equal(back["m"], values["m"])
    with pytest.raises(ValueError, match="v has shape"):
        layout.pack({**values, "v": np.arange(4.0)})
    with pytest.raises(ValueError, match="flat vector of 8"):
        layout.unpack(flat[:-1])


def test_statistics_layout_holds_only_what_is_requested():
    names = [name for name, _ in statistics_layout(3, StatisticsRequest()).fields]
    assert "meat" not in names and "group_scores" not in names
    request = StatisticsRequest(meat=True, observed_information=True, n_groups=4)
    shapes = dict(statistics_layout(3, request).fields)
    assert shapes["meat"] == shapes["observed_information"] == (3, 3)
    assert shapes["group_scores"] == (4, 3)


@pytest.mark.parametrize("given, name", [("hc1", "HC1"), ("NonRobust", "nonrobust"),
                                         ("CLUSTER", "cluster")])
def test_cov_type_is_spelled_as_statsmodels(given, name):
    options = {"groups": [0, 1]} if name == "cluster" else None
    checked, kwds = covariance.check_cov_type(given, options)
    assert checked == name
    if name == "cluster":
        assert kwds == {"groups": [0, 1], "use_correction": True}


@pytest.mark.parametrize("cov_type, cov_kwds, exception, message", [
    ("HC9", None, ValueError, "cov_type must be one of nonrobust, HC0, HC1, cluster"),
    (3, None, TypeError, "cov_type must be a string"),
    ("HC0", {"groups": [1]}, ValueError, "takes no cov_kwds"),
    ("cluster", {}, ValueError, r"needs cov_kwds=\{'groups'"),
    ("cluster", {"groups": [1], "other": 1}, ValueError, "needs cov_kwds"),
    ("cluster", [1, 2], TypeError, "cov_kwds must be a dict"),
])
def test_bad_cov_type_or_kwds_are_refused(cov_type, cov_kwds, exception, message):
    with pytest.raises(exception, match=message):
        covariance.check_cov_type(cov_type, cov_kwds)


def test_a_new_covariance_type_is_one_registry_entry(monkeypatch):
    """A type written outside the module (HC0 with a factor 2) works in fit()."""

    class Doubled(covariance.HeteroscedasticityRobust):
        def meat(self, statistics, *, nobs, options):
            return 2.0 * statistics.meat

    monkeypatch.setitem(covariance.COV_TYPES, "doubled", Doubled("doubled"))
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=400)})
    frame["y"] = rng.poisson(np.exp(0.3 + 0.5 * frame["x"])).astype(float)
    model = daskglm.glm("y ~ x", frame, family="poisson")
    hc0 = model.fit(cov_type="HC0")
    doubled = model.fit(cov_type="doubled")
    np.testing.assert_allclose(doubled.cov_params(), 2.0 * hc0.cov_params(), rtol=1e-12)
    assert doubled.cov_kwds["description"].endswith("(doubled)")
