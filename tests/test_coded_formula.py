"""Formula fits whose large categoricals are coded, against statsmodels."""

import json

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import daskglm
from daskglm.frontend.formula_blocks import CODED_MIN_COLUMNS


def _claims(n=4000, zones=60, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.uniform(18, 80, n),
        "region": rng.choice(list("ABCDE"), n),
        "zone": np.char.add("z", rng.integers(0, zones, n).astype(str)),
        "years": rng.uniform(0.2, 2.0, n),
    })
    zone_effect = dict(zip(sorted(df["zone"].unique()), rng.normal(0, 0.3, zones)))
    eta = -1.5 + 0.01 * df["age"] + df["zone"].map(zone_effect) + np.log(df["years"])
    df["claims"] = rng.poisson(np.exp(eta))
    # sorted by zone: every partition lacks most zones
    return df.sort_values("zone", kind="stable").reset_index(drop=True)


def _compare(ours, theirs):
    assert list(ours.params.index) == list(theirs.params.index)
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-5)
    np.testing.assert_allclose(ours.pvalues, theirs.pvalues, rtol=1e-4, atol=1e-10)
    np.testing.assert_allclose(ours.conf_int(), theirs.conf_int(), rtol=1e-6, atol=1e-6)
    for name in ("deviance", "llf", "llnull", "null_deviance", "pearson_chi2", "aic", "scale"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-8,
                                   err_msg=name)


@pytest.mark.parametrize("zones", [40, 120])
def test_poisson_with_exposure_matches_statsmodels(zones):
    df = _claims(zones=zones)
    formula = "claims ~ age + C(region) + C(zone)"
    model = daskglm.glm(formula, dd.from_pandas(df, npartitions=4, sort=False),
                        family=daskglm.Poisson(), exposure="years")
    design = model._prepare()[0]
    assert design.coded is not None and design.coded.n_levels == (zones - 1,)
    assert design.X.shape[1] == 1 + 4 + 1           # intercept, region, age stay dense
    ours = model.fit(tol=1e-10)
    theirs = smf.glm(formula, df, family=sm.families.Poisson(),
                     exposure=df["years"]).fit(tol=1e-12)
    _compare(ours, theirs)
    assert ours.converged
    # the summary's coefficient table
    ours_table = ours.summary().tables[1].data
    theirs_table = theirs.summary().tables[1].data
    assert ours_table == theirs_table
    # cov_params through the blocks
    np.testing.assert_allclose(ours.cov_params(), theirs.cov_params(), rtol=1e-5, atol=1e-12)
    # fitted values and predictions from the codes
    np.testing.assert_allclose(np.asarray(ours.fittedvalues), theirs.fittedvalues, rtol=1e-6)
    new = df.sample(300, random_state=1)
    np.testing.assert_allclose(
        ours.predict(new, exposure="years"),
        theirs.predict(new, exposure=new["years"]), rtol=1e-6)


def test_normal_with_two_coded_terms_matches_statsmodels():
    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.integers(0, 50, n).astype(str),
                       "h": rng.integers(0, 40, n).astype(str),
                       "k": rng.choice(["p", "q", "r"], n)})
    df["y"] = 0.5 * df["x"] + df["g"].str.len() * 0.1 + rng.normal(size=n)
    formula = "y ~ x + C(g) + h + k"
    model = daskglm.glm(formula, dd.from_pandas(df, npartitions=3, sort=False))
    design = model._prepare()[0]
    assert design.coded.n_levels == (49, 39)
    ours = model.fit()
    theirs = smf.glm(formula, df).fit()
    _compare(ours, theirs)


def test_small_categoricals_stay_dense_and_empty_levels_are_named():
    df = _claims(zones=CODED_MIN_COLUMNS + 1)      # 32 columns: dense
    model = daskglm.glm("claims ~ C(zone)", dd.from_pandas(df, npartitions=2, sort=False),
                        family=daskglm.Poisson())
    assert model._prepare()[0].coded is None
    df = _claims(zones=50)
    levels = sorted(df["zone"].unique())
    df["zone"] = pd.Categorical(df["zone"], categories=levels + ["z_never"])
    model = daskglm.glm("claims ~ C(zone)", dd.from_pandas(df, npartitions=2, sort=False),
                        family=daskglm.Poisson())
    assert model._prepare()[0].coded is not None
    with pytest.raises(ValueError, match=r"C\(zone\)\[T.z_never\]"):
        model.fit()


def _frame_close(ours, theirs, rtol):
    """A PredictionResults' summary frame against statsmodels' (column for column)."""
    ours = ours.compute() if hasattr(ours, "compute") else ours
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=rtol)


