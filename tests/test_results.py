"""GLMResults: residuals, criteria, intervals and predictions against statsmodels."""

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import daskglm
from daskglm.passes.statistics import statistics_pass

from dask_counting import CountComputes
from glm_reference import CASES, case_reference, frame, partitioned

RESIDUALS = ("fittedvalues", "resid_response", "resid_pearson", "resid_deviance",
             "resid_working")


@pytest.fixture(scope="module")
def weighted_fits():
    """(ours, statsmodels') for each family, with variance weights."""
    fits = {}
    with dask.config.set(scheduler="threads"):  # see glm_reference.local_scheduler
        for case in CASES:
            family, _, formula, _ = CASES[case]
            ours = daskglm.glm(formula, partitioned(frame(case), 4), family=family,
                               var_weights="vw").fit()
            fits[case] = ours, case_reference(case, var_weights="vw")
    return fits


@pytest.mark.parametrize("case", sorted(CASES))
def test_lazy_residuals_match_statsmodels(weighted_fits, case):
    ours, reference = weighted_fits[case]
    for name in RESIDUALS:
        values = getattr(ours, name)
        assert isinstance(values, da.Array), name
        expected = np.asarray(getattr(reference, name))
        # values that cross zero are compared relative to their scale
        np.testing.assert_allclose(values.compute(), expected, rtol=1e-6,
                                   atol=1e-7 * np.abs(expected).max(), err_msg=name)
    np.testing.assert_allclose(ours.mu.compute(), reference.mu, rtol=1e-6)


@pytest.mark.parametrize("case", sorted(CASES))
def test_criteria_intervals_and_covariance_match_statsmodels(weighted_fits, case):
    ours, reference = weighted_fits[case]
    for name in ("aic", "bic", "bic_llf", "bic_deviance", "llnull", "null_deviance"):
        np.testing.assert_allclose(getattr(ours, name), getattr(reference, name), rtol=1e-6,
                                   err_msg=name)
    assert ours.bic == ours.bic_llf
    for kind in ("cs", "mcf"):
        np.testing.assert_allclose(ours.pseudo_rsquared(kind), reference.pseudo_rsquared(kind),
                                   rtol=1e-6)
    np.testing.assert_allclose(ours.conf_int(alpha=0.1), reference.conf_int(alpha=0.1),
                               rtol=1e-5)
    np.testing.assert_allclose(ours.cov_params(), reference.cov_params(), rtol=1e-5)
    np.testing.assert_allclose(ours.normalized_cov_params, reference.normalized_cov_params,
                               rtol=1e-5)
    assert list(ours.cov_params().index) == list(reference.params.index)


def test_statistics_take_one_pass_and_the_null_model_is_closed_form():
    family, _, formula, _ = CASES["logistic"]
    with dask.config.set(scheduler="threads"):
        model = daskglm.glm(formula, partitioned(frame("logistic"), 4), family=family)
        design, _ = model._prepare()
        with CountComputes() as counter:
            result = model.fit()
        # the solver's passes plus one for every statistic; no null-model fit
        assert counter.count == result.solver_result.n_passes + 1
        with CountComputes() as counter:
            statistics_pass(design, family, result.params.to_numpy(),
                            null_mean=0.3)
        assert counter.count == 1


def test_null_model_with_offset_is_fitted_with_the_offset():
    family, _, formula, _ = CASES["poisson"]
    ours = daskglm.glm(formula, partitioned(frame("poisson"), 3), family=family,
                       exposure="exposure", offset="offset").fit()
    reference = case_reference("poisson", exposure="exposure", offset="offset")
    np.testing.assert_allclose(ours.llnull, reference.llnull, rtol=1e-8)
    np.testing.assert_allclose(ours.null_deviance, reference.null_deviance, rtol=1e-8)


def test_predict_on_new_partitioned_data_matches_statsmodels():
    family, _, formula, _ = CASES["poisson"]
    data = frame("poisson")
    ours = daskglm.glm(formula, partitioned(data, 4), family=family, exposure="exposure").fit()
    reference = case_reference("poisson", exposure="exposure")
    rng = np.random.default_rng(11)
    new = data.sample(3000, random_state=3)
    new = new[new["lncoins"] != 0.0].sort_values("lncoins")    # partitions lack levels
    new_ddf = dd.from_pandas(new, npartitions=5, sort=False)
    offset = rng.normal(0.0, 0.1, len(new))

    mean = ours.predict(new_ddf, exposure="exposure")
    assert isinstance(mean, dd.Series)
    np.testing.assert_allclose(mean.compute(), reference.predict(new, exposure=new["exposure"]),
                               rtol=1e-6)
    linear = ours.predict(new_ddf, which="linear", offset=offset, exposure=new["exposure"])
    expected = reference.predict(new, which="linear", offset=offset, exposure=new["exposure"])
    np.testing.assert_allclose(linear.compute(), expected, rtol=1e-6,
                               atol=1e-7 * np.abs(expected).max())
    as_pandas = ours.predict(new)                           # pandas in, pandas out
    assert isinstance(as_pandas, pd.Series)
    np.testing.assert_allclose(as_pandas, reference.predict(new), rtol=1e-6)
    np.testing.assert_allclose(ours.predict().compute(), reference.fittedvalues, rtol=1e-6)


