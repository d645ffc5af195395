"""GLM and glm(): fits over partitioned real data against statsmodels' GLM."""

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import daskglm

from glm_reference import CASES, assert_matches, case_reference, frame, partitioned, reference_fit

# L-BFGS's gradient tolerance per case: tight enough for 1e-6 agreement in the
# coefficients, above the level where its line search meets the rounding of
# the objective (about sqrt(eps |objective| |Hessian|): 3e-9 for the Normal case).
LBFGS_TOL = {"poisson": 1e-8, "logistic": 1e-9, "normal": 1e-8}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("npartitions", [1, 6])
@pytest.mark.parametrize("method", ["newton", "lbfgs"])
def test_formula_fit_matches_statsmodels(case, npartitions, method):
    family, _, formula, _ = CASES[case]
    reference = case_reference(case)
    options = {"tol": LBFGS_TOL[case], "max_iter": 500} if method == "lbfgs" else {}
    result = daskglm.glm(formula, partitioned(frame(case), npartitions), family=family).fit(
        method=method, **options)
    assert result.converged
    assert result.model.exog_names == list(reference.params.index)
    assert_matches(result, reference)


@pytest.mark.parametrize("case,arguments", [
    ("poisson", {"offset": "offset"}),
    ("poisson", {"exposure": "exposure"}),
    ("poisson", {"freq_weights": "fw"}),
    ("poisson", {"var_weights": "vw"}),
    ("poisson", {"offset": "offset", "exposure": "exposure", "freq_weights": "fw",
                 "var_weights": "vw"}),
    ("logistic", {"freq_weights": "fw", "var_weights": "vw"}),
    ("normal", {"freq_weights": "fw"}),
    ("normal", {"var_weights": "vw"}),
])
def test_offset_exposure_and_weights_match_statsmodels(case, arguments):
    family, _, formula, _ = CASES[case]
    reference = case_reference(case, **arguments)
    model = daskglm.glm(formula, partitioned(frame(case), 5), family=family, **arguments)
    assert_matches(model.fit(), reference)


def test_weights_given_as_aligned_arrays():
    family, _, formula, _ = CASES["poisson"]
    data = frame("poisson")
    reference = case_reference("poisson", offset="offset", freq_weights="fw", var_weights="vw")
    ddf = partitioned(data, 4)
    model = daskglm.glm(formula, ddf, family=family,
                        offset=data["offset"].to_numpy(),                       # numpy
                        freq_weights=da.from_array(data["fw"].to_numpy(), 3000),  # dask array
                        var_weights=ddf["vw"])                                  # dask series
    assert_matches(model.fit(), reference)


@pytest.mark.parametrize("case", ["poisson", "logistic"])
@pytest.mark.parametrize("cov_type", ["HC0", "HC1"])
def test_robust_covariances_match_statsmodels(case, cov_type):
    family, _, formula, _ = CASES[case]
    reference = case_reference(case, cov_type, freq_weights="fw", var_weights="vw")
    result = daskglm.glm(formula, partitioned(frame(case), 4), family=family, freq_weights="fw",
                         var_weights="vw").fit(cov_type=cov_type)
    assert result.cov_type == cov_type
    assert_matches(result, reference)
    np.testing.assert_allclose(result.cov_params(), reference.cov_params(), rtol=1e-5)


@pytest.mark.filterwarnings("ignore:cov_type not fully supported")  # statsmodels, weights
@pytest.mark.parametrize("case,use_correction", [("normal", True), ("poisson", False)])
def test_cluster_robust_covariance_matches_statsmodels(case, use_correction):
    family, sm_family, formula, _ = CASES[case]
    data = frame(case)
    # clusters cut across the partitions (which follow the sorted categorical)
    data["cluster"] = (data["year"].astype(int).astype(str) if case == "normal" else
                       data["idp"].astype(str) + "/" + data["physlm"].round().astype(str))
    reference = smf.glm(formula, data, family=sm_family, var_weights=data["vw"]).fit(
        tol=1e-12, cov_type="cluster",
        cov_kwds={"groups": data["cluster"], "use_correction": use_correction})
    ddf = partitioned(data, 4)
    result = daskglm.glm(formula, ddf, family=family, var_weights="vw").fit(
        cov_type="cluster", cov_kwds={"groups": ddf["cluster"],
                                      "use_correction": use_correction})
    assert result.n_groups == data["cluster"].nunique()
    assert_matches(result, reference)
    with pytest.raises(ValueError, match="one label per row"):
        daskglm.glm(formula, ddf, family=family).fit(
            cov_type="cluster", cov_kwds={"groups": data["cluster"].to_numpy()[:-1]})
    with pytest.raises(ValueError, match="needs cov_kwds"):
        daskglm.glm(formula, ddf, family=family).fit(cov_type="cluster")


