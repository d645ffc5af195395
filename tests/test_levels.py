"""Categorical levels: unseen levels at prediction time, per-term ridge, all-level
designs and the bad input of issue 19, for expanded and coded categoricals."""

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import daskglm
from daskglm.cli.main import main
from daskglm.frontend.saved import load_fit, save_results

FORMULA = "claims ~ age + C(zone)"


def _claims(zones, n=1500, seed=0):
    rng = np.random.default_rng(seed)
    names = np.array([f"z{i:03d}" for i in range(zones)])
    df = pd.DataFrame({"age": rng.uniform(18, 80, n), "zone": rng.choice(names, n)})
    effect = dict(zip(names, rng.normal(0, 0.3, zones)))
    df["claims"] = rng.poisson(np.exp(-1.0 + 0.01 * df["age"] + df["zone"].map(effect)))
    return df


@pytest.fixture(scope="module", params=[4, 40], ids=["expanded", "coded"])
def fitted(request):
    """``(ours, statsmodels', data)`` of a Poisson fit with a 4-level (dense)
    or 40-level (coded) zone."""
    df = _claims(request.param)
    ours = daskglm.glm(FORMULA, dd.from_pandas(df, npartitions=3, sort=False),
                       family=daskglm.Poisson()).fit(tol=1e-10)
    assert (ours.model._prepare()[0].coded is not None) == (request.param == 40)
    theirs = smf.glm(FORMULA, df, family=sm.families.Poisson()).fit(tol=1e-12)
    return ours, theirs, df


def _new_rows(df):
    """Six rows: three seen zones and three unseen (two distinct values)."""
    seen = sorted(df["zone"].unique())
    return pd.DataFrame({"age": [20.0, 35.0, 50.0, 65.0, 40.0, 30.0],
                         "zone": [seen[1], "new1", seen[2], "new2", "new1", seen[0]]})


UNSEEN_ROWS = np.array([False, True, False, True, True, False])


def test_unseen_level_is_an_error_naming_column_count_and_levels(fitted):
    ours, theirs, df = fitted
    new = _new_rows(df)
    with pytest.raises(Exception, match="does not match any of the expected levels"):
        theirs.predict(new)                  # what statsmodels does: refuse
    for call in (lambda: ours.predict(new), lambda: ours.get_prediction(new).predicted_mean,
                 lambda: ours.predict(dd.from_pandas(new, npartitions=1)).compute()):
        with pytest.raises(ValueError, match=r"column 'zone' has 3 row\(s\) with level\(s\) "
                                             r"\['new1', 'new2'\] not seen"):
            call()


def test_unseen_error_caps_the_levels_it_lists(fitted):
    ours, _, df = fitted
    new = pd.DataFrame({"age": np.full(50, 30.0), "zone": [f"new{i}" for i in range(50)]})
    with pytest.raises(ValueError, match=r"50 row\(s\).*'new4', \.\.\. and 45 more\]") as info:
        ours.predict(new)
    assert len(str(info.value)) < 600


def test_unseen_reference_predicts_the_reference_level(fitted):
    ours, theirs, df = fitted
    new = _new_rows(df)
    as_reference = new.assign(zone=np.where(UNSEEN_ROWS, sorted(df["zone"].unique())[0],
                                            new["zone"]))
    expected = theirs.predict(as_reference).to_numpy()
    np.testing.assert_allclose(ours.predict(new, unseen="reference"), expected, rtol=1e-7)
    lazy = ours.predict(dd.from_pandas(new, npartitions=2), unseen="reference").compute()
    np.testing.assert_allclose(lazy, expected, rtol=1e-7)
    prediction = ours.get_prediction(new, unseen="reference")
    reference = theirs.get_prediction(as_reference)
    np.testing.assert_allclose(prediction.predicted_mean, reference.predicted_mean, rtol=1e-7)
    np.testing.assert_allclose(prediction.se_mean, reference.se_mean, rtol=1e-5)


