"""Fits leave the caller's data alone, repeat bit for bit, and report trouble
(non-convergence, separation, huge linear predictors) as warnings with
``converged=False`` rather than errors or NaN."""

import warnings

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import daskglm
from daskglm import estimators, solvers

SOLVER_NAMES = sorted(solvers.SOLVERS)
N, P = 400, 4


def logistic_data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, P))
    X[:, 0] = 1.0
    coef = np.array([0.3, -0.5, 0.8, 0.1])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ coef))).astype(float)
    return X, y


def options(name):
    """Small, quick settings per solver (sync ADMM; saga with its seed)."""
    return {"admm": {"max_iter": 300, "tol": 1e-6}, "saga": {"max_iter": 200, "seed": 3},
            "gradient_descent": {"max_iter": 3000}, "proximal_grad": {"max_iter": 3000}
            }.get(name, {})


# -- the caller's data are never modified -------------------------------------------
@pytest.mark.parametrize("name", SOLVER_NAMES)
@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_solver_leaves_inputs_unchanged(name, kind):
    X, y = logistic_data()
    offset, weights = np.linspace(-0.1, 0.1, N), np.linspace(0.5, 2.0, N)
    originals = [a.copy() for a in (X, y, offset, weights)]
    args = (X, y, offset, weights) if kind == "numpy" else \
        tuple(da.from_array(a, chunks=100) for a in (X, y, offset, weights))
    init = np.zeros(P)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", daskglm.ConvergenceWarning)
        solvers.get_solver(name)(args[0], args[1], daskglm.Logistic(), daskglm.L2(0.01),
                                 offset=args[2], weights=args[3], init=init, **options(name))
    for original, now in zip(originals, (X, y, offset, weights), strict=True):
        np.testing.assert_array_equal(original, now)
    np.testing.assert_array_equal(init, np.zeros(P))


def test_models_and_estimators_leave_frames_and_arrays_unchanged():
    X, y = logistic_data()
    frame = pd.DataFrame(X[:, 1:], columns=["a", "b", "c"]).assign(y=y, e=np.linspace(1, 2, N))
    before = frame.copy()
    dframe = dd.from_pandas(frame, npartitions=4)
    dbefore = dframe.compute()
    X_before, y_before = X.copy(), y.copy()

    daskglm.glm("y ~ a + b + c", frame, family="binomial").fit()
    daskglm.glm("y ~ a + b + c", dframe, family="binomial").fit()
    daskglm.glm("y ~ a + b", dframe, family="poisson", exposure="e").fit()
    daskglm.GLM(y, X, family="binomial").fit()
    daskglm.GLM(frame["y"], frame[["a", "b", "c"]], family="binomial").fit()
    estimators.LogisticRegression().fit(X, y)
    estimators.LogisticRegression().fit(frame[["a", "b", "c"]], frame["y"])
    estimators.PoissonRegression().fit(X, y, sample_weight=frame["e"].to_numpy())

    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(dframe.compute(), dbefore)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


# -- determinism ------------------------------------------------------------------------
@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_repeated_fits_are_bit_for_bit_identical(name):
    """Same data, chunking and seed: identical coefficients (async ADMM excepted,
    whose result depends on the order in which chunk solves arrive)."""
    X, y = logistic_data()
    fits = []
    for _ in range(2):
        Xd, yd = da.from_array(X, chunks=(100, 2)), da.from_array(y, chunks=100)
        fits.append(solvers.get_solver(name)(Xd, yd, daskglm.Logistic(), daskglm.L2(0.01),
                                             **options(name)).coef)
    assert fits[0].tobytes() == fits[1].tobytes()


def test_glm_fits_are_bit_for_bit_identical():
    X, y = logistic_data()
    frame = dd.from_pandas(pd.DataFrame(X[:, 1:], columns=["a", "b", "c"]).assign(y=y),
                           npartitions=4)
    first = daskglm.glm("y ~ a + b + c", frame, family="binomial").fit().params.to_numpy()
    second = daskglm.glm("y ~ a + b + c", frame, family="binomial").fit().params.to_numpy()
    assert first.tobytes() == second.tobytes()


# -- warnings, not errors ---------------------------------------------------------------
@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_max_iter_reached_warns_and_says_not_converged(name):
    X, y = logistic_data()
    extra = {"seed": 0} if name == "saga" else {}
    with pytest.warns(daskglm.ConvergenceWarning, match="did not converge"):
        fit = solvers.get_solver(name)(X, y, max_iter=1, tol=1e-14, **extra)
    assert not fit.converged and fit.n_iter <= 1 and np.all(np.isfinite(fit.coef))


def test_model_fit_at_max_iter_warns_and_says_not_converged():
    X, y = logistic_data()
    with pytest.warns(daskglm.ConvergenceWarning):
        result = daskglm.GLM(y, X, family="binomial").fit(max_iter=1)
    assert not result.converged


def test_separation_through_the_formula_model_is_named():
    rng = np.random.default_rng(4)
    x = rng.normal(size=200)
    frame = dd.from_pandas(pd.DataFrame({"x": x, "y": (x > 0).astype(float)}), npartitions=2)
    with pytest.warns(daskglm.PerfectSeparationWarning, match="separat"):
        result = daskglm.glm("y ~ x", frame, family="binomial").fit()
    assert not result.converged


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_linear_predictors_in_the_thousands_stay_finite(name):
    """Objective, gradient and coefficients stay finite when |eta| ~ 5000."""
    X, y = logistic_data()
    X = X * np.array([1.0, 1000.0, 1.0, 1.0])
    init = np.array([0.0, 5.0, 0.0, 0.0])              # |eta| up to ~ 15000 at the start
    extra = dict(options(name), init=init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", daskglm.ConvergenceWarning)
        fit = solvers.get_solver(name)(X, y, daskglm.Logistic(), daskglm.L2(0.01), **extra)
    assert np.all(np.isfinite(fit.coef)) and np.isfinite(fit.objective)
    objective = solvers._base.Objective(X, y, daskglm.Logistic())
    at_init = objective.evaluate(init, n_gradients=1, hessian=True)
    assert np.isfinite(at_init.values).all() and np.isfinite(at_init.gradients).all()
    assert np.isfinite(at_init.hessian).all()


# -- persisting or streaming, chosen by the model ------------------------------------
def test_model_persist_is_overridable_and_reported():
    X, y = logistic_data()
    frame = dd.from_pandas(pd.DataFrame(X[:, 1:], columns=["a", "b", "c"]).assign(y=y),
                           npartitions=4)
    model = daskglm.glm("y ~ a + b + c", frame, family="binomial")
    streamed = model.fit(persist=False)
    held = model.fit(persist=True)
    assert streamed.solver_result.info["persisted"] is False
    assert held.solver_result.info["persisted"] is True
    assert model.fit().solver_result.info["persisted"] is True      # small data: auto holds it
    # persisting rebalances the four small partitions into one chunk per core,
    # so the sums run in another order: equal to rounding, not bit for bit
    np.testing.assert_allclose(streamed.params, held.params, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="persist must be True, False or 'auto'"):
        model.fit(persist="sometimes")
