"""score_test of omitted columns against statsmodels, in one pass."""

import dask
import dask.array as da
import numpy as np
import pytest
import statsmodels.formula.api as smf

import daskglm

from dask_counting import CountComputes
from glm_reference import CASES, frame, partitioned, reference_fit


def _extra(case, data):
    """Two candidate columns the case's formula leaves out: squares and a product
    of standardized columns it has (and for the panel, the year)."""
    def standard(column):
        values = data[column].astype(float)
        return (values - values.mean()) / values.std()
    if case == "poisson":
        return np.column_stack([standard("lpi") ** 2, standard("disea") * standard("physlm")])
    if case == "logistic":
        return np.column_stack([standard("age") ** 2, standard("age") * standard("educ")])
    return np.column_stack([standard("year"), standard("value") * standard("capital")])


@pytest.mark.parametrize("case", sorted(CASES))
def test_score_test_of_omitted_columns_matches_statsmodels(case):
    family, sm_family, formula, _ = CASES[case]
    data = frame(case)
    extra = _extra(case, data)
    for cov_type in ("nonrobust", "HC0"):
        ours = daskglm.glm(formula, partitioned(data, 4), family=family).fit(cov_type=cov_type)
        reference = reference_fit(smf.glm(formula, data, family=sm_family), cov_type=cov_type)
        chunks = da.from_array(extra, chunks=(len(data) // 3 + 1, 1))   # other chunks
        for given in (extra, chunks):
            mine = ours.score_test(exog_extra=given)
            theirs = reference.score_test(exog_extra=extra)
            np.testing.assert_allclose(mine.statistic, np.squeeze(theirs.statistic), rtol=1e-6)
            np.testing.assert_allclose(mine.pvalue, np.squeeze(theirs.pvalue), rtol=1e-5)
            assert mine.k_constraint == theirs.k_constraint == 2
    separate = ours.score_test(exog_extra=extra, hypothesis="separate", cov_type="nonrobust")
    expected = reference.score_test(exog_extra=extra, hypothesis="separate",
                                    cov_type="nonrobust")
    tail = slice(-2, None)      # the fitted columns' scores are ~0: compare the extra ones
    np.testing.assert_allclose(separate.statistic[tail], expected.statistic[tail], rtol=1e-6)


def test_score_test_costs_one_pass_and_checks_exog_extra():
    family, _, formula, _ = CASES["poisson"]
    data = frame("poisson")
    with dask.config.set(scheduler="threads"):
        ours = daskglm.glm(formula, partitioned(data, 4), family=family).fit()
        extra = da.from_array(_extra("poisson", data), chunks=(5000, 1))
        with CountComputes() as counter:
            ours.score_test(exog_extra=extra)
        assert counter.count == 1
    with pytest.raises(ValueError, match="exog_extra has 10 rows but the model uses"):
        ours.score_test(exog_extra=np.ones((10, 1)))
    unknown = da.from_array(_extra("poisson", data), chunks=(5000, 2))
    unknown = unknown[unknown[:, 0] > -np.inf]
    with pytest.raises(ValueError, match="exog_extra has unknown chunk sizes"):
        ours.score_test(exog_extra=unknown)
    with pytest.raises(ValueError, match="exog_extra must be numeric"):
        ours.score_test(exog_extra=np.array([["a"]] * len(data)))
    with pytest.raises(ValueError, match="cov_type 'nonrobust' and 'HC0'"):
        ours.score_test(exog_extra=extra, cov_type="cluster")
    with pytest.raises(ValueError, match="needs exog_extra"):
        ours.score_test()
