"""Hat diagonal, influence measures and the leverage-corrected HC2/HC3 covariances."""

import dask
import dask.array as da
import numpy as np
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import daskglm

from dask_counting import CountComputes
from glm_reference import CASES, frame, partitioned, reference_fit


@pytest.fixture(scope="module")
def fits(weighted_formula_fits):
    return weighted_formula_fits("nonrobust")


def _computed(values):
    return values.compute() if isinstance(values, da.Array) else values


@pytest.mark.parametrize("case", sorted(CASES))
def test_hat_diagonal_and_influence_match_statsmodels(fits, case):
    ours, reference, _ = fits[case]
    expected = reference.get_influence()
    hat = ours.get_hat_matrix_diag()
    assert isinstance(hat, da.Array)
    np.testing.assert_allclose(_computed(hat), reference.get_hat_matrix_diag(), rtol=1e-6)
    influence = ours.get_influence()
    np.testing.assert_allclose(_computed(influence.hat_matrix_diag), expected.hat_matrix_diag,
                               rtol=1e-6)
    studentized = expected.resid_studentized
    np.testing.assert_allclose(_computed(influence.resid_studentized), studentized, rtol=1e-6,
                               atol=1e-7 * np.abs(studentized).max())
    distance, p_value = influence.cooks_distance
    expected_distance, expected_p = expected.cooks_distance
    np.testing.assert_allclose(_computed(distance), expected_distance, rtol=1e-6,
                               atol=1e-9 * expected_distance.max())
    np.testing.assert_allclose(_computed(p_value), expected_p, rtol=1e-6)
    frame_ = influence.summary_frame().compute()
    np.testing.assert_allclose(frame_["cooks_d"], expected.summary_frame()["cooks_d"],
                               rtol=1e-6, atol=1e-9 * expected_distance.max())


def test_influence_is_lazy_and_one_pass(fits):
    ours, _, _ = fits["poisson"]
    with CountComputes() as counter:
        influence = ours.get_influence()
        distance, p_value = influence.cooks_distance
    assert counter.count == 0
    with CountComputes() as counter:
        dask.compute(influence.hat_matrix_diag, influence.resid_studentized, distance, p_value)
    assert counter.count == 1


def test_array_input_in_memory_and_chunked():
    data = sm.datasets.scotland.load_pandas()
    exog = sm.add_constant(data.exog).to_numpy()
    exog[:, 1:] = (exog[:, 1:] - exog[:, 1:].mean(0)) / exog[:, 1:].std(0)
    y = data.endog.to_numpy()
    reference = reference_fit(sm.GLM(y, exog, family=sm.families.Poisson()))
    for X in (exog, da.from_array(exog, chunks=(8, -1))):
        ours = daskglm.GLM(y, X, family=daskglm.Poisson()).fit()
        np.testing.assert_allclose(_computed(ours.get_hat_matrix_diag(observed=False)),
                                   reference.get_hat_matrix_diag(observed=False), rtol=1e-6)
        np.testing.assert_allclose(_computed(ours.get_influence().cooks_distance[0]),
                                   reference.get_influence().cooks_distance[0], rtol=1e-6)


def _leverage_sandwich(reference, power):
    """HC2/HC3 from statsmodels' pieces: its hat values, per-row scores and Hessian."""
    hat = reference.get_hat_matrix_diag()
    scores = reference.model.score_obs(reference.params, scale=1.0)
    bread = np.linalg.inv(-reference.model.hessian(reference.params, scale=1.0))
    meat = (scores / (1.0 - hat)[:, None] ** power).T @ scores
    return bread @ meat @ bread


@pytest.mark.parametrize("cov_type, power", [("HC2", 1), ("HC3", 2)])
@pytest.mark.parametrize("case", ["poisson", "logistic"])
def test_hc2_hc3_match_the_sandwich_of_statsmodels_leverage(case, cov_type, power):
    family, sm_family, formula, _ = CASES[case]
    data = frame(case)
    ours = daskglm.glm(formula, partitioned(data, 3), family=family).fit(cov_type=cov_type)
    reference = reference_fit(smf.glm(formula, data, family=sm_family))
    np.testing.assert_allclose(ours.cov_params(), _leverage_sandwich(reference, power),
                               rtol=1e-5)
    assert ours.cov_kwds["description"].endswith(f"({cov_type})")


@pytest.mark.parametrize("cov_type", ["HC2", "HC3"])
def test_hc2_hc3_of_a_normal_fit_are_statsmodels_ols(cov_type):
    family, _, formula, _ = CASES["normal"]
    data = frame("normal")
    ours = daskglm.glm(formula, partitioned(data, 3), family=family).fit(cov_type=cov_type)
    reference = smf.ols(formula, data).fit(cov_type=cov_type)
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=1e-5)
    np.testing.assert_allclose(ours.t_test(np.eye(len(ours.params))[1:3]).sd,
                               reference.t_test(np.eye(len(ours.params))[1:3]).sd, rtol=1e-5)


def test_hc3_costs_one_extra_pass():
    family, _, formula, _ = CASES["logistic"]
    with dask.config.set(scheduler="threads"):
        model = daskglm.glm(formula, partitioned(frame("logistic"), 4), family=family)
        model._prepare()
        with CountComputes() as counter:
            result = model.fit(cov_type="HC3")
        assert counter.count == result.solver_result.n_passes + 2


def test_influence_of_a_penalized_fit_is_refused():
    family, _, formula, _ = CASES["poisson"]
    penalized = daskglm.glm(formula, partitioned(frame("poisson"), 3),
                            family=family).fit_regularized("l2", alpha=0.01)
    with pytest.raises(ValueError, match="penalized fit"):
        penalized.get_hat_matrix_diag()
    with pytest.raises(ValueError, match="penalized fit"):
        penalized.get_influence()
    model = daskglm.glm(formula, partitioned(frame("poisson"), 3), family=family)
    with pytest.raises(ValueError, match="fit_regularized takes no cov_type.*'HC3'"):
        model.fit_regularized("l2", alpha=0.01, cov_type="HC3")