def test_missing_rows_are_dropped_like_statsmodels():
    data = frame("poisson").iloc[:4000].copy()
    data.loc[[3, 900], "lpi"] = np.nan
    data.loc[[10, 2500], "mdvis"] = np.nan
    data.loc[[20], "offset"] = np.nan
    data.loc[[30], "fw"] = np.nan
    data.loc[[40], "exposure"] = np.nan
    data["lncoins_text"] = data["lncoins"].round(2).astype(str)
    data.loc[[50, 3000], "lncoins_text"] = None
    formula = "mdvis ~ C(lncoins_text) + idp + lpi + fmde + physlm + disea"
    arguments = {"offset": "offset", "exposure": "exposure", "freq_weights": "fw"}
    reference = reference_fit(smf.glm(formula, data, family=sm.families.Poisson(),
                                      **{r: data[c] for r, c in arguments.items()}))
    assert reference.nobs == len(data) - 9
    result = daskglm.glm(formula, partitioned(data, 3), family="poisson", **arguments).fit()
    assert_matches(result, reference)


def test_missing_raise_names_what_is_missing():
    data = frame("normal")
    data.loc[[5, 6], "capital"] = np.nan
    with pytest.raises(ValueError, match=r"standardize\(capital\)' \(2 rows\).*missing='drop'"):
        daskglm.glm(CASES["normal"][2], partitioned(data, 3), missing="raise")


def test_rank_deficient_design_names_the_collinear_columns():
    data = frame("normal")
    data["twice_value"] = 2.0 * data["value"]
    model = daskglm.glm("invest ~ value + capital + twice_value + C(firm)",
                        partitioned(data, 3))
    with pytest.raises(ValueError, match=r"rank deficient \(rank 13 of 14.*'value', 'twice_value'"):
        model.fit()
    # a penalty makes the problem well posed: no error
    assert model.fit_regularized("l2", alpha=0.1).params.notna().all()


def test_dummy_trap_is_reported():
    data = frame("logistic")
    data["occupation_one"] = (data["occupation"] == 1.0).astype(float)
    model = daskglm.glm("any_affair ~ educ + C(occupation) + occupation_one",
                        partitioned(data, 4), family="binomial")
    with pytest.raises(ValueError, match=r"'Intercept', 'C\(occupation\)\[T.2.0\]'.*"
                                         r"'occupation_one'"):
        model.fit()


def test_unknown_column_fails_at_glm_time():
    data = partitioned(frame("normal"), 2)
    with pytest.raises(ValueError, match=r"refers to 'capitol'.*neither a column"):
        daskglm.glm("invest ~ value + np.log(capitol)", data)
    with pytest.raises(ValueError, match=r"offset='nope' is not a column"):
        daskglm.glm("invest ~ value", data, offset="nope")


def test_array_model_matches_statsmodels_for_numpy_pandas_and_dask():
    data = frame("poisson")
    exog = sm.add_constant(data[["idp", "lpi", "fmde", "physlm", "disea"]])
    reference = reference_fit(sm.GLM(data["mdvis"], exog, family=sm.families.Poisson(),
                                     exposure=data["exposure"]))
    for endog, design in [
        (data["mdvis"], exog),                                              # pandas
        (data["mdvis"].to_numpy(), exog.to_numpy()),                        # numpy
        (da.from_array(data["mdvis"].to_numpy(), chunks=5000),
         da.from_array(exog.to_numpy(), chunks=(5000, 6))),                 # dask
    ]:
        result = daskglm.GLM(endog, design, family=daskglm.Poisson(),
                             exposure=data["exposure"].to_numpy()).fit()
        np.testing.assert_allclose(result.params, reference.params, rtol=1e-6)
        np.testing.assert_allclose(result.bse, reference.bse, rtol=1e-5)
        np.testing.assert_allclose(result.llf, reference.llf, rtol=1e-6)
    assert result.model.exog_names == ["const", "x1", "x2", "x3", "x4", "x5"]
    assert list(daskglm.GLM(data["mdvis"], exog, family="poisson").exog_names) == list(exog)


def test_array_model_missing_drop():
    data = frame("normal")
    exog = sm.add_constant(data[["value", "capital"]]).to_numpy()
    endog = data["invest"].to_numpy().copy()
    endog[[4, 60]] = np.nan
    exog[100, 1] = np.nan
    reference = reference_fit(sm.GLM(endog, exog, missing="drop"))
    dask_endog = da.from_array(endog, chunks=50)
    result = daskglm.GLM(dask_endog, da.from_array(exog, chunks=(50, 3)), missing="drop").fit()
    assert result.nobs == reference.nobs == len(endog) - 3
    assert_matches(result, reference)
    with pytest.raises(ValueError, match="NaN"):
        daskglm.GLM(dask_endog, exog).fit()


def test_exposure_needs_log_link_and_positive_values():
    data = frame("poisson").iloc[:500].copy()
    with pytest.raises(ValueError, match="exposure can only be used with the log link"):
        daskglm.glm("mdvis ~ lpi", data, family=daskglm.Logistic(), exposure="exposure")
    data.loc[7, "exposure"] = 0.0
    with pytest.raises(ValueError, match="exposure must be positive"):
        daskglm.glm("mdvis ~ lpi", partitioned(data, 2), family="poisson", exposure="exposure")


