"""Inference for the Gamma, inverse Gaussian, Tweedie, negative binomial and
two-column binomial families against statsmodels' GLM on the same data:
influence measures, predictions with intervals, t, Wald and score tests,
likelihood statistics, under every cov_type; arrays in 3 chunks and one
formula on a 3-partition dask DataFrame.

statsmodels' GLM accepts ``cov_type="HC2"``/``"HC3"`` but returns HC0's matrix;
our HC2/HC3 are compared with the leverage-weighted sandwich built from
statsmodels' own hat values, per-row scores and Hessian, and the tests and
intervals that follow from it with statsmodels' results carrying that matrix.
"""

from functools import cache

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

import daskglm
from daskglm import links

from glm_reference import frame, partitioned, reference_fit

SM_LINKS = sm.families.links
SCOTLAND_TERMS = ["COUTAX", "UNEMPF", "MOR", "ACT", "GDP", "AGE", "COUTAX_FEMALEUNEMP"]
RANDHIE_COLUMNS = ["idp", "lpi", "fmde", "physlm", "disea", "hlthg", "hlthf", "hlthp"]
RANDHIE_FORMULA = ("mdvis ~ C(lncoins) + idp + standardize(lpi) + center(fmde) + physlm"
                   " + standardize(disea) + hlthg + hlthf + hlthp")
pytestmark = [
    pytest.mark.filterwarnings("ignore:The InversePower link function does not respect"),
    pytest.mark.filterwarnings("ignore:QAIC is only valid for"),  # statsmodels computes it
    pytest.mark.filterwarnings("ignore:divide by zero encountered in power:RuntimeWarning"),
]
COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster")
RTOL, SE_RTOL = 1e-6, 1e-5


def _scotland():
    data = sm.datasets.scotland.load_pandas()
    return data.endog.to_numpy(), sm.add_constant(data.exog[SCOTLAND_TERMS]).to_numpy()


