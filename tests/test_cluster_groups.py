"""Cluster-robust covariances with groups from the data, on any partitioning."""

import dask.dataframe as dd
import numpy as np
import pytest
import statsmodels.formula.api as smf

import daskglm

from glm_reference import CASES, frame, reference_fit

FORMULA = "mdvis ~ idp + lpi + C(lncoins)"


@pytest.fixture(scope="module")
def parquet_frame(tmp_path_factory):
    """randhie in 60 parquet files, string cluster labels that span files, and
    missing values the formula drops; dask fuses a single column's partitions."""
    data = frame("poisson").iloc[::3].reset_index(drop=True)
    data["household"] = (np.arange(len(data)) // 17 % 113).astype(str)
    data.loc[data.index[::41], "idp"] = np.nan
    path = tmp_path_factory.mktemp("parquet") / "randhie"
    dd.from_pandas(data, npartitions=60, sort=False).to_parquet(path)
    ddf = dd.read_parquet(path)
    assert ddf["household"].optimize().npartitions < ddf.npartitions    # fused
    return data, ddf


def _reference(data, cov_type="cluster"):
    complete = data.dropna(subset=["idp"])
    return reference_fit(smf.glm(FORMULA, complete, family=CASES["poisson"][1]),
                         cov_type=cov_type, cov_kwds={"groups": complete["household"]})


@pytest.mark.parametrize("use_correction", [True, False])
def test_groups_by_column_name_drop_rows_as_the_formula(parquet_frame, use_correction):
    data, ddf = parquet_frame
    model = daskglm.glm(FORMULA, ddf, family=daskglm.Poisson())
    ours = model.fit(cov_type="cluster", cov_kwds={"groups": "household",
                                                    "use_correction": use_correction})
    complete = data.dropna(subset=["idp"])
    reference = reference_fit(smf.glm(FORMULA, complete, family=CASES["poisson"][1]),
                              cov_type="cluster",
                              cov_kwds={"groups": complete["household"].to_numpy(),
                                        "use_correction": use_correction})
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=1e-5)
    assert ours.n_groups == complete["household"].nunique()
    np.testing.assert_allclose(ours.f_test("idp = 0").pvalue, reference.f_test("idp = 0").pvalue,
                               rtol=1e-5)


def test_groups_as_a_fused_dask_series(parquet_frame):
    data, ddf = parquet_frame
    full = ddf.fillna({"idp": 0.0})
    model = daskglm.glm(FORMULA, full, family=daskglm.Poisson())
    ours = model.fit(cov_type="cluster", cov_kwds={"groups": full["household"]})
    expected = data.fillna({"idp": 0.0})
    reference = reference_fit(smf.glm(FORMULA, expected, family=CASES["poisson"][1]),
                              cov_type="cluster",
                              cov_kwds={"groups": expected["household"].to_numpy()})
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=1e-5)


def test_bad_group_columns_are_refused(parquet_frame):
    data, ddf = parquet_frame
    model = daskglm.glm(FORMULA, ddf, family=daskglm.Poisson())
    with pytest.raises(ValueError, match="groups='nope' is not a column"):
        model.fit(cov_type="cluster", cov_kwds={"groups": "nope"})
    with pytest.raises(ValueError, match="one label per row the model uses"):
        model.fit(cov_type="cluster", cov_kwds={"groups": ddf["household"]})
    labelled = ddf.assign(broken=ddf["household"].where(ddf["mdvis"] < 20))
    with pytest.raises(ValueError, match="groups contain missing values"):
        daskglm.glm(FORMULA, labelled, family=daskglm.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": "broken"})
    arrays = daskglm.GLM(np.ones(10), np.ones((10, 1)))
    with pytest.raises(ValueError, match="needs a formula model"):
        arrays.fit(cov_type="cluster", cov_kwds={"groups": "household"})


def test_inference_runs_on_a_distributed_cluster(parquet_frame, distributed_client):
    """Column labels, predictions, influence and score tests in worker processes
    give the numbers of the threaded scheduler."""
    import dask

    data, ddf = parquet_frame
    model = daskglm.glm(FORMULA, ddf, family=daskglm.Poisson())
    ours = model.fit(cov_type="cluster", cov_kwds={"groups": "household"})
    new = dd.from_pandas(data.iloc[:300], npartitions=3, sort=False)
    table = ours.get_prediction(new).summary_frame().compute()
    cooks = ours.get_influence().cooks_distance[0].compute()
    score = ours.score_test(exog_extra=np.square(ours.get_hat_matrix_diag()), cov_type="HC0")
    with dask.config.set(scheduler="threads"):      # a model of its own: not persisted there
        local = daskglm.glm(FORMULA, ddf, family=daskglm.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": "household"})
        np.testing.assert_allclose(ours.bse, local.bse, rtol=1e-10)
        np.testing.assert_allclose(table, local.get_prediction(new).summary_frame().compute(),
                                   rtol=1e-10)
        np.testing.assert_allclose(cooks, local.get_influence().cooks_distance[0].compute(),
                                   rtol=1e-10)
        expected = local.score_test(exog_extra=np.square(local.get_hat_matrix_diag()),
                                    cov_type="HC0")
    np.testing.assert_allclose(score.statistic, expected.statistic, rtol=1e-8)


def test_cluster_labels_by_column_cost_one_pass(parquet_frame):
    from dask_counting import CountComputes

    _, ddf = parquet_frame
    model = daskglm.glm(FORMULA, ddf, family=daskglm.Poisson())
    with CountComputes():
        model._prepare()
        with CountComputes() as counter:
            result = model.fit(cov_type="cluster", cov_kwds={"groups": "household"})
    # the solver's passes, the statistics pass, and one for the labels' counts and levels
    assert counter.count == result.solver_result.n_passes + 2