def test_unseen_nan_predicts_nan_for_those_rows_only(fitted):
    ours, theirs, df = fitted
    new = _new_rows(df)
    out = ours.predict(new, unseen="nan", which="linear")
    assert np.isnan(out[UNSEEN_ROWS]).all()
    expected = theirs.predict(new[~UNSEEN_ROWS], which="linear")
    np.testing.assert_allclose(out[~UNSEEN_ROWS], expected, rtol=1e-7)
    table = ours.get_prediction(new, unseen="nan").summary_frame()
    assert table[UNSEEN_ROWS].isna().all().all() and table[~UNSEEN_ROWS].notna().all().all()


def test_unseen_in_a_pandas_categorical_column(fitted):
    ours, theirs, df = fitted
    new = _new_rows(df)
    new["zone"] = new["zone"].astype("category")
    with pytest.raises(ValueError, match="'zone' has 3 row"):
        ours.predict(new)
    out = ours.predict(new, unseen="nan")
    np.testing.assert_allclose(out[~UNSEEN_ROWS],
                               theirs.predict(_new_rows(df)[~UNSEEN_ROWS]), rtol=1e-7)
    assert ours.predict(new, unseen="reference").notna().all()


def test_unseen_option_is_checked(fitted):
    ours, _, df = fitted
    with pytest.raises(ValueError, match="unseen must be one of"):
        ours.predict(_new_rows(df), unseen="drop")
    array_fit = daskglm.GLM(df["claims"].to_numpy(), np.ones((len(df), 1)),
                            family=daskglm.Poisson()).fit()
    with pytest.raises(ValueError, match="no formula"):
        array_fit.predict(np.ones((2, 1)), unseen="nan")


def test_saved_fit_and_cli_handle_unseen_levels(fitted, tmp_path, capsys):
    ours, _, df = fitted
    new = _new_rows(df)
    path = save_results(ours, tmp_path / "fit.json")
    loaded = load_fit(path)
    with pytest.raises(ValueError, match="'zone' has 3 row"):
        loaded.predict(new)
    np.testing.assert_allclose(loaded.predict(new, unseen="reference"),
                               ours.predict(new, unseen="reference"), rtol=1e-12)
    np.testing.assert_allclose(loaded.get_prediction(new, unseen="nan").predicted_mean,
                               ours.predict(new, unseen="nan"), rtol=1e-12)
    data = tmp_path / "new.csv"
    new.to_csv(data, index=False)
    output = tmp_path / "out.csv"
    assert main(["predict", str(path), str(data), "--output", str(output),
                 "--unseen", "nan"]) == 0
    written = pd.read_csv(output)["predicted"].to_numpy()
    np.testing.assert_allclose(written, ours.predict(new, unseen="nan"), rtol=1e-9)
    capsys.readouterr()
    status = main(["predict", str(path), str(data), "--output", str(tmp_path / "o2.csv")])
    assert status != 0
    assert "'zone' has 3 row" in capsys.readouterr().err


# -- a ridge per categorical term --------------------------------------------
RIDGE = {"C(zone)": 0.05, "C(region)": 0.01}
RIDGE_FORMULA = "claims ~ age + C(region) + C(zone)"


def _with_region(df):
    return df.assign(region=np.random.default_rng(1).choice(list("ABC"), len(df)))


def _penalized_gradient(theirs, params, alpha):
    """The gradient of DESIGN.md's objective (mean Poisson nll + ridge), by numpy
    on statsmodels' expanded design: zero at the optimum."""
    X, y = theirs.model.exog, theirs.model.endog
    mu = np.exp(X @ params)
    return X.T @ (mu - y) / len(y) + alpha * params