def _inverse_gaussian(n=600, seed=5):
    """Seeded inverse Gaussian responses whose mean follows the canonical link
    (the sample of tests/test_gamma_inverse_gaussian.py)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 1.0, n)
    mu = links.InverseSquared().inverse(0.2 + 0.78 * x1 + 0.52 * x2)
    return rng.wald(mu, 4.0), np.column_stack([np.ones(n), x1, x2])


def _fair():
    data = sm.datasets.fair.load_pandas()
    columns = ["rate_marriage", "age", "yrs_married"]
    return data.endog.to_numpy(dtype=float), sm.add_constant(data.exog[columns]).to_numpy()


def _randhie():
    data = frame("poisson")
    exog = data[RANDHIE_COLUMNS].to_numpy(dtype=float)
    exog[:, 1:5] = (exog[:, 1:5] - exog[:, 1:5].mean(0)) / exog[:, 1:5].std(0)
    return data["mdvis"].to_numpy(dtype=float), sm.add_constant(exog)


def _star98():
    data = sm.datasets.star98.load_pandas()
    return data.endog.to_numpy(dtype=float), sm.add_constant(data.exog).to_numpy()


# id: (our family, statsmodels', data) -- every case an array model in 3 chunks
CASES = {
    "gamma-log": (daskglm.Gamma(links.Log()), sm.families.Gamma(SM_LINKS.Log()), _scotland),
    "gamma-inverse": (daskglm.Gamma(), sm.families.Gamma(), _scotland),
    "inverse-gaussian": (daskglm.InverseGaussian(), sm.families.InverseGaussian(),
                         _inverse_gaussian),
    "tweedie-1.5": (daskglm.Tweedie(var_power=1.5), sm.families.Tweedie(var_power=1.5), _fair),
    "negative-binomial": (daskglm.NegativeBinomial(alpha=0.8),
                          sm.families.NegativeBinomial(alpha=0.8), _randhie),
    "binomial-trials": (daskglm.Binomial(), sm.families.Binomial(), _star98),
}
FORMULA = "nb-formula"
ALL_CASES = sorted(CASES) + [FORMULA]


def _chunked(array):
    rows = -(-array.shape[0] // 3)
    return da.from_array(array, chunks=(rows,) + array.shape[1:])


def _groups(n_rows):
    """Clusters that cut across the chunks."""
    return (np.arange(n_rows) // 2) % max(5, min(37, n_rows // 4))


def _fit_options(cov_type, n_rows):
    return {"cov_kwds": {"groups": _groups(n_rows)}} if cov_type == "cluster" else {}


def _leverage_sandwich(reference, power):
    """HC2 (power 1) / HC3 (power 2) from statsmodels' hat values, per-row
    scores and observed Hessian, with the leverage under the Fisher weights (our
    definition, R's sandwich's: daskglm.inference.covariance.LeverageRobust)."""
    hat = reference.get_hat_matrix_diag(observed=False)
    scores = reference.model.score_obs(reference.params, scale=1.0)
    bread = np.linalg.inv(-reference.model.hessian(reference.params, scale=1.0))
    meat = (scores / (1.0 - hat)[:, None] ** power).T @ scores
    return bread @ meat @ bread


def _statsmodels_fit(model, cov_type, n_rows):
    """statsmodels' fit under ``cov_type``; for HC2/HC3, its HC0 results
    carrying the leverage sandwich (its bse, tests and intervals read it)."""
    if cov_type not in ("HC2", "HC3"):
        return reference_fit(model, cov_type=cov_type, **_fit_options(cov_type, n_rows))
    fitted = reference_fit(model, cov_type="HC0")
    # on the results behind statsmodels' wrapper, which its methods read
    fitted._results.cov_params_default = _leverage_sandwich(fitted, {"HC2": 1, "HC3": 2}[cov_type])
    return fitted


@cache
def _data(case):
    if case == FORMULA:
        return frame("poisson")
    return CASES[case][2]()


@cache
def _pair(case, cov_type, drop_last=False):
    """(ours, statsmodels') fitted on the case's data; ``drop_last``: without
    the last column (the nested fit of the likelihood-ratio test)."""
    if case == FORMULA:
        data = _data(case)
        formula = RANDHIE_FORMULA.rsplit(" + ", 1)[0] if drop_last else RANDHIE_FORMULA
        family = daskglm.NegativeBinomial(alpha=0.8)
        ours = daskglm.glm(formula, partitioned(data, 3), family=family).fit(
            tol=1e-10, cov_type=cov_type, **_fit_options(cov_type, len(data)))
        model = smf.glm(formula, data, family=sm.families.NegativeBinomial(alpha=0.8))
        return ours, _statsmodels_fit(model, cov_type, len(data))
    family, sm_family, _ = CASES[case]
    y, X = _data(case)
    if drop_last:
        X = X[:, :-1]
    ours = daskglm.GLM(_chunked(y), _chunked(X), family=family).fit(
        tol=1e-10, cov_type=cov_type, **_fit_options(cov_type, len(X)))
    return ours, _statsmodels_fit(sm.GLM(y, X, family=sm_family), cov_type, len(X))


def _computed(values):
    values = values.compute() if hasattr(values, "compute") else values
    return np.asarray(values)


def _new_rows(case):
    """New data: midpoints of pairs of training rows (inside every link's domain)."""
    rng = np.random.default_rng(3)
    if case == FORMULA:
        data = _data(case)
        new = data.sample(300, random_state=5).reset_index(drop=True)
        other = data.sample(300, random_state=6).reset_index(drop=True)
        for column in ("lpi", "fmde", "disea"):
            new[column] = 0.5 * (new[column] + other[column])
        return new
    _, X = _data(case)
    n_new = min(200, len(X))
    first = rng.integers(0, len(X), n_new)
    second = (first + rng.integers(1, len(X), n_new)) % len(X)
    return 0.5 * (X[first] + X[second])


def _assert_prediction_matches(mine, theirs):
    """Ours against statsmodels' (its ``which=None`` names, ``mean...``, or its
    ``which=...`` names, ours)."""
    expected = theirs.summary_frame(alpha=0.1).rename(columns={
        "mean": "predicted", "mean_se": "se", "mean_ci_lower": "ci_lower",
        "mean_ci_upper": "ci_upper"})
    got = mine.summary_frame(alpha=0.1)
    got = got.compute() if isinstance(got, dd.DataFrame) else got
    np.testing.assert_allclose(np.asarray(got["predicted"]), expected["predicted"], rtol=RTOL)
    np.testing.assert_allclose(np.asarray(got["se"]), expected["se"], rtol=SE_RTOL)
    # statsmodels maps the linear predictor's interval through the inverse link
    # as it is, so a decreasing one (inverse, inverse squared) gives it lower >
    # upper; ours are ordered (docs/statsmodels.rst)
    ends = np.sort(expected[["ci_lower", "ci_upper"]].to_numpy(), axis=1)
    np.testing.assert_allclose(np.asarray(got[["ci_lower", "ci_upper"]]), ends, rtol=SE_RTOL)


def _string_constraint(names):
    return f"{names[1]} = {names[-1]}, {names[2]} = 0"


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("case", ALL_CASES)
def test_covariance_tests_and_predictions_match_statsmodels(case, cov_type):
    ours, reference = _pair(case, cov_type)
    np.testing.assert_allclose(ours.params, reference.params, rtol=RTOL)
    # each entry to 1e-5 of the product of its two standard errors
    expected_cov = np.asarray(reference.cov_params())
    bse = np.sqrt(np.diag(expected_cov))
    assert np.all(np.abs(ours.cov_params().to_numpy() - expected_cov)
                  <= SE_RTOL * np.outer(bse, bse))
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=SE_RTOL)
    np.testing.assert_allclose(ours.conf_int(alpha=0.1), reference.conf_int(alpha=0.1),
                               rtol=RTOL, atol=SE_RTOL * np.abs(reference.bse).max())
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(np.log(ours.pvalues), np.log(reference.pvalues), rtol=SE_RTOL)
    names = list(ours.params.index)
    r_matrix = np.eye(len(names))[1:3]
    r_matrix[0, -1] = -0.5
    mine, theirs = ours.t_test(r_matrix), reference.t_test(r_matrix)
    np.testing.assert_allclose(np.squeeze(mine.effect), np.squeeze(theirs.effect), rtol=RTOL)
    np.testing.assert_allclose(np.squeeze(mine.sd), np.squeeze(theirs.sd), rtol=SE_RTOL)
    np.testing.assert_allclose(mine.pvalue, np.squeeze(theirs.pvalue), rtol=SE_RTOL)
    mine = ours.wald_test(_string_constraint(names))
    theirs = reference.wald_test(_string_constraint(list(reference.model.exog_names)),
                                 scalar=True)
    np.testing.assert_allclose(mine.statistic, theirs.statistic, rtol=SE_RTOL)
    np.testing.assert_allclose(mine.pvalue, theirs.pvalue, rtol=SE_RTOL)
    _assert_prediction_matches(ours.get_prediction(), reference.get_prediction())
    new = _new_rows(case)
    given = dd.from_pandas(new, npartitions=3, sort=False) if case == FORMULA else _chunked(new)
    for which in ("mean", "linear"):
        _assert_prediction_matches(ours.get_prediction(given, which=which),
                                   reference.get_prediction(new, which=which))
    _assert_prediction_matches(ours.get_prediction(given), reference.get_prediction(new))


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_wald_test_terms_of_the_formula_matches_statsmodels(cov_type):
    ours, reference = _pair(FORMULA, cov_type)
    mine = ours.wald_test_terms().table
    theirs = reference.wald_test_terms(scalar=True).table
    assert list(mine.index) == list(theirs.index)
    np.testing.assert_allclose(mine["statistic"].astype(float),
                               theirs["statistic"].astype(float), rtol=SE_RTOL)
    np.testing.assert_allclose(mine["pvalue"].astype(float), theirs["pvalue"].astype(float),
                               rtol=SE_RTOL, atol=1e-300)
    np.testing.assert_array_equal(mine["df_constraint"], theirs["df_constraint"])


@pytest.mark.parametrize("case", ALL_CASES)
def test_influence_and_residuals_match_statsmodels(case):
    ours, reference = _pair(case, "nonrobust")
    for observed in (True, False):
        np.testing.assert_allclose(_computed(ours.get_hat_matrix_diag(observed=observed)),
                                   reference.get_hat_matrix_diag(observed=observed), rtol=RTOL)
    influence, expected = ours.get_influence(), reference.get_influence()
    np.testing.assert_allclose(_computed(influence.hat_matrix_diag), expected.hat_matrix_diag,
                               rtol=RTOL)
    studentized = expected.resid_studentized
    np.testing.assert_allclose(_computed(influence.resid_studentized), studentized, rtol=RTOL,
                               atol=1e-7 * np.abs(studentized).max())
    for name in ("resid_response", "resid_pearson", "resid_deviance", "resid_working",
                 "resid_anscombe_scaled"):
        values = np.asarray(getattr(reference, name))
        np.testing.assert_allclose(_computed(getattr(ours, name)), values, rtol=RTOL,
                                   atol=1e-9 * np.abs(values).max(), err_msg=name)
    distance, p_value = influence.cooks_distance
    expected_distance, expected_p = expected.cooks_distance
    np.testing.assert_allclose(_computed(distance), expected_distance, rtol=RTOL,
                               atol=1e-9 * expected_distance.max())
    np.testing.assert_allclose(_computed(p_value), expected_p, rtol=RTOL)


def _extra_column(case):
    """One column the model leaves out: the square of a standardized regressor
    (the one with the most distinct values, so that it is not in the span)."""
    if case == FORMULA:
        values = _data(case)["lpi"].to_numpy(dtype=float)
    else:
        X = _data(case)[1]
        values = X[:, np.argmax([len(np.unique(column)) for column in X.T])]
    standard = (values - values.mean()) / values.std()
    return (standard ** 2)[:, None]


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
@pytest.mark.parametrize("case", ALL_CASES)
def test_score_test_of_one_new_column_matches_statsmodels(case, cov_type):
    ours, reference = _pair(case, cov_type)
    extra = _extra_column(case)
    theirs = reference.score_test(exog_extra=extra)
    for given in (extra, _chunked(extra)):
        mine = ours.score_test(exog_extra=given)
        np.testing.assert_allclose(mine.statistic, np.squeeze(theirs.statistic), rtol=RTOL)
        np.testing.assert_allclose(mine.pvalue, np.squeeze(theirs.pvalue), rtol=SE_RTOL)
        assert mine.k_constraint == theirs.k_constraint == 1


@pytest.mark.parametrize("case", ALL_CASES)
def test_likelihood_statistics_match_statsmodels(case):
    ours, reference = _pair(case, "nonrobust")
    for scale in (None, 1.0, 2.5):
        np.testing.assert_allclose(ours.llf_scaled(scale), reference.llf_scaled(scale),
                                   rtol=RTOL, err_msg=str(scale))
    for crit, options in (("aic", {}), ("bic", {}), ("qaic", {"scale": 1.7}),
                          ("aic", {"dk_params": 1})):
        np.testing.assert_allclose(ours.info_criteria(crit, **options),
                                   reference.info_criteria(crit, **options), rtol=RTOL,
                                   err_msg=crit)
    for kind in ("cs", "mcf"):
        np.testing.assert_allclose(ours.pseudo_rsquared(kind), reference.pseudo_rsquared(kind),
                                   rtol=RTOL, err_msg=kind)
    restricted, sm_restricted = _pair(case, "nonrobust", drop_last=True)
    lr_stat, p_value, df_diff = ours.compare_lr_test(restricted)
    expected = -2.0 * (sm_restricted.llf - reference.llf)
    assert df_diff == sm_restricted.df_resid - reference.df_resid == 1
    np.testing.assert_allclose(lr_stat, expected, rtol=RTOL)
    np.testing.assert_allclose(p_value, stats.chi2.sf(expected, 1), rtol=SE_RTOL)


@pytest.mark.parametrize("case", ["gamma-inverse", "inverse-gaussian"])
def test_intervals_of_a_decreasing_link_are_statsmodels_ends_swapped(case):
    """The documented difference (docs/statsmodels.rst): statsmodels' ends come
    out reversed through a decreasing inverse link; ours are ordered."""
    ours, reference = _pair(case, "nonrobust")
    got = ours.get_prediction().summary_frame(alpha=0.1).compute()
    expected = reference.get_prediction().summary_frame(alpha=0.1)
    assert (expected["mean_ci_lower"] > expected["mean_ci_upper"]).all()
    assert (got["ci_lower"] < got["ci_upper"]).all()
    np.testing.assert_allclose(got["ci_lower"], expected["mean_ci_upper"], rtol=SE_RTOL)
    np.testing.assert_allclose(got["ci_upper"], expected["mean_ci_lower"], rtol=SE_RTOL)


def test_new_data_rows_are_new():
    """The prediction checks above use rows the fits did not see."""
    _, X = _data("gamma-log")
    new = _new_rows("gamma-log")
    assert not any((np.abs(X - row).max(axis=1) == 0).any() for row in new)
    assert isinstance(_new_rows(FORMULA), pd.DataFrame)
