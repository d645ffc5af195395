"""The one prediction path: every front end predicts through daskglm.frontend.prediction."""

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import statsmodels.api as sm

import daskglm
from daskglm.estimators import LogisticRegression, PoissonRegression
from daskglm.frontend import prediction
from daskglm.frontend.saved import load_fit, save_results


def _poisson_frame(n=600, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b"], n),
                          "years": rng.uniform(0.5, 2.0, n)})
    frame["y"] = rng.poisson(np.exp(0.1 + 0.4 * frame["x"]) * frame["years"]).astype(float)
    return frame


def test_linear_predictor_agrees_for_numpy_sparse_and_dask():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3)) * (rng.random((50, 3)) > 0.4)
    coef, offset, exposure = rng.normal(size=3), rng.normal(size=50), rng.uniform(1, 2, 50)
    expected = X @ coef + 0.5 + offset + np.log(exposure)
    for design in (X, sp.csr_matrix(X), da.from_array(X, chunks=(20, 2))):
        eta = prediction.linear_predictor(design, coef, offset=offset, exposure=exposure,
                                          intercept=0.5)
        assert isinstance(eta, da.Array) == isinstance(design, da.Array)
        np.testing.assert_allclose(np.asarray(eta), expected, rtol=1e-12)


def test_inverse_link_is_the_family_mean_block_by_block():
    family = daskglm.Poisson()
    eta = np.linspace(-3.0, 3.0, 40)
    np.testing.assert_array_equal(prediction.inverse_link(eta, family, "linear"), eta)
    lazy = prediction.inverse_link(da.from_array(eta, chunks=7), family, "mean")
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), np.exp(eta), rtol=1e-14)
    with pytest.raises(ValueError, match="which must be 'mean' or 'linear'"):
        prediction.inverse_link(eta, family, "response")


def test_exposure_refused_with_one_message_by_every_front_end(tmp_path):
    frame = _poisson_frame()
    logistic = daskglm.Binomial()
    message = "exposure can only be used with the log link; .* has link"
    with pytest.raises(ValueError, match=message):
        daskglm.glm("y ~ x", frame.assign(y=(frame["y"] > 1).astype(float)), family=logistic,
                    exposure="years")
    X = sm.add_constant(frame[["x"]].to_numpy())
    fit = daskglm.GLM((frame["y"] > 1).astype(float), X, family=logistic).fit()
    with pytest.raises(ValueError, match=message):
        fit.predict(X, exposure=frame["years"])
    saved = daskglm.glm("y ~ x", frame.assign(y=(frame["y"] > 1).astype(float)),
                        family=logistic).fit()
    with pytest.raises(ValueError, match=message):
        load_fit(save_results(saved, tmp_path / "fit.json")).predict(frame, exposure="years")


def test_nonpositive_exposure_is_refused_when_predicting():
    frame = _poisson_frame()
    X = sm.add_constant(frame[["x"]].to_numpy())
    fit = daskglm.GLM(frame["y"], X, family="poisson", exposure=frame["years"]).fit()
    bad = frame["years"].to_numpy().copy()
    bad[3] = 0.0
    with pytest.raises(ValueError, match=r"exposure must be positive; 1 value\(s\) are <= 0"):
        fit.predict(X, exposure=bad)
    formula_fit = daskglm.glm("y ~ x", frame, family="poisson", exposure="years").fit()
    with pytest.raises(ValueError, match="exposure must be positive"):
        formula_fit.predict(frame.assign(years=bad), exposure="years")


def test_front_ends_give_the_same_predictions(tmp_path):
    frame = _poisson_frame()
    ddf = dd.from_pandas(frame, npartitions=3)
    formula_fit = daskglm.glm("y ~ x + C(g)", ddf, family="poisson", exposure="years").fit()
    reference = sm.GLM.from_formula("y ~ x + C(g)", frame, family=sm.families.Poisson(),
                                    exposure=frame["years"]).fit(tol=1e-12)
    saved = load_fit(save_results(formula_fit, tmp_path / "fit.json"))
    expected = reference.predict(frame, exposure=frame["years"])
    for predicted in (formula_fit.predict(ddf, exposure="years").compute(),
                      saved.predict(frame, exposure="years"),
                      formula_fit.model.predict(formula_fit.params, frame, exposure="years")):
        np.testing.assert_allclose(predicted, expected, rtol=1e-6)
    np.testing.assert_allclose(formula_fit.fittedvalues.compute(), reference.fittedvalues,
                               rtol=1e-6)


def test_estimators_predict_through_the_same_path():
    frame = _poisson_frame()
    X = frame[["x", "years"]].to_numpy()
    poisson = PoissonRegression(penalty=None, tol=1e-10).fit(X, frame["y"])
    eta = prediction.linear_predictor(X, poisson.coef_, intercept=poisson.intercept_)
    np.testing.assert_allclose(poisson.predict(X), np.exp(eta), rtol=1e-14)
    labels = (frame["y"] > 1).to_numpy()
    logistic = LogisticRegression(tol=1e-10).fit(X, labels)
    eta = logistic.decision_function(X)
    np.testing.assert_allclose(eta, X @ logistic.coef_ + logistic.intercept_, rtol=1e-12)
    np.testing.assert_allclose(logistic.predict_proba(X)[:, 1], 1 / (1 + np.exp(-eta)),
                               rtol=1e-12)