@pytest.mark.parametrize(("cov_type", "zones"), [("HC0", 40), ("HC1", 120), ("cluster", 80)])
def test_robust_covariance_and_prediction_match_statsmodels(cov_type, zones):
    df = _claims(zones=zones, seed=11)
    df["agency"] = np.random.default_rng(12).integers(0, 35, len(df))
    formula = "claims ~ age + C(region) + C(zone)"
    model = daskglm.glm(formula, dd.from_pandas(df, npartitions=4, sort=False),
                        family=daskglm.Poisson(), exposure="years")
    cluster = cov_type == "cluster"
    ours = model.fit(tol=1e-10, cov_type=cov_type,
                     cov_kwds={"groups": "agency"} if cluster else None)
    assert model._prepare()[0].coded is not None
    theirs = smf.glm(formula, df, family=sm.families.Poisson(), exposure=df["years"]).fit(
        tol=1e-12, cov_type=cov_type, cov_kwds={"groups": df["agency"]} if cluster else None)
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-5)
    np.testing.assert_allclose(ours.cov_params(), theirs.cov_params(), rtol=1e-5, atol=1e-12)
    new = df.sample(300, random_state=4)
    _frame_close(ours.get_prediction(new, exposure="years").summary_frame(),
                 theirs.get_prediction(new, exposure=new["years"]).summary_frame(), 1e-6)
    # the training rows, from their codes (statsmodels needs their exposure given)
    _frame_close(ours.get_prediction(which="linear").summary_frame(),
                 theirs.get_prediction(df, exposure=df["years"], which="linear"
                                       ).summary_frame(), 1e-6)


def test_nonrobust_prediction_from_the_blocks_matches_statsmodels():
    df = _claims(zones=90, seed=13)
    formula = "claims ~ age + C(region) + C(zone)"
    ours = daskglm.glm(formula, dd.from_pandas(df, npartitions=3, sort=False),
                       family=daskglm.Poisson(), exposure="years").fit(tol=1e-10)
    theirs = smf.glm(formula, df, family=sm.families.Poisson(),
                     exposure=df["years"]).fit(tol=1e-12)
    new = df.sample(300, random_state=5)
    _frame_close(ours.get_prediction(new, exposure="years").summary_frame(alpha=0.1),
                 theirs.get_prediction(new, exposure=new["years"]).summary_frame(alpha=0.1),
                 1e-6)
    # after remove_data: new data still predict (the blocks stay with the results)
    ours.remove_data()
    _frame_close(ours.get_prediction(new, exposure="years").summary_frame(),
                 theirs.get_prediction(new, exposure=new["years"]).summary_frame(), 1e-6)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-5)


def test_non_canonical_link_sandwich_matches_statsmodels():
    """The observed information (the sandwich's bread) in blocks, for a sqrt link."""
    df = _claims(zones=45, seed=14)
    formula = "claims ~ age + C(zone)"
    family = daskglm.Poisson(link=daskglm.links.Sqrt())
    ours = daskglm.glm(formula, dd.from_pandas(df, npartitions=2, sort=False),
                       family=family).fit(tol=1e-10, cov_type="HC0")
    theirs = smf.glm(formula, df, family=sm.families.Poisson(sm.families.links.Sqrt())).fit(
        tol=1e-12, cov_type="HC0")
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-5)


def test_what_a_coded_design_cannot_have_is_refused_before_fitting(monkeypatch):
    import daskglm.inference.covariance as covariance

    df = _claims(zones=50)
    model = daskglm.glm("claims ~ C(zone)", dd.from_pandas(df, npartitions=2, sort=False),
                        family=daskglm.Poisson())
    with pytest.raises(ValueError, match="'HC2' is not available .* coded"):
        model.fit(cov_type="HC2")
    with pytest.raises(ValueError, match="influence measures are not available .* coded"):
        model.fit().get_influence()
    monkeypatch.setattr(covariance, "DENSE_COVARIANCE_LIMIT", 30)
    with pytest.raises(ValueError, match="above 30 coefficients only cov_type='nonrobust'"):
        model.fit(cov_type="HC0", method=_never_called)


def _never_called(*args, **kwargs):
    raise AssertionError("the solver ran before the covariance type was refused")


@pytest.mark.parametrize("formula", ["claims ~ age + C(zone, Treatment('z5'))",
                                     "claims ~ 0 + C(zone) + age"])
