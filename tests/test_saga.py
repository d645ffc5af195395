"""Block-sequential SAGA: the optimum of newton and statsmodels, sparse equal
to dense, seeded repeatability, chunkings, and the just-in-time prox."""

import warnings

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
import statsmodels.api as sm

from daskglm import L1, ConvergenceWarning, ElasticNet, Logistic, Normal, Poisson
from daskglm.solvers import SOLVERS, newton, saga
from daskglm.solvers._saga_kernels import repeat_prox

from synthetic import chunked, random_design, relative_gap

N_ROWS, N_COLS, CHUNK = 3000, 6, 750


@pytest.fixture(scope="module")
def sparse_logistic_data():
    rng, X, coef = random_design(N_ROWS, N_COLS, 2, density=0.2)
    y = (rng.random(N_ROWS) < 1.0 / (1.0 + np.exp(-X @ coef))).astype(float)
    return X, y


@pytest.mark.parametrize("family_name", ["logistic", "poisson"])
@pytest.mark.parametrize("regularizer", [L1(0.01), ElasticNet(0.03, 0.4)], ids=["l1", "enet"])
def test_saga_reaches_newtons_optimum(family_name, regularizer, request):
    X, y, options = request.getfixturevalue(f"{family_name}_data")
    family = Logistic() if family_name == "logistic" else Poisson()
    Xd, yd, dask_options = chunked(X, y, options, CHUNK)
    reference = newton(X, y, family, regularizer, tol=1e-11, unpenalized=[0], **options)
    fit = saga(Xd, yd, family, regularizer, tol=1e-8, unpenalized=[0], **dask_options)
    assert fit.converged and fit.solver == "saga"
    assert relative_gap(fit.objective, reference.objective) <= 1e-6
    np.testing.assert_allclose(fit.coef, reference.coef, atol=1e-5)
    assert fit.coef[0] != 0.0  # the unpenalized intercept
    # history: one record per epoch, with the KKT residual the rule stops on
    assert len(fit.history) == fit.n_iter
    assert fit.history[-1]["kkt_norm"] <= 1e-8


@pytest.mark.parametrize("family_name", ["logistic", "poisson"])
def test_unpenalized_saga_matches_statsmodels(family_name, request):
    X, y, options = request.getfixturevalue(f"{family_name}_data")
    family = Logistic() if family_name == "logistic" else Poisson()
    sm_family = sm.families.Binomial() if family_name == "logistic" else sm.families.Poisson()
    reference = sm.GLM(y, X, family=sm_family, offset=options.get("offset"),
                       var_weights=options.get("weights")).fit(tol=1e-12)
    Xd, yd, dask_options = chunked(X, y, options, CHUNK)
    fit = saga(Xd, yd, family, tol=1e-8, **dask_options)
    np.testing.assert_allclose(fit.coef, reference.params, rtol=1e-4, atol=1e-4)


def test_normal_lasso_matches_newton():
    rng, X, coef = random_design(N_ROWS, N_COLS, 3)
    y = X @ coef + rng.standard_normal(N_ROWS)
    reference = newton(X, y, Normal(), L1(0.05), tol=1e-11, unpenalized=[0])
    fit = saga(X, y, Normal(), L1(0.05), tol=1e-8, unpenalized=[0])
    assert relative_gap(fit.objective, reference.objective) <= 1e-6


@pytest.mark.parametrize("regularizer", [L1(0.005), ElasticNet(0.01, 0.5)], ids=["l1", "enet"])
def test_csr_chunks_equal_dense_chunks(sparse_logistic_data, regularizer):
    X, y = sparse_logistic_data
    dense = da.from_array(X, chunks=(CHUNK, N_COLS))
    csr = da.from_array(sp.csr_matrix(X), chunks=(CHUNK, N_COLS), asarray=False)
    assert sp.issparse(csr.blocks[0].compute())
    fits = []
    for data in (dense, csr):
        # a fixed number of epochs, so both stop at the same point
        with pytest.warns(ConvergenceWarning):
            fits.append(saga(data, y, Logistic(), regularizer, tol=1e-14, max_iter=6,
                             unpenalized=[0], seed=7))
    np.testing.assert_allclose(fits[1].coef, fits[0].coef, rtol=0, atol=1e-8)
    assert np.any(fits[0].coef[1:] == 0.0)   # the L1 part is active on this data


