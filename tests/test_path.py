"""Regularization paths (daskglm.solvers.path): scikit-learn's answers, the KKT
conditions at every alpha, weights, offsets, dask input, cost in passes, bad input."""

import warnings

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.linear_model import LogisticRegression, PoissonRegressor, enet_path

import daskglm
from daskglm.solvers import RegularizationPath, path

from dask_counting import CountComputes

TOL = 1e-8


def _centred_gaussian(n=400, p=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X -= X.mean(axis=0)
    y = X[:, 0] * 2 - X[:, 1] + 0.5 * X[:, 2] + rng.normal(size=n)
    return X, y - y.mean()


def _with_intercept(n, p, seed):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p))])
    coef = np.zeros(p + 1)
    coef[:4] = [-0.3, 0.8, -0.5, 0.3]
    return rng, X, X @ coef


def _logistic(n=400, p=6, seed=1):
    rng, X, eta = _with_intercept(n, p, seed)
    return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)


def _poisson(n=400, p=6, seed=2):
    rng, X, eta = _with_intercept(n, p, seed)
    return X, rng.poisson(np.exp(eta)).astype(float)


def _kkt_norms(family, X, y, fits, weights=None, offset=None, unpenalized=(0,)):
    """Largest KKT residual at every alpha, with the gradient computed here in numpy."""
    weights = np.ones(len(y)) if weights is None else weights
    offset = np.zeros(len(y)) if offset is None else offset
    penalized = np.ones(X.shape[1], bool)
    penalized[list(unpenalized)] = False
    norms = []
    for alpha, coef in zip(fits.alphas, fits.coefs):
        mu = family.mean(X @ coef + offset)
        # d nll / d eta for canonical links: (mu - y) (a Gaussian's scale is 1 here)
        grad = X.T @ (weights * (mu - y)) / weights.sum()
        l1, l2 = alpha * fits.l1_ratio, alpha * (1 - fits.l1_ratio)
        smooth = grad + l2 * coef * penalized
        residual = np.where(coef != 0, smooth + l1 * np.sign(coef),
                            np.sign(smooth) * np.maximum(np.abs(smooth) - l1, 0))
        residual = np.where(penalized, residual, grad)
        norms.append(np.abs(residual).max())
    return np.array(norms)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_gaussian_path_equals_enet_path(l1_ratio):
    X, y = _centred_gaussian()
    fits = path(X, y, "gaussian", l1_ratio=l1_ratio, n_alphas=30, tol=1e-10)
    assert isinstance(fits, RegularizationPath) and fits.converged.all()
    assert np.all(np.diff(fits.alphas) < 0)
    # the grid starts where every coefficient is zero: max |X'y| / (n l1_ratio)
    assert fits.alphas[0] == pytest.approx(np.abs(X.T @ y).max() / (len(y) * l1_ratio))
    assert np.all(fits.coefs[0] == 0) and np.any(fits.coefs[1] != 0)
    _, coefs, _ = enet_path(X, y, l1_ratio=l1_ratio, alphas=fits.alphas, tol=1e-14,
                            max_iter=100_000)
    np.testing.assert_allclose(fits.coefs, coefs.T, atol=1e-5)


def test_logistic_path_kkt_and_scikit_learn():
    X, y = _logistic()
    fits = path(X, y, daskglm.Logistic(), n_alphas=25, unpenalized=[0], tol=TOL)
    assert fits.converged.all()
    assert np.all(_kkt_norms(daskglm.Logistic(), X, y, fits) <= 10 * TOL)
    n = len(y)
    for k in (5, 12, 24):
        model = LogisticRegression(C=1 / (fits.alphas[k] * n), l1_ratio=1.0, penalty="l1",
                                   solver="saga", tol=1e-12, max_iter=50_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (FutureWarning, SklearnConvergenceWarning))
            model.fit(X[:, 1:], y)
        expected = np.concatenate([model.intercept_, model.coef_.ravel()])
        np.testing.assert_allclose(fits.coefs[k], expected, atol=1e-4)