def test_predict_rows_with_missing_values_are_nan_and_unseen_levels_fail():
    family, _, formula, _ = CASES["normal"]
    data = frame("normal")
    ours = daskglm.glm(formula, partitioned(data, 3), family=family).fit()
    new = data.iloc[:40].copy()
    new.loc[new.index[5], "value"] = np.nan
    predicted = ours.predict(dd.from_pandas(new, npartitions=2)).compute()
    assert predicted.isna().sum() == 1 and np.isnan(predicted.iloc[5])
    new.loc[new.index[7], "firm"] = "Acme"
    with pytest.raises(ValueError, match="value 'Acme' does not match any of the expected levels"):
        ours.predict(dd.from_pandas(new, npartitions=2)).compute()
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['capital'\]"):
        ours.predict(new.drop(columns="capital"))


def test_predict_for_array_models():
    data = frame("poisson")
    exog = sm.add_constant(data[["idp", "lpi", "fmde"]])
    reference = sm.GLM(data["mdvis"], exog, family=sm.families.Poisson()).fit(tol=1e-12)
    dask_exog = da.from_array(exog.to_numpy(), chunks=(4000, 4))
    ours = daskglm.GLM(da.from_array(data["mdvis"].to_numpy(), chunks=4000), dask_exog,
                       family="poisson").fit()
    predicted = ours.predict(dask_exog[:500], exposure=data["exposure"].to_numpy()[:500])
    assert isinstance(predicted, da.Array)
    np.testing.assert_allclose(predicted.compute(),
                               reference.predict(exog.iloc[:500],
                                                 exposure=data["exposure"].iloc[:500]),
                               rtol=1e-6)
    np.testing.assert_allclose(ours.predict(exog.to_numpy()[:5], which="linear"),
                               reference.predict(exog.iloc[:5], which="linear"), rtol=1e-6)


def test_regularized_results_have_nan_standard_errors():
    family, _, formula, _ = CASES["logistic"]
    result = daskglm.glm(formula, partitioned(frame("logistic"), 3),
                         family=family).fit_regularized("elastic_net", alpha=0.01,
                                                        l1_ratio=0.5)
    assert result.bse.isna().all() and result.pvalues.isna().all()
    assert result.conf_int().isna().all().all()
    assert (result.params == 0).any() and result.params["Intercept"] != 0
    assert np.isfinite([result.llf, result.deviance, result.aic]).all()


@pytest.mark.parametrize("link", [daskglm.links.Logit(), daskglm.links.Probit(),
                                  daskglm.links.CLogLog(), daskglm.links.Log(),
                                  daskglm.links.Identity(), daskglm.links.Inverse(),
                                  daskglm.links.Sqrt()], ids=repr)
def test_second_derivative_of_every_inverse_link(link):
    eta = np.linspace(0.2, 2.5, 9) * (1.0 if not isinstance(link, daskglm.links.Logit) else -1)
    step = 1e-5
    numeric = (link.inverse_deriv(eta + step) - link.inverse_deriv(eta - step)) / (2 * step)
    np.testing.assert_allclose(link.inverse_deriv2(eta), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("family", [daskglm.Logistic(daskglm.links.Probit()),
                                    daskglm.Poisson(daskglm.links.Sqrt()),
                                    daskglm.Normal(daskglm.links.Log())], ids=repr)
def test_observed_weights_are_the_second_derivative_of_the_nll(family):
    rng = np.random.default_rng(5)
    eta = rng.uniform(0.3, 1.5, 50)
    y = rng.uniform(0.0, 1.0, 50) if isinstance(family, daskglm.Logistic) else \
        rng.uniform(0.0, 4.0, 50)
    step = 1e-5
    numeric = (family.gradient(y, eta + step) - family.gradient(y, eta - step)) / (2 * step)
    np.testing.assert_allclose(family.observed_weights(y, eta), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
def test_non_canonical_link_covariances_match_statsmodels(cov_type):
    family, _, formula, _ = CASES["logistic"]
    data = frame("logistic")
    reference = sm.GLM.from_formula(
        formula, data, family=sm.families.Binomial(sm.families.links.Probit()),
        var_weights=data["vw"]).fit(tol=1e-13, cov_type=cov_type)
    ours = daskglm.glm(formula, partitioned(data, 3), family=daskglm.Logistic(
        daskglm.links.Probit()), var_weights="vw").fit(tol=1e-10, cov_type=cov_type)
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=1e-5)
    np.testing.assert_allclose(ours.llf, reference.llf, rtol=1e-8)