@pytest.mark.parametrize("zones", [4, 40], ids=["expanded", "coded"])
@pytest.mark.parametrize("method", ["newton", "lbfgs"])
def test_ridge_per_term_matches_statsmodels_alpha_vector(zones, method):
    df = _with_region(_claims(zones))
    model = daskglm.glm(RIDGE_FORMULA, dd.from_pandas(df, npartitions=3, sort=False),
                        family=daskglm.Poisson())
    assert (model._prepare()[0].coded is not None) == (zones == 40)
    tol = {"newton": 1e-10, "lbfgs": 1e-8}[method]
    ours = model.fit_regularized("l2", alpha=RIDGE, method=method, tol=tol)
    reference = smf.glm(RIDGE_FORMULA, df, family=sm.families.Poisson())
    alpha = np.array([RIDGE.get(name.split("[")[0], 0.0) for name in reference.exog_names])
    theirs = reference.fit_regularized(method="elastic_net", alpha=alpha, L1_wt=0.0,
                                       cnvrg_tol=1e-14, maxiter=2000)
    assert ours.converged and list(ours.params.index) == reference.exog_names
    np.testing.assert_allclose(ours.params, theirs.params, atol=2e-5)  # statsmodels' accuracy
    gradient = _penalized_gradient(reference.fit(), ours.params.to_numpy(), alpha)
    assert np.max(np.abs(gradient)) < 10 * tol
    assert ours.regularizer.alpha.tolist() == alpha.tolist()        # in exog_names order
    # the same strengths as one value per coefficient, and by coefficient name
    by_vector = model.fit_regularized(daskglm.L2(alpha), method=method, tol=tol)
    np.testing.assert_allclose(by_vector.params, ours.params, rtol=1e-9, atol=1e-10)
    names = pd.Series(alpha, index=reference.exog_names)[alpha > 0]
    by_name = model.fit_regularized("l2", alpha=names, method=method, tol=tol)
    np.testing.assert_allclose(by_name.params, ours.params, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("method", ["gradient_descent", "proximal_grad", "admm"])
def test_ridge_per_term_with_first_order_solvers(method):
    df = _with_region(_claims(4))
    model = daskglm.glm(RIDGE_FORMULA, df, family=daskglm.Poisson())
    ours = model.fit_regularized("l2", alpha=RIDGE, method=method, tol=1e-8, max_iter=5000)
    reference = smf.glm(RIDGE_FORMULA, df, family=sm.families.Poisson()).fit()
    alpha = np.array([RIDGE.get(name.split("[")[0], 0.0) for name in reference.model.exog_names])
    gradient = _penalized_gradient(reference, ours.params.to_numpy(), alpha)
    assert ours.converged and np.max(np.abs(gradient)) < 1e-6


def test_penalty_with_one_alpha_per_coefficient_is_the_scalar_one_elementwise():
    rng = np.random.default_rng(5)
    alpha = np.array([0.0, 0.3, 1.2, 0.05])
    coef, grad, step = rng.normal(size=4), rng.normal(size=4), rng.uniform(0.1, 1.0, 4)
    points = rng.normal(size=(4, 3))
    for l1_ratio in (0.0, 0.4, 1.0):
        vector = daskglm.ElasticNet(alpha, l1_ratio)
        scalars = [daskglm.ElasticNet(a, l1_ratio) for a in alpha]
        assert vector.value(coef) == pytest.approx(sum(
            pen.value(coef[j:j + 1]) for j, pen in enumerate(scalars)), rel=1e-14)
        for name, args in (("gradient", (coef,)), ("prox", (coef, step)),
                           ("kkt_residual", (coef, grad))):
            expected = [getattr(pen, name)(*(a[j:j + 1] for a in args))[0]
                        for j, pen in enumerate(scalars)]
            np.testing.assert_allclose(getattr(vector, name)(*args), expected, rtol=1e-14)
        columns = [vector.gradient(points[:, k]) for k in range(3)]
        np.testing.assert_allclose(vector.gradient(points), np.column_stack(columns))
    assert daskglm.L2(alpha) == daskglm.L2(alpha.copy()) != daskglm.L2(1.0)
    with pytest.raises(ValueError, match="one value per coefficient"):
        daskglm.L2([1.0, -1.0])


def test_ridge_per_term_bad_input():
    df = _with_region(_claims(4))
    model = daskglm.glm(RIDGE_FORMULA, df, family=daskglm.Poisson())
    with pytest.raises(ValueError, match=r"alpha names 'C\(zones\)'.*neither a term"):
        model.fit_regularized("l2", alpha={"C(zones)": 1.0})
    with pytest.raises(ValueError, match="the intercept, which is never penalized"):
        model.fit_regularized("l2", alpha={"Intercept": 1.0})
    with pytest.raises(ValueError, match=r"alpha\['C\(zone\)'\] must be a finite number"):
        model.fit_regularized("l2", alpha={"C(zone)": -1.0})
    with pytest.raises(ValueError, match="alpha has 3 values, one per coefficient, but the "
                                         "model has 7"):
        model.fit_regularized(daskglm.L2(np.ones(3)))
    with pytest.raises(ValueError, match="saga takes one alpha"):
        model.fit_regularized("l2", alpha=RIDGE, method="saga")


# -- every level kept (drop=None) with a ridge on the term --------------------
@pytest.mark.parametrize("zones", [4, 40], ids=["expanded", "coded"])
def test_all_levels_with_ridge_matches_sklearn_ridge(zones):
    from sklearn.linear_model import Ridge

    df = _claims(zones)
    df["cost"] = df["claims"] + 0.01 * df["age"]
    model = daskglm.glm("cost ~ C(zone)", dd.from_pandas(df, npartitions=3, sort=False),
                        family=daskglm.Normal(), drop=None)
    levels = sorted(df["zone"].unique())
    assert model.exog_names == ["Intercept", *[f"C(zone)[{z}]" for z in levels]]
    assert (model._prepare()[0].coded is not None) == (zones == 40)
    alpha = 0.02
    ours = model.fit_regularized("l2", alpha={"C(zone)": alpha}, tol=1e-10)
    one_hot = pd.get_dummies(df["zone"]).reindex(columns=levels).to_numpy(dtype=float)
    # sum r^2 / (2 n) + alpha / 2 |b|^2  is sklearn's  |r|^2 + (n alpha) |b|^2, over 2n
    theirs = Ridge(alpha=len(df) * alpha, tol=1e-12, solver="cholesky").fit(one_hot, df["cost"])
    assert ours.converged
    np.testing.assert_allclose(ours.params.iloc[0], theirs.intercept_, rtol=1e-8)
    np.testing.assert_allclose(ours.params.iloc[1:], theirs.coef_, rtol=1e-6, atol=1e-9)
    # predictions (of a level not seen too) go through the all-levels design
    new = pd.DataFrame({"zone": [levels[1], "new"]})
    np.testing.assert_allclose(ours.predict(new, unseen="nan")[:1],
                               theirs.predict(one_hot[df["zone"].to_numpy() == levels[1]][:1]),
                               rtol=1e-8)


def test_all_levels_poisson_coded_satisfies_kkt_and_saves(tmp_path):
    df = _claims(40)
    model = daskglm.glm(FORMULA, df, family=daskglm.Poisson(), drop=None)
    ours = model.fit_regularized("l2", alpha={"C(zone)": 0.01}, tol=1e-10)
    X = np.column_stack([np.ones(len(df)), pd.get_dummies(df["zone"]).to_numpy(float),
                         df["age"]])
    assert model.exog_names[-1] == "age" and len(model.exog_names) == X.shape[1]
    alpha = np.r_[0.0, np.full(40, 0.01), 0.0]
    params = ours.params.to_numpy()
    gradient = X.T @ (np.exp(X @ params) - df["claims"]) / len(df) + alpha * params
    assert ours.converged and np.max(np.abs(gradient)) < 1e-9
    loaded = load_fit(save_results(ours, tmp_path / "fit.json"))
    np.testing.assert_allclose(loaded.predict(df.head(20)), ours.predict(df.head(20)),
                               rtol=1e-12)


def test_all_levels_needs_a_ridge_on_each_such_term():
    df = _with_region(_claims(4))
    model = daskglm.glm(RIDGE_FORMULA, df, family=daskglm.Poisson(), drop=None)
    with pytest.raises(ValueError, match=r"drop=None keeps every level of \['C\(region\)', "
                                         r"'C\(zone\)'\], so an unpenalized fit"):
        model.fit()
    with pytest.raises(ValueError, match=r"every level of \['C\(region\)'\], so the penalty"):
        model.fit_regularized("l2", alpha={"C(zone)": 1.0})
    with pytest.raises(ValueError, match="not identifiable"):
        model.fit_regularized("l1", alpha={"C(zone)": 1.0, "C(region)": 1.0})
    assert model.fit_regularized("l2", alpha=RIDGE).converged
    with pytest.raises(ValueError, match="drop must be 'first' or None"):
        daskglm.glm(RIDGE_FORMULA, df, drop="last")
    interaction = daskglm.glm("claims ~ C(region):C(zone)", df, family=daskglm.Poisson(),
                              drop=None)
    with pytest.raises(ValueError, match="interact"):
        interaction.fit_regularized("l2", alpha=0.1)


# -- bad input (issue 19's list) -----------------------------------------------
def test_categorical_with_one_level_contributes_no_column_as_in_statsmodels():
    df = _claims(4).assign(zone="z000")
    ours = daskglm.glm(FORMULA, df, family=daskglm.Poisson()).fit(tol=1e-10)
    theirs = smf.glm(FORMULA, df, family=sm.families.Poisson()).fit(tol=1e-12)
    assert list(ours.params.index) == list(theirs.params.index) == ["Intercept", "age"]
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-7)


