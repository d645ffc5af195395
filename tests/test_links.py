"""Links: inverses, derivatives against finite differences and statsmodels,
and stability far into the tails."""

import numpy as np
import pytest
from statsmodels.genmod.families import links as sm_links

from daskglm import links

LINKS = [links.Logit(), links.Probit(), links.CLogLog(), links.Log(), links.Identity(),
         links.Inverse(), links.Sqrt(), links.InverseSquared()]

SM_LINKS = {"logit": sm_links.Logit(), "probit": sm_links.Probit(), "cloglog": sm_links.CLogLog(),
            "log": sm_links.Log(), "identity": sm_links.Identity(),
            "inverse": sm_links.InversePower(), "sqrt": sm_links.Sqrt(),
            "inverse_squared": sm_links.InverseSquared()}


def mean_grid(link):
    if link.name in ("logit", "probit", "cloglog"):
        return np.linspace(0.02, 0.98, 49)
    return np.linspace(0.2, 5.0, 49)


@pytest.mark.parametrize("link", LINKS, ids=lambda link: link.name)
def test_inverse_undoes_link(link):
    mu = mean_grid(link)
    np.testing.assert_allclose(link.inverse(link.link(mu)), mu, rtol=1e-12)
    np.testing.assert_allclose(link(mu), link.link(mu))


@pytest.mark.parametrize("link", LINKS, ids=lambda link: link.name)
def test_derivatives_match_finite_differences(link):
    mu = mean_grid(link)
    h = 1e-6
    fd = (link.link(mu + h) - link.link(mu - h)) / (2 * h)
    np.testing.assert_allclose(link.deriv(mu), fd, rtol=1e-6)
    eta = link.link(mu)
    fd_inv = (link.inverse(eta + h) - link.inverse(eta - h)) / (2 * h)
    np.testing.assert_allclose(link.inverse_deriv(eta), fd_inv, rtol=1e-6)
    np.testing.assert_allclose(link.inverse_deriv(eta) * link.deriv(mu), 1.0, rtol=1e-10)


@pytest.mark.parametrize("link", LINKS, ids=lambda link: link.name)
def test_log_helpers_agree_with_direct_logs(link):
    mu = mean_grid(link)
    eta = link.link(mu)
    np.testing.assert_allclose(link.log_inverse(eta), np.log(mu), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(link.log_inverse_deriv(eta), np.log(np.abs(link.inverse_deriv(eta))),
                               rtol=1e-10, atol=1e-12)
    if link.name in ("logit", "probit", "cloglog"):
        np.testing.assert_allclose(link.log1m_inverse(eta), np.log1p(-mu), rtol=1e-10)


@pytest.mark.parametrize("link", LINKS, ids=lambda link: link.name)
def test_agrees_with_statsmodels(link):
    ref = SM_LINKS[link.name]
    mu = mean_grid(link)
    eta = ref(mu)
    np.testing.assert_allclose(link.link(mu), eta, rtol=1e-10)
    np.testing.assert_allclose(link.inverse(eta), ref.inverse(eta), rtol=1e-10)
    np.testing.assert_allclose(link.deriv(mu), ref.deriv(mu), rtol=1e-8)
    np.testing.assert_allclose(link.inverse_deriv(eta), ref.inverse_deriv(eta), rtol=1e-8)


@pytest.mark.parametrize("link", [links.Logit(), links.Probit(), links.CLogLog()],
                         ids=lambda link: link.name)
def test_binary_links_are_finite_in_the_tails(link):
    eta = np.array([-1000.0, -40.0, -5.0, 0.0, 5.0, 30.0])
    log_mu = link.log_inverse(eta)
    log_dmu = link.log_inverse_deriv(eta)
    assert np.all(np.isfinite(log_mu)) and np.all(np.isfinite(log_dmu[1:]))
    # far in the lower tail mu is tiny but its log is right: log mu ~ log g^{-1}(eta)
    assert log_mu[0] < -1000 + 1e-6
    assert np.all(np.isfinite(link.log1m_inverse(-eta[1:])))
    assert link.log1m_inverse(np.array([1000.0]))[0] < -999


def test_probit_tail_matches_asymptotic_expansion():
    # log Phi(-x) = -x^2/2 - log(x) - log(sqrt(2 pi)) + log(1 - 1/x^2 + 3/x^4 ...)
    x = 40.0
    expected = (-x * x / 2 - np.log(x) - 0.5 * np.log(2 * np.pi)
                + np.log1p(-1 / x**2 + 3 / x**4 - 15 / x**6))
    np.testing.assert_allclose(links.Probit().log_inverse(np.array([-x])), expected, rtol=1e-12)


def test_logit_tails_exact():
    eta = np.array([-1000.0, 1000.0])
    np.testing.assert_allclose(links.Logit().log_inverse(eta), [-1000.0, 0.0])
    np.testing.assert_allclose(links.Logit().log1m_inverse(eta), [0.0, -1000.0])


def test_get_link_names_classes_and_statsmodels():
    assert links.get_link("probit") == links.Probit()
    assert links.get_link(links.Log) == links.Log()
    assert links.get_link(sm_links.CLogLog()) == links.CLogLog()
    assert links.get_link(sm_links.InversePower()) == links.Inverse()
    with pytest.raises(ValueError, match="unknown link 'cauchyish'.*known links: .*logit"):
        links.get_link("cauchyish")