def test_scipy_sparse_input_equals_numpy_input(sparse_logistic_data):
    X, y = sparse_logistic_data
    from_dense = saga(X, y, Logistic(), L1(0.005), tol=1e-9, unpenalized=[0], seed=3)
    from_csr = saga(sp.csr_matrix(X), y, Logistic(), L1(0.005), tol=1e-9, unpenalized=[0],
                    seed=3)
    assert from_csr.n_iter == from_dense.n_iter
    np.testing.assert_allclose(from_csr.coef, from_dense.coef, rtol=0, atol=1e-8)


def test_same_seed_gives_identical_coefficients(poisson_data):
    X, y, options = poisson_data
    Xd, yd, dask_options = chunked(X, y, options, CHUNK)
    runs = [saga(Xd, yd, Poisson(), ElasticNet(0.03, 0.4), tol=1e-6, unpenalized=[0],
                 seed=seed, shuffle_chunks=True, **dask_options) for seed in (11, 11, 12)]
    np.testing.assert_array_equal(runs[0].coef, runs[1].coef)
    assert runs[0].n_iter == runs[1].n_iter
    assert not np.array_equal(runs[0].coef, runs[2].coef)   # the seed does matter


def test_different_chunkings_reach_the_same_optimum(logistic_data):
    X, y, _ = logistic_data
    reference = newton(X, y, Logistic(), L1(0.01), tol=1e-11, unpenalized=[0])
    for chunk in (N_ROWS, 1000, 300):
        Xd, yd, _ = chunked(X, y, {}, chunk)
        fit = saga(Xd, yd, Logistic(), L1(0.01), tol=1e-8, unpenalized=[0])
        assert relative_gap(fit.objective, reference.objective) <= 1e-6
        np.testing.assert_allclose(fit.coef, reference.coef, atol=1e-5)


def test_too_large_a_step_is_undone_and_halved(poisson_data):
    X, y, options = poisson_data
    reference = newton(X, y, Poisson(), L1(0.01), tol=1e-11, unpenalized=[0], **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow in the bad epochs
        fit = saga(X, y, Poisson(), L1(0.01), tol=1e-8, unpenalized=[0], step_size=5.0,
                   **options)
    assert fit.info["n_rejected"] > 0
    assert fit.info["step_size"] < 5.0
    assert np.any(fit.history_array("rejected") == 1)
    assert relative_gap(fit.objective, reference.objective) <= 1e-6


def test_refuses_what_it_cannot_do(logistic_data):
    X, y, _ = logistic_data
    assert SOLVERS["saga"] is saga and saga.handles_nonsmooth
    with pytest.raises(ValueError, match="seed"):
        saga(X, y, seed=-1)
    with pytest.raises(ValueError, match="step_size"):
        saga(X, y, step_size=0.0)
    with pytest.raises(TypeError):
        saga(X, y, n_epochs=3)


@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.8), (0.3, 0.6)])
def test_just_in_time_prox_equals_stepping_one_at_a_time(l1, l2):
    rng = np.random.default_rng(5)
    for _ in range(300):
        x, a = rng.normal(scale=2.0), rng.normal(scale=0.5)
        n_steps, step = int(rng.integers(0, 400)), float(rng.choice([0.01, 0.1, 0.7]))
        expected = x
        for _ in range(n_steps):
            moved = expected - step * a
            shrunk = np.sign(moved) * max(abs(moved) - step * l1, 0.0)
            expected = shrunk / (1.0 + step * l2)
        got = repeat_prox(x, a, n_steps, step, l1, l2, True)
        assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
    # unpenalized coordinates take plain gradient steps
    assert repeat_prox(1.0, 0.5, 4, 0.1, l1, l2, False) == pytest.approx(0.8)