def test_fit_does_not_mutate_model_or_data():
    data = frame("logistic")
    before = data.copy()
    model = daskglm.glm(CASES["logistic"][2], partitioned(data, 3), family="binomial")
    state = dict(vars(model))
    first = model.fit()
    second = model.fit(method="lbfgs", tol=LBFGS_TOL["logistic"], max_iter=500,
                       cov_type="HC0")
    third = model.fit()
    assert {k: v for k, v in vars(model).items() if k != "_prepared"} == \
        {k: v for k, v in state.items() if k != "_prepared"}
    pd.testing.assert_frame_equal(data, before)
    np.testing.assert_array_equal(first.params, third.params)
    np.testing.assert_allclose(first.params, second.params, rtol=1e-6)
    assert first.cov_type == "nonrobust" and second.cov_type == "HC0"


def test_solver_options_and_callbacks_pass_through():
    data = partitioned(frame("normal"), 2)
    model = daskglm.glm(CASES["normal"][2], data)
    records = []
    result = model.fit(method="lbfgs", tol=LBFGS_TOL["normal"], max_iter=500, memory=5,
                       callback=records.append, progress=True)
    assert result.method == "lbfgs" and len(records) == result.n_iter
    with pytest.raises(TypeError, match="rho"):
        model.fit(method="newton", rho=1.0)
    with pytest.raises(ValueError, match="unknown solver"):
        model.fit(method="no-such-solver")
    with pytest.raises(ValueError, match="cov_type"):
        model.fit(cov_type="HC9")


def test_intercept_is_never_penalized():
    data = frame("logistic")
    result = daskglm.glm(CASES["logistic"][2], partitioned(data, 3),
                         family="binomial").fit_regularized("l1", alpha=1.0)
    # a huge L1 penalty zeroes every slope, never the intercept: it is the null model
    slopes = result.params.drop("Intercept")
    np.testing.assert_array_equal(slopes, 0.0)
    mean = data["any_affair"].mean()
    np.testing.assert_allclose(result.params["Intercept"], np.log(mean / (1 - mean)), rtol=1e-7)
    np.testing.assert_allclose(result.llf, result.llnull, rtol=1e-10)


def test_l2_fit_meets_its_optimality_condition():
    data = frame("poisson")
    alpha = 0.05
    result = daskglm.glm(CASES["poisson"][2], partitioned(data, 4),
                         family="poisson").fit_regularized("l2", alpha=alpha, method="lbfgs",
                                                           tol=1e-8, max_iter=500)
    # mean gradient of the negative log-likelihood + alpha * coef (intercept unpenalized) = 0
    X = result.model.formula.design_info
    import patsy
    exog = np.asarray(patsy.build_design_matrices([X], data)[0])
    mu = np.exp(exog @ result.params.to_numpy())
    gradient = exog.T @ (mu - data["mdvis"].to_numpy()) / len(data)
    penalty = alpha * result.params.to_numpy()
    penalty[0] = 0.0
    np.testing.assert_allclose(gradient + penalty, 0.0, atol=1e-8)
    assert result.bse.isna().all()


def test_parquet_files_end_to_end(tmp_path):
    data = frame("poisson")
    for i, (_, part) in enumerate(data.groupby("lncoins", sort=True)):
        part.to_parquet(tmp_path / f"part-{i}.parquet")
    ddf = dd.read_parquet(str(tmp_path))
    assert ddf.npartitions >= 4
    stored = ddf.compute().reset_index(drop=True)
    family, sm_family, formula, _ = CASES["poisson"]
    reference = reference_fit(smf.glm(formula, stored, family=sm_family,
                                      exposure=stored["exposure"]))
    result = daskglm.glm(formula, ddf, family=family, exposure="exposure").fit()
    assert_matches(result, reference)
    predicted = result.predict(ddf, exposure="exposure").compute().to_numpy()
    np.testing.assert_allclose(predicted, reference.predict(stored, exposure=stored["exposure"]),
                               rtol=1e-6)


def test_formula_fit_on_a_distributed_cluster(distributed_client):
    """Recipes travel to worker processes (patsy's objects cannot be pickled)."""
    family, _, formula, _ = CASES["logistic"]
    data = frame("logistic")
    reference = case_reference("logistic", "HC0", var_weights="vw")
    result = daskglm.glm(formula, partitioned(data, 4), family=family,
                         var_weights="vw").fit(cov_type="HC0")
    predicted = result.predict(partitioned(data, 3)).compute()
    residuals = result.resid_deviance.compute()
    assert_matches(result, reference)
    np.testing.assert_allclose(predicted, reference.predict(data), rtol=1e-6)
    np.testing.assert_allclose(residuals, reference.resid_deviance, rtol=1e-6, atol=1e-7)


def test_response_outside_the_family_domain_is_refused_naming_rows():
    data = frame("normal")
    with pytest.raises(ValueError, match=r"I\(invest / 100 - 5\) has \d+ value\(s\) outside "
                                         r"the Poisson family's domain"):
        daskglm.glm("I(invest / 100 - 5) ~ value", partitioned(data, 3),
                    family="poisson").fit()
