"""A family is a plug-in: families and links written here, outside the
package, from the base classes and their own numba functions, fit with every
solver and give statsmodels' results; and the compiled row math of every
family and link agrees with finite differences and stays finite in the tails."""

import math

import dask.array as da
import numpy as np
import pytest
import statsmodels.api as sm
from numba import njit
from scipy import special

import daskglm
from daskglm import links, solvers
from daskglm.families import Family
from daskglm.math.compiled import row_arrays, row_math

from synthetic import family_rows

_jit = njit(nogil=True, cache=True, error_model="numpy")


# -- (a) a family from the base class: counts with variance mu ------------------------
@_jit
def _counts_variance(mu):
    return mu


@_jit
def _counts_nll(y, eta, mu):
    if not mu >= 0.0:
        return math.inf
    return mu - y * eta if y != 0.0 else mu      # log link: log mu = eta


@_jit
def _counts_log_variance(eta):
    return eta                                   # log mu, without forming mu


@_jit
def _counts_start(y):
    return y + 0.5


class Counts(Family):
    """Poisson-like counts, written without daskglm's Poisson: V(mu) = mu,
    nll = mu - y log mu, log link, and no closed-form canonical row (so the
    generic builder composes it from the pieces)."""

    name = "Counts"
    canonical_link = links.Log
    allowed_links = (links.Log,)
    domain_text = "y >= 0"

    def functions(self):
        return dict(variance=_counts_variance, log_variance=_counts_log_variance,
                    nll=_counts_nll, start_mean=_counts_start)

    def in_domain(self, y):
        return y >= 0.0

    def unit_deviance(self, y, mu):
        return 2.0 * (special.xlogy(y, y / mu) - (y - mu))

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        return var_weights / scale * (special.xlogy(y, mu) - mu - special.gammaln(y + 1.0))


# -- (b) a link from the base class: cauchit -------------------------------------------
@_jit
def _cauchit_inverse(eta):
    return math.atan2(1.0, -eta) / math.pi      # 1/2 + atan(eta)/pi, no cancellation


@_jit
def _cauchit_log_inverse(eta):
    return math.log(math.atan2(1.0, -eta) / math.pi)


@_jit
def _cauchit_log1m_inverse(eta):
    return math.log(math.atan2(1.0, eta) / math.pi)


@_jit
def _cauchit_inverse_deriv(eta):
    return 1.0 / (math.pi * (1.0 + eta * eta))


@_jit
def _cauchit_inverse_deriv2(eta):
    square = 1.0 + eta * eta
    return -2.0 * eta / (math.pi * square * square)


@_jit
def _cauchit_link(mu):
    return math.tan(math.pi * (mu - 0.5))


@_jit
def _cauchit_deriv(mu):
    c = math.cos(math.pi * (mu - 0.5))
    return math.pi / (c * c)


class Cauchit(links.Link):
    """The Cauchy distribution's quantile function as a link."""

    name = "cauchit"

    def functions(self):
        return dict(link=_cauchit_link, deriv=_cauchit_deriv, inverse=_cauchit_inverse,
                    inverse_deriv=_cauchit_inverse_deriv, inverse_deriv2=_cauchit_inverse_deriv2,
                    log_inverse=_cauchit_log_inverse, log1m_inverse=_cauchit_log1m_inverse)


class CauchitBinomial(daskglm.Binomial):
    """daskglm's Binomial, allowed one more link."""

    allowed_links = (*daskglm.Binomial.allowed_links, Cauchit)


# -- data and references ---------------------------------------------------------------
N_ROWS, N_CHUNKS = 3000, 3


def _problem(kind):
    rng = np.random.default_rng(11)
    X = np.column_stack([np.ones(N_ROWS), rng.normal(size=(N_ROWS, 3))])
    if kind == "counts":
        eta = X @ np.array([0.3, 0.4, -0.3, 0.2])
        y = rng.poisson(np.exp(eta)).astype(float)
        return X, y, Counts(), sm.families.Poisson()
    eta = X @ np.array([-0.3, 1.0, -0.7, 0.5])
    y = (rng.random(N_ROWS) < 0.5 + np.arctan(eta) / np.pi).astype(float)
    return X, y, CauchitBinomial(link=Cauchit()), \
        sm.families.Binomial(link=sm.families.links.Cauchy())


