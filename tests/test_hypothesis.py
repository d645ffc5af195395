"""Hypothesis tests, information criteria and likelihood ratios against statsmodels."""

import dask
import numpy as np
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import daskglm

from dask_counting import CountComputes
from glm_reference import CASES, frame, partitioned, reference_fit

COV_TYPES = ("nonrobust", "HC0", "cluster")


def _cov_options(case, cov_type, data):
    if cov_type != "cluster":
        return {}
    groups = (np.arange(len(data)) // 7) % 37      # clusters cut across the partitions
    return {"cov_kwds": {"groups": groups}}


@pytest.fixture(scope="module")
def fits():
    """(ours, statsmodels') per (case, cov_type), formula input in 4 partitions."""
    out = {}
    with dask.config.set(scheduler="threads"):
        for case, (family, sm_family, formula, _) in CASES.items():
            data = frame(case)
            model = daskglm.glm(formula, partitioned(data, 4), family=family)
            reference_model = smf.glm(formula, data, family=sm_family)
            for cov_type in COV_TYPES:
                options = _cov_options(case, cov_type, data)
                out[case, cov_type] = (model.fit(cov_type=cov_type, **options),
                                       reference_fit(reference_model, cov_type=cov_type,
                                                     **options))
    return out


def _string_hypotheses(names):
    """Hypotheses in statsmodels' string syntax over the fit's names."""
    a, b, c = names[1], names[2], names[-1]
    return [f"{a} = 0", f"{a} = {b}", f"{a} = 0.1, {c} = -0.05", f"2 * {b} - {c} = 0.3"]


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_t_f_and_wald_tests_match_statsmodels(fits, case, cov_type):
    ours, reference = fits[case, cov_type]
    names = list(reference.params.index)
    matrix = np.zeros((2, len(names)))
    matrix[0, 1], matrix[1, 2], matrix[1, 3] = 1.0, 1.0, -1.0
    for hypothesis in _string_hypotheses(names) + [matrix, (matrix, np.array([0.1, 0.2]))]:
        mine, theirs = ours.t_test(hypothesis), reference.t_test(hypothesis)
        for name in ("effect", "sd", "statistic", "pvalue"):
            np.testing.assert_allclose(np.squeeze(getattr(mine, name)),
                                       np.squeeze(getattr(theirs, name)), rtol=1e-5)
        np.testing.assert_allclose(mine.conf_int(alpha=0.1), theirs.conf_int(alpha=0.1),
                                   rtol=1e-5)
        for test in ("f_test", "wald_test"):
            mine, theirs = getattr(ours, test)(hypothesis), getattr(reference, test)(
                hypothesis, **({"scalar": True} if test == "wald_test" else {}))
            np.testing.assert_allclose(np.squeeze(mine.statistic), np.squeeze(theirs.statistic),
                                       rtol=1e-5)
            np.testing.assert_allclose(mine.pvalue, theirs.pvalue, rtol=1e-5)
            assert mine.df_denom == pytest.approx(theirs.df_denom)
            assert getattr(mine, "df_num", None) == getattr(theirs, "df_num", None)


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_wald_test_terms_has_one_row_per_term_as_statsmodels(fits, case, cov_type):
    ours, reference = fits[case, cov_type]
    mine = ours.wald_test_terms().table
    theirs = reference.wald_test_terms(scalar=True).table
    assert list(mine.index) == list(theirs.index)
    np.testing.assert_allclose(mine["statistic"].astype(float),
                               theirs["statistic"].astype(float), rtol=1e-5)
    np.testing.assert_allclose(mine["pvalue"].astype(float), theirs["pvalue"].astype(float),
                               rtol=1e-5, atol=1e-300)
    np.testing.assert_array_equal(mine["df_constraint"], theirs["df_constraint"])
    categorical = [name for name in mine.index if name.startswith("C(")]
    assert categorical and all(mine.loc[name, "df_constraint"] > 1 for name in categorical)
    skipped = ours.wald_test_terms(skip_single=True).table
    assert list(skipped.index) == categorical


def test_wald_tests_cost_no_pass(fits):
    ours, _ = fits["poisson", "nonrobust"]
    with CountComputes() as counter:
        ours.wald_test_terms()
        ours.t_test(_string_hypotheses(list(ours.params.index))[2])
        ours.f_test(np.eye(len(ours.params))[1:3])
    assert counter.count == 0


def test_array_model_tests_by_column_names():
    data = sm.datasets.scotland.load_pandas()
    exog = sm.add_constant(data.exog)
    y = data.endog / 100.0
    ours = daskglm.GLM(y, exog, family=daskglm.Normal()).fit(cov_type="HC0")
    reference = sm.GLM(y, exog, family=sm.families.Gaussian()).fit(cov_type="HC0")
    mine, theirs = ours.wald_test_terms().table, reference.wald_test_terms(scalar=True).table
    assert list(mine.index) == list(theirs.index) == list(exog.columns)
    np.testing.assert_allclose(mine["statistic"], theirs["statistic"], rtol=1e-5)
    hypothesis = "COUTAX = 0, UNEMPF = 0"
    np.testing.assert_allclose(ours.f_test(hypothesis).fvalue, reference.f_test(hypothesis).fvalue,
                               rtol=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_information_criteria_and_llf_scaled_match_statsmodels(fits, case):
    ours, reference = fits[case, "nonrobust"]
    for crit in ("aic", "bic"):
        for dk in (0, 1):
            np.testing.assert_allclose(ours.info_criteria(crit, dk_params=dk),
                                       reference.info_criteria(crit, dk_params=dk), rtol=1e-6)
    for scale in (None, 1.0, 2.5):
        np.testing.assert_allclose(ours.llf_scaled(scale), reference.llf_scaled(scale),
                                   rtol=1e-6)
    with pytest.warns() if case == "normal" else _no_warning():
        expected = reference.info_criteria("qaic", scale=1.7)
    np.testing.assert_allclose(ours.info_criteria("qaic", scale=1.7), expected, rtol=1e-6)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_llf_scaled_costs_at_most_one_pass(fits):
    ours, reference = fits["poisson", "nonrobust"]
    with CountComputes() as counter:
        ours.llf_scaled()
        ours.info_criteria("qaic", scale=2.0)
    assert counter.count == 0
    with CountComputes() as counter:      # Poisson's: from the fit's sums (loglike_at_scale)
        value = ours.llf_scaled(2.0)
    assert counter.count == 0
    np.testing.assert_allclose(value, reference.llf_scaled(2.0), rtol=1e-6)
    normal, _ = fits["normal", "nonrobust"]
    with CountComputes() as counter:
        normal.llf_scaled(3.0)
    assert counter.count == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_likelihood_ratio_of_nested_fits_matches_statsmodels(case):
    family, sm_family, formula, _ = CASES[case]
    data = frame(case)
    restricted_formula = formula.split(" + C(")[0] if " + C(" in formula else \
        formula.rsplit(" + ", 1)[0]
    full = daskglm.glm(formula, partitioned(data, 3), family=family).fit()
    restricted = daskglm.glm(restricted_formula, partitioned(data, 3), family=family).fit()
    sm_full = reference_fit(smf.glm(formula, data, family=sm_family))
    sm_restricted = reference_fit(smf.glm(restricted_formula, data, family=sm_family))
    lr_stat, p_value, df_diff = full.compare_lr_test(restricted)
    expected = -2.0 * (sm_restricted.llf - sm_full.llf)
    np.testing.assert_allclose(lr_stat, expected, rtol=1e-6)
    assert df_diff == sm_restricted.df_resid - sm_full.df_resid > 0
    from scipy import stats
    np.testing.assert_allclose(p_value, stats.chi2.sf(expected, df_diff), rtol=1e-5)
    with pytest.raises(ValueError, match="not nested"):
        restricted.compare_lr_test(full)


def test_likelihood_ratio_warns_under_a_robust_covariance(fits):
    ours, _ = fits["poisson", "HC0"]
    restricted = daskglm.glm("mdvis ~ idp", partitioned(frame("poisson"), 3),
                             family=daskglm.Poisson()).fit()
    with pytest.warns(UserWarning, match="robust"):
        ours.compare_lr_test(restricted)
    other = daskglm.glm("mdvis ~ idp", partitioned(frame("poisson").iloc[:-5], 3),
                        family=daskglm.Poisson()).fit()
    with pytest.raises(ValueError, match="same rows"):
        fits["poisson", "nonrobust"][0].compare_lr_test(other)


def test_bad_hypotheses_get_clear_errors(fits):
    ours, _ = fits["logistic", "nonrobust"]
    with pytest.raises(ValueError, match=r"r_matrix could not be read.*unrecognized token"):
        ours.t_test("not_a_coefficient = 0")
    with pytest.raises(ValueError, match="r_matrix has 3 columns but the model has"):
        ours.wald_test(np.eye(3))
    singular = np.zeros((2, len(ours.params)))
    singular[:, 1] = 1.0
    with pytest.raises(ValueError, match="r_matrix is singular"):
        ours.wald_test(singular)
    with pytest.raises(ValueError, match="crit must be"):
        ours.info_criteria("hqic")
    with pytest.raises(ValueError, match="needs scale"):
        ours.info_criteria("qaic")
    with pytest.raises(ValueError, match="combine_terms"):
        ours.wald_test_terms(combine_terms=["nothing"])
