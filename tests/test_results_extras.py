"""Anscombe residuals, summary2, get_distribution, remove_data and save/load."""

import copy as copy_module
import io
import pickle

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import daskglm

from dask_counting import CountComputes
from glm_reference import CASES, reference_fit


@pytest.fixture(scope="module")
def fits(weighted_formula_fits):
    return weighted_formula_fits("HC0")


@pytest.mark.parametrize("case", sorted(CASES))
def test_anscombe_residuals_match_statsmodels(fits, case):
    ours, reference, _ = fits[case]
    for name in ("resid_anscombe", "resid_anscombe_scaled", "resid_anscombe_unscaled"):
        values = getattr(ours, name)
        assert isinstance(values, da.Array)
        expected = np.asarray(getattr(reference, name))
        np.testing.assert_allclose(values.compute(), expected, rtol=1e-6,
                                   atol=1e-7 * np.abs(expected).max(), err_msg=name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_summary2_is_statsmodels_table(fits, case):
    ours, reference, _ = fits[case]
    mine, theirs = ours.summary2(alpha=0.1), reference.summary2(alpha=0.1)
    pd.testing.assert_frame_equal(mine.tables[1], theirs.tables[1], rtol=1e-4)
    text = mine.as_text()
    info = mine.tables[0].to_numpy().ravel().tolist()
    assert reference.family.__class__.__name__ in info
    for key in ("AIC:", "Deviance:", "Scale:"):
        assert key in text


@pytest.mark.parametrize("case", sorted(CASES))
def test_get_distribution_matches_statsmodels(fits, case):
    ours, reference, data = fits[case]
    new = data.iloc[:50]
    # statsmodels' get_distribution(exog=frame) skips the formula: build it from its predict
    expected = reference.family.get_distribution(reference.predict(new).to_numpy(),
                                                 reference.scale, var_weights=1.0)
    mine = ours.get_distribution(new)
    np.testing.assert_allclose(mine.mean(), expected.mean(), rtol=1e-6)
    np.testing.assert_allclose(mine.var(), expected.var(), rtol=1e-6)
    lazy = ours.get_distribution()
    values = reference.model.endog
    expected = reference.get_distribution()
    np.testing.assert_allclose(lazy.mean().compute(), expected.mean(), rtol=1e-6)
    y = da.from_array(values, chunks=(ours._data_design().X.chunks[0],))
    np.testing.assert_allclose(lazy.cdf(y).compute(), expected.cdf(values), rtol=1e-6,
                               atol=1e-12)
    draws = lazy.rvs(random_state=3).compute()
    assert draws.shape == values.shape
    np.testing.assert_array_equal(draws, lazy.rvs(random_state=3).compute())


def test_get_distribution_is_lazy_for_dask_data(fits):
    ours, _, _ = fits["poisson"]
    with CountComputes() as counter:
        distribution = ours.get_distribution()
        distribution.mean()
    assert counter.count == 0


def test_remove_data_keeps_statistics_and_prediction_on_new_data(fits):
    ours, reference, data = fits["poisson"]
    copy = copy_module.copy(ours)                  # the fixture's results stay whole
    copy.remove_data()
    assert copy._design is None and ours._design is not None
    np.testing.assert_allclose(copy.bse, reference.bse, rtol=1e-5)
    np.testing.assert_allclose(copy.predict(data.iloc[:30]), reference.predict(data.iloc[:30]),
                               rtol=1e-6)
    frame_ = copy.get_prediction(data.iloc[:30]).summary_frame()
    np.testing.assert_allclose(frame_["se"], reference.get_prediction(
        data.iloc[:30], which="mean").summary_frame()["se"], rtol=1e-5)
    for needs_rows in (lambda: copy.resid_pearson, lambda: copy.get_influence(),
                       lambda: copy.predict(), lambda: copy.score_test(np.ones((3, 1)))):
        with pytest.raises(ValueError, match="data"):
            needs_rows()
    assert ours.model._formula_data is not None       # the fitted model keeps its data


def test_save_and_load_leave_the_rows_out_unless_asked(fits, tmp_path):
    ours, reference, data = fits["logistic"]
    path = tmp_path / "fit.pickle"
    ours.save(path)
    loaded = daskglm.GLMResults.load(path)
    assert loaded._design is None and ours._design is not None
    assert path.stat().st_size < 200_000
    np.testing.assert_allclose(loaded.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(loaded.cov_params(), reference.cov_params(), rtol=1e-5)
    np.testing.assert_allclose(loaded.t_test("Intercept = 0").pvalue,
                               reference.t_test("Intercept = 0").pvalue, rtol=1e-5)
    np.testing.assert_allclose(loaded.predict(data.iloc[:20]), reference.predict(data.iloc[:20]),
                               rtol=1e-6)
    buffer = io.BytesIO()
    ours.save(buffer, remove_data=False)
    buffer.seek(0)
    whole = daskglm.GLMResults.load(buffer)
    np.testing.assert_allclose(whole.resid_deviance.compute(), reference.resid_deviance,
                               rtol=1e-6, atol=1e-9)
    other = tmp_path / "other.pickle"
    other.write_bytes(pickle.dumps({"not": "results"}))
    with pytest.raises(TypeError, match="not GLMResults"):
        daskglm.GLMResults.load(other)


def test_array_model_save_load_and_distribution_in_memory(tmp_path):
    data = sm.datasets.cpunish.load_pandas()
    exog = sm.add_constant(data.exog[["INCOME", "SOUTH"]]).to_numpy()
    exog[:, 1] = (exog[:, 1] - exog[:, 1].mean()) / exog[:, 1].std()
    y = data.endog.to_numpy()
    ours = daskglm.GLM(y, exog, family=daskglm.Poisson()).fit()
    reference = reference_fit(sm.GLM(y, exog, family=sm.families.Poisson()))
    distribution = ours.get_distribution()
    np.testing.assert_allclose(distribution.pmf(y), reference.get_distribution().pmf(y),
                               rtol=1e-6)
    ours.save(tmp_path / "arrays.pickle")
    loaded = daskglm.GLMResults.load(tmp_path / "arrays.pickle")
    assert list(loaded.params.index) == ["const", "x1", "x2"]
    np.testing.assert_allclose(loaded.predict(exog[:4]), reference.predict(exog[:4]), rtol=1e-6)
    with pytest.raises(ValueError, match="n_trials applies to the Binomial"):
        ours.get_distribution(n_trials=3)
