"""get_prediction: predictions with standard errors and intervals, as statsmodels."""

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import daskglm

from dask_counting import CountComputes
from glm_reference import CASES, frame, partitioned, reference_fit

COV_TYPES = ("nonrobust", "HC0", "cluster")


def _options(cov_type, n_rows):
    if cov_type != "cluster":
        return {}
    return {"cov_kwds": {"groups": (np.arange(n_rows) // 5) % 23}}


def _assert_prediction_matches(mine, theirs, alpha=0.1):
    """Our PredictionResults (computed) against statsmodels', row by row."""
    expected = theirs.summary_frame(alpha=alpha)
    got = mine.summary_frame(alpha=alpha)
    got = got.compute() if isinstance(got, dd.DataFrame) else got
    for column in ("predicted", "se", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(np.asarray(got[column]), np.asarray(expected[column]),
                                   rtol=1e-5, err_msg=column)
    delta = mine.conf_int(method="delta", alpha=alpha)
    delta = delta.compute() if isinstance(delta, da.Array) else delta
    np.testing.assert_allclose(delta, theirs.conf_int(method="delta", alpha=alpha), rtol=1e-5)


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_new_frames_through_the_formula_match_statsmodels(case, cov_type):
    family, sm_family, formula, _ = CASES[case]
    data = frame(case)
    options = _options(cov_type, len(data))
    ours = daskglm.glm(formula, partitioned(data, 4), family=family).fit(cov_type=cov_type,
                                                                          **options)
    reference = reference_fit(smf.glm(formula, data, family=sm_family), cov_type=cov_type,
                              **options)
    new = data.sample(min(400, len(data) // 2), random_state=5).sort_index()
    for which in ("mean", "linear"):
        theirs = reference.get_prediction(new, which=which)
        lazy = ours.get_prediction(dd.from_pandas(new, npartitions=3, sort=False), which=which)
        assert isinstance(lazy.predicted, dd.Series)
        _assert_prediction_matches(lazy, theirs)
        in_memory = ours.get_prediction(new, which=which)
        assert isinstance(in_memory.predicted, pd.Series)
        _assert_prediction_matches(in_memory, theirs)
    old_names = reference.get_prediction(new)                # which=None: predicted_mean
    mine = ours.get_prediction(new)
    np.testing.assert_allclose(mine.predicted_mean, old_names.predicted_mean, rtol=1e-6)
    np.testing.assert_allclose(mine.se_mean, old_names.se_mean, rtol=1e-5)
    np.testing.assert_allclose(mine.conf_int(), old_names.conf_int(), rtol=1e-5)


def test_in_sample_with_exposure_and_offset_match_statsmodels():
    family, sm_family, formula, _ = CASES["poisson"]
    data = frame("poisson")
    ours = daskglm.glm(formula, partitioned(data, 3), family=family, exposure="exposure",
                       offset="offset").fit(cov_type="HC0")
    reference = reference_fit(smf.glm(formula, data, family=sm_family,
                                      exposure=data["exposure"], offset=data["offset"]),
                              cov_type="HC0")
    in_sample = ours.get_prediction()
    assert isinstance(in_sample.predicted, da.Array)
    # statsmodels leaves the training offset out when exog is not given: pass it
    _assert_prediction_matches(in_sample, reference.get_prediction(
        data, exposure=data["exposure"], offset=data["offset"], which="mean"))
    np.testing.assert_allclose(in_sample.predicted.compute(), reference.fittedvalues, rtol=1e-6)
    new = data.iloc[::37]
    _assert_prediction_matches(
        ours.get_prediction(dd.from_pandas(new, npartitions=3, sort=False),
                            exposure="exposure", offset="offset"),
        reference.get_prediction(new, exposure=new["exposure"], offset=new["offset"],
                                 which="mean"))


@pytest.mark.parametrize("chunks", [None, 50])
def test_array_models_numpy_and_dask_match_statsmodels(chunks):
    data = sm.datasets.star98.load_pandas()
    y = data.endog["NABOVE"] / (data.endog["NABOVE"] + data.endog["NBELOW"])
    exog = sm.add_constant(data.exog.iloc[:, :5]).to_numpy()
    exog[:, 1:] = (exog[:, 1:] - exog[:, 1:].mean(0)) / exog[:, 1:].std(0)
    X = exog if chunks is None else da.from_array(exog, chunks=(chunks, -1))
    ours = daskglm.GLM(y.to_numpy(), X, family=daskglm.Binomial()).fit()
    reference = reference_fit(sm.GLM(y.to_numpy(), exog, family=sm.families.Binomial()))
    _assert_prediction_matches(ours.get_prediction(which="mean"),
                               reference.get_prediction(which="mean"))
    new = exog[:30] + 0.1
    new_input = new if chunks is None else da.from_array(new, chunks=(10, -1))
    _assert_prediction_matches(ours.get_prediction(new_input, which="linear"),
                               reference.get_prediction(new, which="linear"))


def test_prediction_is_lazy_and_one_pass():
    family, _, formula, _ = CASES["logistic"]
    data = frame("logistic")
    with dask.config.set(scheduler="threads"):
        ours = daskglm.glm(formula, partitioned(data, 4), family=family).fit()
        new = dd.from_pandas(data.iloc[:500], npartitions=4, sort=False)
        with CountComputes() as counter:
            prediction = ours.get_prediction(new)
            frame_ = prediction.summary_frame(alpha=0.2)
            assert isinstance(frame_, dd.DataFrame)
            in_sample = ours.get_prediction().summary_frame()
            assert isinstance(in_sample, dd.DataFrame)
        assert counter.count == 0
        with CountComputes() as counter:
            frame_.compute()
        assert counter.count == 1


def test_missing_values_are_nan_and_bad_input_is_refused():
    family, _, formula, _ = CASES["normal"]
    data = frame("normal")
    ours = daskglm.glm(formula, partitioned(data, 3), family=family).fit()
    new = data.iloc[:20].copy()
    new.loc[new.index[3], "value"] = np.nan
    table = ours.get_prediction(new).summary_frame()
    assert table.iloc[3].isna().all() and table.drop(new.index[3]).notna().all().all()
    with pytest.raises(ValueError, match="which must be"):
        ours.get_prediction(new, which="var")
    with pytest.raises(ValueError, match="alpha must be"):
        ours.get_prediction(new).summary_frame(alpha=2.0)
    with pytest.raises(ValueError, match="lacks column"):
        ours.get_prediction(new.drop(columns="value"))
    with pytest.raises(ValueError, match="exposure can only be used with the log link"):
        ours.get_prediction(new, exposure=np.ones(20))