def test_lazy_treatment_contrast_matches_statsmodels(monkeypatch, formula):
    """From LAZY_LEVELS levels no identity contrast is built; the fit is unchanged."""
    import daskglm.frontend.recipe as recipe

    monkeypatch.setattr(recipe, "LAZY_LEVELS", 10)
    df = _claims(zones=45, seed=5)
    model = daskglm.glm(formula, dd.from_pandas(df, npartitions=3, sort=False),
                        family=daskglm.Poisson(), exposure="years")
    contrasts = [c for subterms in model.design_info.term_codings.values()
                 for sub in subterms for c in sub.contrast_matrices.values()]
    assert any(c.matrix.strides == (0, 0) for c in contrasts)
    ours = model.fit(tol=1e-10)
    theirs = smf.glm(formula, df, family=sm.families.Poisson(),
                     exposure=df["years"]).fit(tol=1e-12)
    _compare(ours, theirs)
    new = df.sample(100, random_state=2)
    np.testing.assert_allclose(ours.predict(new, exposure="years"),
                               theirs.predict(new, exposure=new["years"]), rtol=1e-6)


def test_lazy_contrast_in_an_interaction_is_refused(monkeypatch):
    import daskglm.frontend.recipe as recipe

    monkeypatch.setattr(recipe, "LAZY_LEVELS", 10)
    df = _claims(zones=45, seed=6)
    with pytest.raises(ValueError, match="interaction"):
        daskglm.glm("claims ~ C(zone):age", dd.from_pandas(df, npartitions=2, sort=False),
                    family=daskglm.Poisson())


def test_weights_and_missing_rows_match_statsmodels():
    df = _claims(n=3000, zones=45, seed=7)
    rng = np.random.default_rng(8)
    df["fw"] = rng.integers(1, 4, len(df)).astype(float)
    df["vw"] = rng.uniform(0.5, 2.0, len(df))
    df.loc[rng.choice(len(df), 30, replace=False), "age"] = np.nan
    formula = "claims ~ age + C(zone)"
    model = daskglm.glm(formula, dd.from_pandas(df, npartitions=3, sort=False),
                        family=daskglm.Poisson(), freq_weights="fw", var_weights="vw")
    assert model._prepare()[0].coded is not None
    ours = model.fit(tol=1e-10)
    kept = df.dropna()
    theirs = smf.glm(formula, kept, family=sm.families.Poisson(), freq_weights=kept["fw"],
                     var_weights=kept["vw"]).fit(tol=1e-12)
    _compare(ours, theirs)
    assert ours.nobs == theirs.nobs and ours.df_resid == theirs.df_resid


def test_saved_coded_fit_predicts_from_codes(tmp_path):
    from daskglm.frontend.saved import load_fit, save_results

    df = _claims(zones=70, seed=9)
    result = daskglm.glm("claims ~ age + C(zone)", dd.from_pandas(df, npartitions=2, sort=False),
                         family=daskglm.Poisson(), exposure="years").fit()
    save_results(result, tmp_path / "fit.json")
    saved = load_fit(tmp_path / "fit.json")
    assert saved.design.coded is not None
    new = df.sample(50, random_state=3)
    np.testing.assert_allclose(saved.predict(new, exposure="years"),
                               result.predict(new, exposure="years"), rtol=1e-12)
    # its saved covariance gives the results' intervals, from the rows' codes
    np.testing.assert_allclose(saved.get_prediction(new, exposure="years").summary_frame(),
                               result.get_prediction(new, exposure="years").summary_frame(),
                               rtol=1e-10)


def test_a_fit_of_6000_levels_saves_without_its_covariance_and_predicts(tmp_path):
    from daskglm.frontend.saved import load_fit, save_results

    levels, per_level = 6000, 4
    rng = np.random.default_rng(15)
    shop = np.repeat(np.arange(levels), per_level)
    df = pd.DataFrame({"shop": np.char.add("s", shop.astype(str)),
                       "x": rng.normal(size=shop.size)})
    effect = rng.normal(0, 0.3, levels)
    df["y"] = rng.poisson(np.exp(1.0 + 0.2 * df["x"] + effect[shop]))
    df.loc[::per_level, "y"] = np.maximum(df["y"][::per_level], 1)   # no all-zero shop
    result = daskglm.glm("y ~ x + C(shop)", dd.from_pandas(df, npartitions=2, sort=False),
                         family=daskglm.Poisson()).fit()
    assert result.converged and len(result.params) == levels + 1
    save_results(result, tmp_path / "fit.json")
    document = json.loads((tmp_path / "fit.json").read_text())
    assert document["cov_params"] is None and len(document["bse"]) == levels + 1
    saved = load_fit(tmp_path / "fit.json")
    new = df.sample(500, random_state=6)
    np.testing.assert_allclose(saved.predict(new), result.predict(new), rtol=1e-12)
    np.testing.assert_allclose(saved.bse, result.bse, rtol=1e-12)
    with pytest.raises(ValueError, match="holds no covariance matrix"):
        saved.get_prediction(new)
    # the results themselves predict with standard errors from the blocks
    frame = result.get_prediction(new).summary_frame()
    assert np.all(np.isfinite(frame.to_numpy())) and np.all(frame["se"] > 0)