@pytest.fixture(scope="module", params=["counts", "cauchit"])
def plugin_problem(request):
    X, y, family, sm_family = _problem(request.param)
    reference = sm.GLM(y, X, family=sm_family).fit(tol=1e-13, maxiter=200)
    chunks = N_ROWS // N_CHUNKS
    dask_data = da.from_array(X, chunks=(chunks, X.shape[1])), da.from_array(y, chunks=chunks)
    return X, y, family, sm_family, reference, dask_data


SOLVER_TOLERANCES = {"newton": 1e-8, "lbfgs": 1e-5, "admm": 1e-5, "proximal_grad": 1e-5,
                     "saga": 1e-5}


@pytest.mark.parametrize("solver", sorted(SOLVER_TOLERANCES))
def test_every_solver_fits_a_plugin_family(plugin_problem, solver):
    _, _, family, _, reference, (X, y) = plugin_problem
    assert X.numblocks[0] >= 3
    tol = 1e-10 if solver == "newton" else 1e-8
    fit = solvers.get_solver(solver)(X, y, family, tol=tol, max_iter=20_000)
    assert fit.converged, fit.message
    tolerance = SOLVER_TOLERANCES[solver]
    np.testing.assert_allclose(fit.coef, reference.params, rtol=tolerance, atol=tolerance)