def test_poisson_path_kkt_and_scikit_learn_ridge():
    X, y = _poisson()
    lasso = path(X, y, daskglm.Poisson(), n_alphas=20, unpenalized=[0], tol=TOL)
    assert lasso.converged.all()
    assert np.all(_kkt_norms(daskglm.Poisson(), X, y, lasso) <= 10 * TOL)
    ridge = path(X, y, daskglm.Poisson(), l1_ratio=0.0, alphas=[1.0, 0.1, 0.01],
                 unpenalized=[0], tol=TOL)
    for alpha, coef in zip(ridge.alphas, ridge.coefs):
        model = PoissonRegressor(alpha=alpha, tol=1e-12, max_iter=10_000).fit(X[:, 1:], y)
        np.testing.assert_allclose(coef, np.r_[model.intercept_, model.coef_], atol=1e-4)


def test_integer_weights_equal_repeated_rows():
    X, y = _logistic(n=200)
    weights = np.random.default_rng(3).integers(0, 4, size=len(y)).astype(float)
    repeat = weights.astype(int)
    weighted = path(X, y, "binomial", sample_weight=weights, n_alphas=15, unpenalized=[0])
    repeated = path(np.repeat(X, repeat, axis=0), np.repeat(y, repeat), "binomial",
                    n_alphas=15, unpenalized=[0])
    np.testing.assert_allclose(weighted.alphas, repeated.alphas, rtol=1e-12)
    np.testing.assert_allclose(weighted.coefs, repeated.coefs, atol=1e-7)


def test_offset_and_weights_kkt():
    X, y = _poisson(n=300)
    rng = np.random.default_rng(4)
    offset, weights = rng.normal(scale=0.2, size=len(y)), rng.uniform(0.5, 2, size=len(y))
    fits = path(X, y, "poisson", offset=offset, sample_weight=weights, n_alphas=15,
                unpenalized=[0], l1_ratio=0.8)
    assert fits.converged.all()
    norms = _kkt_norms(daskglm.Poisson(), X, y, fits, weights=weights, offset=offset)
    assert np.all(norms <= 10 * TOL)


@pytest.mark.parametrize("family", [daskglm.Binomial(link=daskglm.links.CLogLog()),
                                    daskglm.Binomial(link=daskglm.links.Probit())])
def test_other_families_meet_their_kkt_conditions(family):
    """Non-canonical links: the KKT residual here comes from newton's own pass."""
    X, _ = _logistic(n=300)
    rng = np.random.default_rng(5)
    eta = 0.3 * X[:, 1] - 0.2 * X[:, 2]
    y = (rng.random(len(eta)) < family.mean(eta)).astype(float)
    fits = path(X, y, family, n_alphas=10, unpenalized=[0])
    assert fits.converged.all() and np.all(fits.kkt_norms <= TOL)
    for alpha, coef in zip(fits.alphas[[3, 9]], fits.coefs[[3, 9]]):
        single = daskglm.solvers.newton(X, y, family, daskglm.L1(alpha), unpenalized=[0],
                                        tol=1e-10)
        np.testing.assert_allclose(coef, single.coef, atol=1e-6)


def test_dask_input_matches_numpy_in_few_passes_per_alpha():
    X, y = _logistic(n=2000, p=12)
    expected = path(X, y, "binomial", n_alphas=30, unpenalized=[0])
    with CountComputes() as counter:
        fits = path(da.from_array(X, chunks=(500, -1)), da.from_array(y, chunks=500),
                    "binomial", n_alphas=30, unpenalized=[0])
    np.testing.assert_allclose(fits.coefs, expected.coefs, atol=1e-9)
    assert fits.n_passes == expected.n_passes
    assert counter.count <= fits.n_passes + 2          # one graph per pass
    assert fits.n_passes <= 4 * len(fits.alphas)
    assert fits.n_iter.sum() <= fits.n_passes