def test_levels_that_print_alike_are_refused_not_merged():
    df = pd.DataFrame({"g": ["1", "1", "a"] * 20, "y": np.arange(60.0) % 3})
    levels = [1, "1", "a"]
    assert levels                      # read by the formula below
    with pytest.raises(ValueError, match="two columns with one name.*print alike"):
        daskglm.glm("y ~ C(g, levels=levels)", df, family=daskglm.Poisson(), drop=None)


def test_numeric_categorical_with_nan_drops_or_refuses_rows_as_statsmodels():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"k": rng.choice([1.0, 2.0, 3.0, np.nan], 200),
                       "y": rng.poisson(2.0, 200).astype(float)})
    ours = daskglm.glm("y ~ C(k)", df, family=daskglm.Poisson()).fit(tol=1e-10)
    theirs = smf.glm("y ~ C(k)", df, family=sm.families.Poisson()).fit(tol=1e-12)
    assert ours.nobs == theirs.nobs == df["k"].notna().sum()
    assert list(ours.params.index) == list(theirs.params.index)
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-7)
    with pytest.raises(ValueError, match=r"missing values in 'C\(k\)' \(\d+ rows\)"):
        daskglm.glm("y ~ C(k)", df, family=daskglm.Poisson(), missing="raise").fit()


@pytest.mark.parametrize("n_levels", [20, 40], ids=["expanded", "coded"])
def test_as_many_levels_as_rows_is_rank_deficient_unless_penalized(n_levels):
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"k": np.arange(n_levels), "x": rng.normal(size=n_levels),
                       "y": rng.poisson(2.0, n_levels).astype(float)})
    model = daskglm.glm("y ~ x + C(k)", df, family=daskglm.Poisson())
    with pytest.raises(ValueError, match="rank deficient") as info:
        model.fit()
    if n_levels == 40:                 # the coded term is named beside the dense columns
        assert "the 39 columns of C(k)" in str(info.value)
    ridge = model.fit_regularized("l2", alpha={"C(k)": 0.1}, tol=1e-10)
    assert ridge.converged
