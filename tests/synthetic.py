"""Seeded synthetic problems for the solver tests, how the tests chunk them,
and how they compare objectives.

These are plain functions, imported as ``from synthetic import ...``, not
fixtures: the tests call them several times with their own sizes and seeds
(often inside one test, or inside a parametrised fixture), which a fixture
could only offer as a factory returning the same function.
"""

import dask.array as da
import numpy as np

import daskglm


def make_glm_data(family, n=100_000, p=6, seed=0):
    """Seeded design with an intercept column and a response drawn from ``family``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, 0] = 1.0
    coef = rng.normal(scale=0.4, size=p)
    eta = X @ coef
    if isinstance(family, daskglm.Logistic):
        y = rng.binomial(1, family.mean(eta)).astype(float)
    elif isinstance(family, daskglm.Poisson):
        y = rng.poisson(family.mean(eta)).astype(float)
    else:
        y = family.mean(eta) + rng.normal(size=n)
    return X, y


def random_design(n_rows, n_cols, seed, density=1.0):
    """``(rng, X, coef)``: an intercept column and standard normal features
    (a share ``1 - density`` of them zeroed), with random coefficients."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_rows, n_cols - 1))
    if density < 1.0:
        features *= rng.random(features.shape) < density
    X = np.column_stack([np.ones(n_rows), features])
    return rng, X, rng.normal(scale=0.4, size=n_cols)


def logistic_and_poisson_data(n_rows, n_cols):
    """The two problems the ADMM and SAGA tests share: logistic (seed 0),
    and Poisson with an offset and weights (seed 1)."""
    rng, X, coef = random_design(n_rows, n_cols, 0)
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-X @ coef))).astype(float)
    logistic = (X, y, {})
    rng, X, coef = random_design(n_rows, n_cols, 1)
    offset = rng.normal(scale=0.2, size=n_rows)
    weights = rng.uniform(0.2, 2.0, size=n_rows)
    y = rng.poisson(np.exp(X @ coef + offset)).astype(float)
    return logistic, (X, y, {"offset": offset, "weights": weights})


def chunked(X, y, options, rows):
    """X, y and the per-row options (offset, weights, ...) as dask arrays of ``rows`` rows."""
    arrays = {key: da.from_array(value, chunks=rows) for key, value in options.items()}
    return da.from_array(X, chunks=(rows, X.shape[1])), da.from_array(y, chunks=rows), arrays


def relative_gap(value, reference):
    """``|value - reference| / |reference|``."""
    return abs(value - reference) / abs(reference)


def family_rows(family, n, seed):
    """Responses in ``family``'s domain and linear predictors inside its mean
    space: binary responses for a binomial family (means below 0.6 under the
    log link, whose mean must stay below 1), counts for a family with a
    fixed scale, Gamma draws for a family of positive responses (Gamma,
    inverse Gaussian), Gaussian noise otherwise."""
    rng = np.random.default_rng(seed)
    if not family.in_domain(np.zeros(1))[0]:
        mu = rng.uniform(0.5, 4.0, n)
        y = rng.gamma(3.0, mu / 3.0)
    elif isinstance(family, daskglm.Binomial):
        mu = rng.uniform(0.05, 0.6 if family.link == daskglm.links.Log() else 0.95, n)
        y = rng.binomial(1, mu).astype(float)
    elif not family.estimates_scale:
        mu = rng.uniform(0.3, 6.0, n)
        y = rng.poisson(mu).astype(float)
    elif not family.in_domain(np.array([-1.0]))[0]:   # positive responses (Tweedie)
        mu = rng.uniform(0.5, 4.0, n)
        y = rng.gamma(2.0, mu / 2.0)
    else:
        mu = rng.uniform(0.5, 4.0, n)
        y = mu + rng.normal(size=n)
    return y, family.link.link(mu)