def test_strong_rule_mistakes_are_caught_by_the_kkt_check():
    """Correlated columns make the sequential strong rule drop columns that then
    enter; every alpha still meets the KKT conditions of every column."""
    rng = np.random.default_rng(6)
    base = rng.normal(size=(300, 1))
    X = np.column_stack([np.ones(300), base + 0.05 * rng.normal(size=(300, 10))])
    y = (rng.random(300) < 1 / (1 + np.exp(-base[:, 0]))).astype(float)
    fits = path(X, y, "binomial", alphas=np.geomspace(0.2, 1e-4, 8), unpenalized=[0])
    assert np.all(_kkt_norms(daskglm.Logistic(), X, y, fits) <= 10 * TOL)


def test_user_alphas_above_alpha_max_give_zeros():
    X, y = _logistic()
    fits = path(X, y, "binomial", unpenalized=[0], alphas=[10.0, 5.0])
    assert np.all(fits.coefs[:, 1:] == 0) and fits.alpha_max < 5.0
    assert fits.coefs[0, 0] == pytest.approx(np.log(y.mean() / (1 - y.mean())), abs=1e-6)


@pytest.mark.parametrize("options, message", [
    ({"alphas": [0.1, -0.01]}, "alphas must all be positive"),
    ({"alphas": [0.01, 0.1]}, "alphas must be strictly descending"),
    ({"alphas": []}, "alphas must be a non-empty"),
    ({"l1_ratio": 1.5}, r"l1_ratio must be a number in \[0, 1\]"),
    ({"n_alphas": 0}, "n_alphas must be a positive integer"),
    ({"alpha_min_ratio": 2.0}, r"alpha_min_ratio must be a number in \(0, 1\)"),
    ({"method": "lbfgs"}, "not a path method"),
])
def test_bad_input_names_the_argument(options, message):
    X, y = _logistic(n=50)
    with pytest.raises(ValueError, match=message):
        path(X, y, "binomial", **options)


def test_every_column_unpenalized_is_refused():
    X, y = _logistic(n=50, p=3)
    with pytest.raises(ValueError, match="every column is unpenalized"):
        path(X, y, "binomial", unpenalized=[0, 1, 2, 3])


def test_glm_fit_regularized_with_a_sequence_is_the_named_path():
    X, y = _logistic(n=300, p=4)
    frame = pd.DataFrame(X[:, 1:], columns=["a", "b", "c", "d"])
    model = daskglm.glm("y ~ a + b + c + d", dd.from_pandas(frame.assign(y=y), npartitions=3),
                        family=daskglm.Binomial())
    alphas = [0.05, 0.01, 0.002]
    fitted = model.fit_regularized("l1", alpha=alphas)
    expected = path(X, y, "binomial", alphas=alphas, unpenalized=[0])
    assert fitted.names == ["Intercept", "a", "b", "c", "d"]
    np.testing.assert_allclose(fitted.coefs, expected.coefs, atol=1e-9)
    single = model.fit_regularized("l1", alpha=alphas[1], tol=1e-10)
    np.testing.assert_allclose(fitted.coefs[1], single.params.to_numpy(), atol=1e-7)
    with pytest.raises(ValueError, match="alphas must be strictly descending"):
        model.fit_regularized("l1", alpha=alphas[::-1])
    with pytest.raises(ValueError, match="walked by method='newton'"):
        model.fit_regularized("l1", alpha=alphas, method="proximal_grad")


def test_plot_path_draws_every_coefficient_that_leaves_zero():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = _logistic(n=300, p=4)
    fitted = path(X, y, "binomial", n_alphas=15, unpenalized=[0])
    fitted.names = ["const", "a", "b", "c", "d"]
    figure = fitted.plot()
    lines = [line for line in figure.axes[0].get_lines() if line.get_label() in fitted.names]
    assert len(lines) == np.count_nonzero(np.any(fitted.coefs != 0, axis=0))
    assert figure.axes[0].get_xscale() == "log"
    plt.close(figure)
