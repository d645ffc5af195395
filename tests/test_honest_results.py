"""Honest results at the edges (issue 21): a saturated fit, a single class or
separated classes, an overflowing column, text where numbers belong. Each case
gives results that say what they cannot know, or a clear early error naming
the argument, never a deep traceback or a quiet ``converged=True``."""

import warnings

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

import daskglm
from daskglm import estimators


# -- a saturated Gaussian fit (n == p) ------------------------------------------------
def test_saturated_gaussian_fit_has_no_residual_df_and_nan_inference():
    X = np.array([[1.0, 0.5, 2.0], [1.0, 1.5, -1.0], [1.0, 3.0, 0.7]])
    y = np.array([1.0, 2.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # statsmodels divides by zero here
        expected = sm.GLM(y, X, family=sm.families.Gaussian()).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no numpy RuntimeWarning may escape
        result = daskglm.GLM(da.from_array(y, chunks=3), da.from_array(X, chunks=(3, 3)),
                             family=daskglm.Gaussian()).fit()
        bse, cov, conf = result.bse, result.cov_params(), result.conf_int()
        tvalues, pvalues = result.tvalues, result.pvalues
    assert result.df_resid == expected.df_resid == 0
    np.testing.assert_allclose(result.params, expected.params, rtol=1e-8, atol=1e-10)
    # NaN exactly where statsmodels' scale, standard errors, covariance and
    # intervals are not finite (it divides rounding noise by zero: inf)
    assert np.isnan(result.scale) and not np.isfinite(expected.scale)
    np.testing.assert_array_equal(np.isnan(bse), ~np.isfinite(expected.bse))
    np.testing.assert_array_equal(np.isnan(cov), ~np.isfinite(expected.cov_params()))
    np.testing.assert_array_equal(np.isnan(conf), ~np.isfinite(expected.conf_int()))
    # statsmodels' t of 0 and p of 1 come from dividing by that inf: here NaN
    assert np.isnan(tvalues).all() and np.isnan(pvalues).all()
    assert "nan" in str(result.summary())


# -- a single class and perfect separation -------------------------------------------
def _two_columns(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([np.ones(n), rng.normal(size=n)])


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
@pytest.mark.parametrize("value", [0.0, 1.0])
def test_single_class_response_warns_and_is_not_converged(solver, value):
    X = _two_columns()
    y = np.full(X.shape[0], value)
    with pytest.warns(PerfectSeparationWarning):                # statsmodels warns too
        sm.GLM(y, X, family=sm.families.Binomial()).fit()
    with pytest.warns(daskglm.PerfectSeparationWarning, match=r"single value .*single class"):
        result = daskglm.GLM(da.from_array(y, chunks=50), da.from_array(X, chunks=(50, 2)),
                             family=daskglm.Binomial()).fit(method=solver)
    assert not result.converged
    assert "single class" in result.solver_result.message


def test_all_zero_counts_warn_for_the_poisson_family():
    X = _two_columns()
    with pytest.warns(daskglm.PerfectSeparationWarning, match="single value 0"):
        result = daskglm.GLM(np.zeros(X.shape[0]), X, family=daskglm.Poisson()).fit()
    assert not result.converged


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_perfect_separation_warns_and_is_not_converged_for_any_solver(solver):
    X = _two_columns()
    y = (X[:, 1] > 0).astype(float)
    with pytest.warns(daskglm.PerfectSeparationWarning, match="separat"):
        result = daskglm.GLM(da.from_array(y, chunks=50), da.from_array(X, chunks=(50, 2)),
                             family=daskglm.Binomial()).fit(method=solver)
    assert not result.converged


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_ordinary_logistic_fit_does_not_warn_of_separation(solver):
    X = _two_columns()
    rng = np.random.default_rng(1)
    y = (rng.random(X.shape[0]) < 1 / (1 + np.exp(-X[:, 1]))).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error", daskglm.ConvergenceWarning)
        result = daskglm.GLM(y, X, family=daskglm.Binomial()).fit(method=solver)
    assert result.converged


def test_separation_warning_is_also_statsmodels_own():
    assert issubclass(daskglm.PerfectSeparationWarning, PerfectSeparationWarning)


# -- a value too large to square --------------------------------------------------------
def _huge_value_data():
    X = _two_columns()
    X = np.column_stack([X, np.random.default_rng(2).normal(size=X.shape[0])])
    X[5, 2] = 1e200
    y = (X[:, 1] + np.random.default_rng(3).normal(size=X.shape[0]) > 0).astype(float)
    return X, y


@pytest.mark.parametrize("kind", ["numpy", "dask"])
@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_huge_value_in_X_is_refused_early_naming_X_and_scaling(kind, solver):
    X, y = _huge_value_data()
    if kind == "dask":
        X, y = da.from_array(X, chunks=(50, 3)), da.from_array(y, chunks=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no overflow warnings on the way
        with pytest.raises(ValueError, match=r"X has values too large.*column\(s\) \[2\].*scale"):
            daskglm.GLM(y, X, family=daskglm.Binomial()).fit(method=solver)


def test_huge_value_in_X_is_refused_by_the_solvers_too():
    X, y = _huge_value_data()
    with pytest.raises(ValueError, match=r"X has values too large.*\[2\].*scale"):
        daskglm.solvers.newton(da.from_array(X, chunks=(50, 3)), da.from_array(y, chunks=50))


# -- text where numbers belong ------------------------------------------------------------
def _frame_with_text_column(n=60):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=n),
                          "b": pd.array([f"{v:.3f}" for v in rng.normal(size=n)],
                                        dtype="string")})
    return frame, (rng.random(n) < 0.5).astype(int)


@pytest.mark.parametrize("kind", ["pandas", "dask"])
@pytest.mark.parametrize("name", ["LogisticRegression", "LinearRegression", "PoissonRegression"])
def test_estimators_refuse_a_string_column_naming_it_and_its_dtype(kind, name):
    frame, y = _frame_with_text_column()
    X, target = frame, y
    if kind == "dask":
        X = dd.from_pandas(frame, npartitions=2)
        target = dd.from_pandas(pd.Series(y), npartitions=2)
    with pytest.raises(TypeError, match=r"X's column 'b' must be numeric, got dtype string"):
        getattr(estimators, name)().fit(X, target)


def test_estimator_predict_refuses_a_string_column():
    frame, y = _frame_with_text_column()
    model = estimators.LogisticRegression().fit(frame.astype({"b": float}), y)
    with pytest.raises(TypeError, match=r"X's column 'b' must be numeric, got dtype string"):
        model.predict(frame)


@pytest.mark.parametrize("kind", ["pandas", "dask"])
@pytest.mark.parametrize("dtype", ["string", object])
def test_formula_predict_refuses_numbers_arriving_as_text(kind, dtype):
    rng = np.random.default_rng(6)
    train = pd.DataFrame({"x": rng.normal(size=80), "g": rng.choice(["p", "q"], 80),
                          "y": rng.poisson(2.0, size=80).astype(float)})
    result = daskglm.glm("y ~ x + g", train, family="poisson").fit()
    new = pd.DataFrame({"x": pd.array(["0.5", "1.5"], dtype=dtype), "g": ["p", "q"]})
    if kind == "dask":
        new = dd.from_pandas(new, npartitions=1)
    with pytest.raises(TypeError, match=r"column 'x' of the new data must be numeric .*"
                                        r"float64.*got dtype (string|str|object)"):
        result.predict(new)


def test_huge_value_in_a_named_column_is_refused_by_name():
    X, y = _huge_value_data()
    frame = pd.DataFrame({"income": X[:, 1], "wealth": X[:, 2], "y": y})
    with pytest.raises(ValueError, match=r"too large.*column\(s\) \['wealth'\].*scale"):
        daskglm.glm("y ~ income + wealth", frame, family=daskglm.Binomial()).fit()
    exog = pd.DataFrame({"const": 1.0, "income": X[:, 1], "wealth": X[:, 2]})
    with pytest.raises(ValueError, match=r"too large.*column\(s\) \['wealth'\]"):
        daskglm.GLM(y, exog, family=daskglm.Binomial()).fit()