def test_glm_results_equal_statsmodels(plugin_problem):
    X, y, family, _, reference, (X_dask, y_dask) = plugin_problem
    results = daskglm.GLM(y_dask, X_dask, family=family).fit()
    np.testing.assert_allclose(np.asarray(results.params), reference.params, rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(np.asarray(results.bse), reference.bse, rtol=1e-5)
    for name in ("deviance", "null_deviance", "llf", "pearson_chi2", "aic"):
        np.testing.assert_allclose(getattr(results, name), getattr(reference, name),
                                   rtol=1e-8, err_msg=name)
    mine, theirs = results.summary().tables[1].data, reference.summary().tables[1].data
    assert [row[1:] for row in mine] == [row[1:] for row in theirs]


def test_compile_time_is_reported():
    """A family's first kernels record their compile seconds; the fit that
    paid them reports them in its info."""
    from daskglm.passes.kernels import compile_seconds

    class FreshCounts(Counts):   # a family no test has compiled yet in this process
        pass

    X, y, _, _ = _problem("counts")
    fit = solvers.newton(X, y, FreshCounts(), tol=1e-8)
    seconds = compile_seconds()
    assert seconds[f"fused pass for {FreshCounts()!r}"] > 0.0
    assert fit.info["compile_seconds"] >= seconds[f"fused pass for {FreshCounts()!r}"]
    again = solvers.newton(X, y, FreshCounts(), tol=1e-8)
    assert again.info["compile_seconds"] < fit.info["compile_seconds"]


# -- the compiled row math of every family and link ------------------------------------
FAMILY_LINKS = [
    daskglm.Binomial(), daskglm.Binomial(link="probit"), daskglm.Binomial(link="cloglog"),
    daskglm.Binomial(link="log"), daskglm.Binomial(link="cauchy"),
    daskglm.Binomial(link="loglog"), daskglm.Binomial(link="logc"),
    daskglm.Binomial(link="identity"), daskglm.Binomial(link=links.CDFLink("norm(0.5, 2.0)")),
    daskglm.Binomial(link=links.CDFLink("t(3)")),
    daskglm.Poisson(), daskglm.Poisson(link="identity"), daskglm.Poisson(link="sqrt"),
    daskglm.Gaussian(), daskglm.Gaussian(link="log"), daskglm.Gaussian(link="inverse"),
    daskglm.Tweedie(var_power=1.5), daskglm.Tweedie(var_power=2.5),
    daskglm.Tweedie(var_power=0.0),
    daskglm.Gamma(), daskglm.Gamma(link="log"), daskglm.Gamma(link="identity"),
    daskglm.InverseGaussian(), daskglm.InverseGaussian(link="inverse"),
    daskglm.InverseGaussian(link="identity"), daskglm.InverseGaussian(link="log"),
    Counts(), CauchitBinomial(link=Cauchit()),
    daskglm.NegativeBinomial(alpha=0.6), daskglm.NegativeBinomial(link="identity", alpha=2.5),
]


def _rows(family, n=300, seed=3):
    return family_rows(family, n, seed)


@pytest.mark.parametrize("family", FAMILY_LINKS, ids=repr)
def test_row_math_derivatives_match_finite_differences(family):
    y, eta = _rows(family)
    nll, d1, fisher = row_arrays(family, y, eta)
    h = 1e-6
    fd = (row_arrays(family, y, eta + h)[0] - row_arrays(family, y, eta - h)[0]) / (2 * h)
    np.testing.assert_allclose(d1, fd, rtol=1e-5, atol=1e-8)
    # the Fisher weight is the expected second derivative: the derivative of
    # the gradient with y replaced by its mean
    mu = family.mean(eta)
    fd2 = (row_arrays(family, mu, eta + h)[1] - row_arrays(family, mu, eta - h)[1]) / (2 * h)
    np.testing.assert_allclose(fisher, fd2, rtol=1e-5, atol=1e-9)
    assert np.all(fisher > 0)


@pytest.mark.parametrize("family", FAMILY_LINKS, ids=repr)
def test_start_row_is_one_irls_step_from_the_starting_mean(family):
    y, _ = _rows(family)
    eta, fisher, moment = (np.array(part) for part in zip(*map(row_math(family).start, y)))
    mu = family.starting_mu(y)
    np.testing.assert_allclose(eta, family.link.link(mu), rtol=1e-12)
    usable = np.isfinite(eta)   # a starting mean outside the link's domain: row left out
    assert usable.mean() > 0.8
    y, mu, eta, fisher, moment = (part[usable] for part in (y, mu, eta, fisher, moment))
    np.testing.assert_allclose(fisher, family.fisher_weights(eta), rtol=1e-10)
    working = eta + (y - mu) * family.link.deriv(mu)
    np.testing.assert_allclose(moment, fisher * (working - eta), rtol=1e-9, atol=1e-12)


def _tail_etas(family):
    """|eta| = 40, 700, 5000 where the link maps them into the mean space."""
    etas = np.array([-5000.0, -700.0, -40.0, 40.0, 700.0, 5000.0])
    if family == daskglm.Binomial(link="identity"):
        # the mean space is (0, 1) itself: its edges are the tails
        return np.array([1e-300, 1e-12, 0.5, 1.0 - 1e-12])
    if family.link in (links.Identity(), links.Inverse(), links.InverseSquared()) \
            and family.name != "Gaussian":
        etas = etas[etas > 0]
    if family.link in (links.Log(), links.LogC()) and isinstance(family, daskglm.Binomial):
        etas = etas[etas < 0]
    return etas


@pytest.mark.parametrize("family", FAMILY_LINKS, ids=repr)
def test_row_math_in_the_tails(family):
    etas = _tail_etas(family)
    for y_value in (0.0, 1.0, 3.0 if not isinstance(family, daskglm.Binomial) else 0.5):
        if not family.in_domain(np.array([y_value]))[0]:
            continue                      # y = 0 for a family of positive responses
        y = np.full(etas.shape, y_value)
        nll, d1, fisher = row_arrays(family, y, etas)
        assert not np.any(np.isnan(nll) | np.isnan(d1) | np.isnan(fisher)), (y_value, etas)
        assert np.all(fisher >= 0)
        mu = family.mean(etas)
        # a mean that underflowed to a boundary outside the mean space (0 for
        # the Gamma's log link) has no finite gradient either
        finite_mean = np.isfinite(mu) & family.in_domain(mu)
        if family == daskglm.Gaussian(link="log"):
            finite_mean &= etas < 700  # the gradient (mu - y) mu is beyond double range there
        if isinstance(family, daskglm.Tweedie):
            # the gradient mu^(2-p) - y mu^(1-p) is beyond double range there
            power = family.var_power
            finite_mean &= np.maximum(np.abs((1 - power) * etas), np.abs((2 - power) * etas)) < 700
        if family == daskglm.InverseGaussian(link="log"):
            finite_mean &= etas > -350  # and (mu - y) / mu^2 here
        # wherever the mean is a number, so is the gradient (no inf - inf, no 0 * inf)
        assert np.all(np.isfinite(d1[finite_mean])), (y_value, etas[finite_mean], d1)
        if isinstance(family, daskglm.Binomial):  # exp(5000) is cloglog's nll at y = 0
            assert np.all(np.isfinite(nll[np.abs(etas) <= 700]))
