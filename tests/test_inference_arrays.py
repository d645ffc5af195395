"""Array models in >= 3 chunks, under every covariance type: tests, predictions and
influence against statsmodels (HC2/HC3 against the sandwich of statsmodels' leverage)."""

import dask.array as da
import numpy as np
import patsy
import pytest
import statsmodels.api as sm

import daskglm

from glm_reference import CASES, frame, reference_fit

ALL_COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster")


def _arrays(case):
    _, _, formula, _ = CASES[case]
    data = frame(case)
    y, X = patsy.dmatrices(formula.replace("standardize(", "(").replace("center(", "("),
                           data, return_type="dataframe")
    return y.iloc[:, 0].to_numpy(), X


def _leverage_cov(reference, power):
    hat = reference.get_hat_matrix_diag()
    scores = reference.model.score_obs(reference.params, scale=1.0)
    bread = np.linalg.inv(-reference.model.hessian(reference.params, scale=1.0))
    return bread @ ((scores / (1.0 - hat)[:, None] ** power).T @ scores) @ bread


def _assert_tests_and_predictions_follow(ours, reference, cov):
    """t/Wald statistics and prediction intervals from statsmodels' estimates and
    link with the covariance ``cov`` (for HC2/HC3, which statsmodels' GLM lacks)."""
    from scipy import stats

    params = reference.params.to_numpy()
    R = np.eye(len(params))[[1, -1]]
    gap = R @ params - np.array([0.0, 0.05])
    sd = np.sqrt(np.diag(R @ cov @ R.T))
    mine = ours.t_test((R, np.array([0.0, 0.05])))
    np.testing.assert_allclose(mine.sd.ravel(), sd, rtol=1e-5)
    np.testing.assert_allclose(mine.pvalue.ravel(), 2 * stats.norm.sf(np.abs(gap / sd)),
                               rtol=1e-5)
    np.testing.assert_allclose(ours.wald_test((R, np.array([0.0, 0.05]))).statistic,
                               gap @ np.linalg.solve(R @ cov @ R.T, gap), rtol=1e-5)
    new = reference.model.exog[::50]
    linear = new @ params
    linear_se = np.sqrt(np.einsum("ij,jk,ik->i", new, cov, new))
    link = reference.model.family.link
    z = stats.norm.ppf(0.95)
    frame_ = ours.get_prediction(da.from_array(new, chunks=(len(new) // 3 + 1, -1))
                                 ).summary_frame(alpha=0.1).compute()
    np.testing.assert_allclose(frame_["se"], np.abs(link.inverse_deriv(linear)) * linear_se,
                               rtol=1e-5)
    ends = np.sort(link.inverse(np.stack([linear - z * linear_se, linear + z * linear_se])), 0)
    np.testing.assert_allclose(frame_[["ci_lower", "ci_upper"]].to_numpy(), ends.T, rtol=1e-5)


@pytest.mark.parametrize("cov_type", ALL_COV_TYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_chunked_arrays_under_every_cov_type(case, cov_type):
    family, sm_family, _, _ = CASES[case]
    y, X = _arrays(case)
    rows = -(-len(y) // 3)
    options = {"cov_kwds": {"groups": (np.arange(len(y)) // 9) % 41}} \
        if cov_type == "cluster" else {}
    ours = daskglm.GLM(da.from_array(y, chunks=rows), da.from_array(X.to_numpy(),
                       chunks=(rows, -1)), family=family).fit(cov_type=cov_type, **options)
    sm_model = sm.GLM(y, X, family=sm_family)
    if cov_type in ("HC2", "HC3"):
        reference = reference_fit(sm_model)
        expected_cov = _leverage_cov(reference, 1 if cov_type == "HC2" else 2)
        np.testing.assert_allclose(ours.cov_params(), expected_cov, rtol=1e-5)
        _assert_tests_and_predictions_follow(ours, reference, expected_cov)
        return
    else:
        reference = reference_fit(sm_model, cov_type=cov_type, **options)
        np.testing.assert_allclose(ours.cov_params(), reference.cov_params(), rtol=1e-5)
    R = np.zeros((2, X.shape[1]))
    R[0, 1], R[0, 2], R[1, -1] = 1.0, -1.0, 1.0
    hypothesis = (R, np.array([0.0, 0.05]))       # dask arrays are named x1, x2, ...
    assert list(ours.params.index[:2]) == ["const", "x1"]
    mine, theirs = ours.t_test(hypothesis), reference.t_test(hypothesis)
    np.testing.assert_allclose(mine.sd.ravel(), theirs.sd.ravel(), rtol=1e-5)
    np.testing.assert_allclose(mine.pvalue.ravel(), theirs.pvalue.ravel(), rtol=1e-5)
    np.testing.assert_allclose(ours.wald_test(hypothesis).statistic,
                               reference.wald_test(hypothesis, scalar=True).statistic, rtol=1e-5)
    new = X.to_numpy()[::50]
    got = ours.get_prediction(da.from_array(new, chunks=(len(new) // 3 + 1, -1)))
    expected = reference.get_prediction(new, which="mean").summary_frame(alpha=0.1)
    frame_ = got.summary_frame(alpha=0.1).compute()
    for column in ("predicted", "se", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(frame_[column], expected[column], rtol=1e-5, err_msg=column)
    if cov_type == "nonrobust":
        influence, sm_influence = ours.get_influence(), reference.get_influence()
        np.testing.assert_allclose(influence.hat_matrix_diag.compute(),
                                   sm_influence.hat_matrix_diag, rtol=1e-6)
        np.testing.assert_allclose(influence.cooks_distance[0].compute(),
                                   sm_influence.cooks_distance[0], rtol=1e-6,
                                   atol=1e-9 * sm_influence.cooks_distance[0].max())
