"""Families: derivatives against finite differences, log-likelihood and
deviance against statsmodels' families, stability and domain checks."""

import numpy as np
import pytest
import statsmodels.api as sm

import daskglm
from daskglm import links
from daskglm.families import get_family

from synthetic import family_rows

CASES = [
    (daskglm.Logistic(), sm.families.Binomial()),
    (daskglm.Logistic(links.Probit()), sm.families.Binomial(sm.families.links.Probit())),
    (daskglm.Logistic(links.CLogLog()), sm.families.Binomial(sm.families.links.CLogLog())),
    (daskglm.Poisson(), sm.families.Poisson()),
    (daskglm.Poisson(links.Identity()), sm.families.Poisson(sm.families.links.Identity())),
    (daskglm.Poisson(links.Sqrt()), sm.families.Poisson(sm.families.links.Sqrt())),
    (daskglm.Normal(), sm.families.Gaussian()),
    (daskglm.Normal(links.Log()), sm.families.Gaussian(sm.families.links.Log())),
    (daskglm.NegativeBinomial(alpha=0.6), sm.families.NegativeBinomial(alpha=0.6)),
    (daskglm.NegativeBinomial(links.Identity(), alpha=2.5),
     sm.families.NegativeBinomial(sm.families.links.Identity(), alpha=2.5)),
    (daskglm.Gamma(), sm.families.Gamma()),
    (daskglm.Gamma(links.Log()), sm.families.Gamma(sm.families.links.Log())),
    (daskglm.Gamma(links.Identity()), sm.families.Gamma(sm.families.links.Identity())),
    (daskglm.InverseGaussian(), sm.families.InverseGaussian()),
    (daskglm.InverseGaussian(links.Inverse()),
     sm.families.InverseGaussian(sm.families.links.InversePower())),
    (daskglm.InverseGaussian(links.Identity()),
     sm.families.InverseGaussian(sm.families.links.Identity())),
    (daskglm.InverseGaussian(links.Log()), sm.families.InverseGaussian(sm.families.links.Log())),
]
IDS = [repr(f) for f, _ in CASES]


def sample(family, n=400, seed=1):
    return family_rows(family, n, seed)


@pytest.mark.parametrize("family, sm_family", CASES, ids=IDS)
def test_gradient_matches_finite_differences(family, sm_family):
    y, eta = sample(family)
    h = 1e-6
    fd = (family.nll(y, eta + h) - family.nll(y, eta - h)) / (2 * h)
    np.testing.assert_allclose(family.gradient(y, eta), fd, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("family, sm_family", CASES, ids=IDS)
def test_fisher_weights(family, sm_family):
    y, eta = sample(family)
    weights = family.fisher_weights(eta)
    mu = family.mean(eta)
    # expected information, from statsmodels' link derivative and variance
    expected = 1.0 / (sm_family.link.deriv(mu) ** 2 * sm_family.variance(mu))
    np.testing.assert_allclose(weights, expected, rtol=1e-8)
    if family.is_canonical:  # observed information: the second derivative
        h = 1e-5
        fd = (family.gradient(y, eta + h) - family.gradient(y, eta - h)) / (2 * h)
        np.testing.assert_allclose(weights, fd, rtol=1e-5, atol=1e-9)
    nll, grad, weight = family.derivatives(y, eta)
    np.testing.assert_allclose(nll, family.nll(y, eta))
    np.testing.assert_allclose(weight, weights)


@pytest.mark.parametrize("family, sm_family", CASES, ids=IDS)
def test_loglike_and_deviance_match_statsmodels(family, sm_family):
    y, eta = sample(family)
    mu = family.mean(eta)
    scale = 1.7 if family.estimates_scale else 1.0
    var_weights = np.linspace(0.5, 2.0, y.size)
    np.testing.assert_allclose(
        family.loglike_obs(y, mu, var_weights=var_weights, scale=scale).sum(),
        sm_family.loglike(y, mu, var_weights=var_weights, scale=scale), rtol=1e-10)
    np.testing.assert_allclose(family.unit_deviance(y, mu).sum(), sm_family.deviance(y, mu),
                               rtol=1e-10)
    np.testing.assert_allclose(family.resid_deviance(y, mu), sm_family.resid_dev(y, mu),
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(family.variance(mu), sm_family.variance(mu), rtol=1e-12)


@pytest.mark.parametrize("family, sm_family", CASES, ids=IDS)
def test_nll_differs_from_minus_loglike_by_terms_free_of_eta(family, sm_family):
    y, eta = sample(family)
    _, other_eta = sample(family, seed=2)
    loglike = lambda e: sm_family.loglike_obs(y, family.mean(e))  # noqa: E731
    np.testing.assert_allclose(family.nll(y, eta) - family.nll(y, other_eta),
                               -(loglike(eta) - loglike(other_eta)), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("family", [daskglm.Logistic(), daskglm.Logistic(links.Probit()),
                                    daskglm.Logistic(links.CLogLog()), daskglm.Poisson(),
                                    daskglm.Normal()], ids=repr)
def test_no_nan_for_extreme_linear_predictors(family):
    eta = np.array([-3000.0, -700.0, -30.0, 0.0, 30.0, 700.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    nll, grad, weight = family.derivatives(y, eta)
    assert not np.any(np.isnan(nll)) and not np.any(np.isnan(grad))
    assert not np.any(np.isnan(weight)) and np.all(weight >= 0)
    if isinstance(family, daskglm.Logistic):
        assert np.all(np.isfinite(nll)) and np.all(np.isfinite(grad))
        # a confidently right prediction costs nothing, a wrong one costs |eta|
        assert nll[0] < 1e-300 and nll[5] > 699


def test_canonical_logistic_tail_values():
    family = daskglm.Logistic()
    np.testing.assert_allclose(family.nll(np.array([1.0, 0.0]), np.array([-1000.0, 1000.0])),
                               [1000.0, 1000.0])


@pytest.mark.parametrize("family, bad_y, text", [
    (daskglm.Logistic(), [0.0, 1.0, 2.0, -1.0], "0 <= y <= 1"),
    (daskglm.Poisson(), [0.0, -3.0, 1.0], "y >= 0"),
    (daskglm.Gamma(), [1.0, 0.0, 2.0, -1.0], "y > 0"),
    (daskglm.InverseGaussian(), [0.0, 1.0], "y > 0"),
], ids=["logistic", "poisson", "gamma", "inverse_gaussian"])
def test_domain_check_names_the_rows(family, bad_y, text):
    with pytest.raises(ValueError, match=rf"y has \d value\(s\) outside .*{text}.*rows: \d"):
        family.check_domain(np.array(bad_y))


def test_aliases_and_lookup():
    assert daskglm.Binomial is daskglm.Logistic and daskglm.Gaussian is daskglm.Normal
    assert get_family("poisson") == daskglm.Poisson()
    assert get_family(sm.families.Binomial(sm.families.links.Probit())) == \
        daskglm.Logistic(links.Probit())
    # every statsmodels GLM family converts, its parameters included
    for name in ("Binomial", "Gamma", "Gaussian", "InverseGaussian", "NegativeBinomial",
                 "Poisson", "Tweedie"):
        assert get_family(getattr(sm.families, name)()).name == name
    with pytest.raises(ValueError, match="unknown family 'weibull'; supported: .*poisson"):
        get_family("weibull")


def test_link_must_be_allowed():
    with pytest.raises(ValueError, match="link 'sqrt' is not allowed for the Binomial family"):
        daskglm.Logistic(link="sqrt")
