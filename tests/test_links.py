"""Links: inverses, derivatives against finite differences and statsmodels'
link objects, stability far into the tails, parameters, names and
statsmodels instances."""

import warnings

import numpy as np
import pytest
import scipy.stats
from statsmodels.genmod.families import links as sm_links

from daskglm import links

# every link, with statsmodels' counterpart
PAIRS = [
    (links.Logit(), sm_links.Logit()),
    (links.Probit(), sm_links.Probit()),
    (links.Cauchy(), sm_links.Cauchy()),
    (links.CLogLog(), sm_links.CLogLog()),
    (links.LogLog(), sm_links.LogLog()),
    (links.Log(), sm_links.Log()),
    (links.LogC(), sm_links.LogC()),
    (links.Identity(), sm_links.Identity()),
    (links.Inverse(), sm_links.InversePower()),
    (links.Sqrt(), sm_links.Sqrt()),
    (links.InverseSquared(), sm_links.InverseSquared()),
    (links.Power(2.0), sm_links.Power(2.0)),
    (links.Power(-0.7), sm_links.Power(-0.7)),
    (links.Power(1.0 / 3.0), sm_links.Power(1.0 / 3.0)),
    (links.NegativeBinomial(0.7), sm_links.NegativeBinomial(0.7)),
    (links.CDFLink(), sm_links.CDFLink()),
    (links.CDFLink(scipy.stats.norm(1.0, 2.0)), sm_links.CDFLink(scipy.stats.norm(1.0, 2.0))),
    (links.CDFLink("logistic"), sm_links.CDFLink(scipy.stats.logistic)),
    (links.CDFLink("gumbel_r(0.5)"), sm_links.CDFLink(scipy.stats.gumbel_r(0.5))),
    (links.CDFLink("t(3)"), sm_links.CDFLink(scipy.stats.t(3))),
    (links.CDFLink(scipy.stats.hypsecant), sm_links.CDFLink(scipy.stats.hypsecant)),
]
LINKS = [link for link, _ in PAIRS]
SM_LINKS = {link: reference for link, reference in PAIRS}

UNIT_INTERVAL = (links.Logit, links.Probit, links.Cauchy, links.CLogLog, links.LogLog,
                 links.LogC, links.CDFLink)


def mean_grid(link):
    if isinstance(link, UNIT_INTERVAL):
        return np.linspace(0.02, 0.98, 49)
    return np.linspace(0.2, 5.0, 49)


@pytest.mark.parametrize("link", LINKS, ids=repr)
def test_inverse_undoes_link(link):
    mu = mean_grid(link)
    np.testing.assert_allclose(link.inverse(link.link(mu)), mu, rtol=1e-12)
    np.testing.assert_allclose(link(mu), link.link(mu))


@pytest.mark.parametrize("link", LINKS, ids=repr)
def test_derivatives_match_finite_differences(link):
    mu = mean_grid(link)
    h = 1e-6
    fd = (link.link(mu + h) - link.link(mu - h)) / (2 * h)
    np.testing.assert_allclose(link.deriv(mu), fd, rtol=1e-6)
    eta = link.link(mu)
    fd_inv = (link.inverse(eta + h) - link.inverse(eta - h)) / (2 * h)
    np.testing.assert_allclose(link.inverse_deriv(eta), fd_inv, rtol=1e-6)
    np.testing.assert_allclose(link.inverse_deriv(eta) * link.deriv(mu), 1.0, rtol=1e-10)
    h2 = 1e-5
    fd_inv2 = (link.inverse_deriv(eta + h2) - link.inverse_deriv(eta - h2)) / (2 * h2)
    scale = np.abs(link.inverse_deriv(eta)).max()
    np.testing.assert_allclose(link.inverse_deriv2(eta), fd_inv2, rtol=1e-6, atol=1e-8 * scale)
    fd_deriv2 = (link.deriv(mu + h2) - link.deriv(mu - h2)) / (2 * h2)
    np.testing.assert_allclose(link.deriv2(mu), fd_deriv2, rtol=1e-5,
                               atol=1e-8 * np.abs(link.deriv(mu)).max())


@pytest.mark.parametrize("link", LINKS, ids=repr)
def test_log_helpers_agree_with_direct_logs(link):
    mu = mean_grid(link)
    eta = link.link(mu)
    np.testing.assert_allclose(link.log_inverse(eta), np.log(mu), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(link.log_inverse_deriv(eta), np.log(np.abs(link.inverse_deriv(eta))),
                               rtol=1e-10, atol=1e-12)
    if isinstance(link, UNIT_INTERVAL):
        np.testing.assert_allclose(link.log1m_inverse(eta), np.log1p(-mu), rtol=1e-10)


@pytest.mark.parametrize("link", LINKS, ids=repr)
def test_agrees_with_statsmodels(link):
    ref = SM_LINKS[link]
    mu = mean_grid(link)
    eta = ref(mu)
    # tan(pi (mu - 1/2)) is zero at mu = 1/2 only up to rounding: compare near it absolutely
    np.testing.assert_allclose(link.link(mu), eta, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(link.inverse(eta), ref.inverse(eta), rtol=1e-10)
    np.testing.assert_allclose(link.deriv(mu), ref.deriv(mu), rtol=1e-8)
    np.testing.assert_allclose(link.inverse_deriv(eta), ref.inverse_deriv(eta), rtol=1e-8)
    # statsmodels' CDFLink takes d^2 mu / d eta^2 by numerical differentiation
    rtol2 = 1e-6 if type(link) is links.CDFLink else 1e-8
    if not isinstance(ref, sm_links.NegativeBinomial):   # statsmodels has none for it
        np.testing.assert_allclose(link.inverse_deriv2(eta), ref.inverse_deriv2(eta),
                                   rtol=rtol2, atol=1e-12)
    np.testing.assert_allclose(link.deriv2(mu), ref.deriv2(mu), rtol=rtol2, atol=1e-10)


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


def test_cauchy_tails_match_the_series():
    # mu(-x) = atan(1/x) / pi = (1/x - 1/(3 x^3) + ...) / pi; d mu / d eta = 1 / (pi (1 + x^2))
    cauchy = links.Cauchy()
    x = np.array([1e5, 1e8, 1e200])
    series = -np.log(np.pi * x) + np.log1p(-1.0 / x / x / 3.0)
    np.testing.assert_allclose(cauchy.log_inverse(-x), series, rtol=1e-14)
    np.testing.assert_allclose(cauchy.log1m_inverse(x), series, rtol=1e-14)
    np.testing.assert_allclose(cauchy.log_inverse_deriv(x), -np.log(np.pi) - 2 * np.log(x)
                               - np.log1p(1 / x / x), rtol=1e-14)
    assert cauchy.inverse(np.array([-1e300]))[0] > 0.0       # no cancellation to zero
    # the link keeps a tiny mean's precision: g(mu) = -1 / (pi mu) + pi mu / 3 ...
    np.testing.assert_allclose(cauchy.link(np.array([1e-12])), -1.0 / (np.pi * 1e-12), rtol=1e-12)


def test_loglog_mirrors_cloglog_in_both_tails():
    eta = np.array([-1e4, -700.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0, 1e4])
    loglog, cloglog = links.LogLog(), links.CLogLog()
    np.testing.assert_array_equal(loglog.log_inverse(eta), cloglog.log1m_inverse(-eta))
    np.testing.assert_array_equal(loglog.log1m_inverse(eta), cloglog.log_inverse(-eta))
    np.testing.assert_array_equal(loglog.log_inverse_deriv(eta), cloglog.log_inverse_deriv(-eta))
    np.testing.assert_allclose(loglog.inverse(eta), 1.0 - cloglog.inverse(-eta), atol=1e-16)
    # log(1 - mu) at eta = 700 and 1e4, where 1 - mu = exp(-eta) underflows or nearly
    np.testing.assert_allclose(loglog.log1m_inverse(eta[-2:]), -eta[-2:], rtol=1e-15)
    assert np.all(np.isfinite(loglog.log_inverse(eta[1:])))
    assert np.all(np.isfinite(loglog.log_inverse_deriv(eta[1:])))


def test_logc_and_negative_binomial_tails():
    eta = np.array([-1e4, -700.0, -40.0, -1e-12])
    logc = links.LogC()
    np.testing.assert_array_equal(logc.log1m_inverse(eta), eta)
    np.testing.assert_allclose(logc.log_inverse(eta[-1:]), np.log(1e-12), rtol=1e-10)
    assert np.all(np.isfinite(logc.log_inverse(eta)))
    nbinom = links.NegativeBinomial(0.5)
    # mu = exp(eta) / (alpha (1 - exp(eta))) underflows below eta = -745; its log does not
    np.testing.assert_allclose(nbinom.log_inverse(eta[:2]), eta[:2] - np.log(0.5), rtol=1e-15)
    np.testing.assert_allclose(nbinom.log_inverse_deriv(eta[:2]), eta[:2] - np.log(0.5),
                               rtol=1e-15)
    np.testing.assert_allclose(nbinom.log_inverse(eta[-1:]), np.log(2.0 / 1e-12), rtol=1e-6)
    # outside the mean space (eta > 0) the mean is negative, as statsmodels'
    assert nbinom.inverse(np.array([1.0]))[0] < 0.0
    assert np.isnan(nbinom.log_inverse(np.array([1.0]))[0])


def test_power_log_helpers_stay_finite_where_the_mean_overflows():
    power = links.Power(0.1)                 # mu = eta^10
    eta = np.array([1e40, 1e-40])
    np.testing.assert_allclose(power.log_inverse(eta), 10.0 * np.log(eta), rtol=1e-15)
    np.testing.assert_allclose(power.log_inverse_deriv(eta), np.log(10.0) + 9.0 * np.log(eta),
                               rtol=1e-15)
    assert np.isinf(power.inverse(eta[:1]))[0] and power.inverse(eta[1:])[0] == 0.0


# -- parameters, equality, names ------------------------------------------------------------
def test_power_special_cases_are_the_named_links():
    for power, named in ((1.0, links.Identity()), (0.5, links.Sqrt()),
                         (-1.0, links.InversePower())):
        assert isinstance(named, links.Power) and named.power == power
        assert links.Power(power) != named                  # different classes, as statsmodels
        assert links.Power(power).scalars.inverse is named.scalars.inverse
    assert links.Inverse is links.InversePower
    assert links.Power(2) == links.Power(2.0) != links.Power(3.0)
    assert hash(links.Power(2)) == hash(links.Power(2.0))
    assert repr(links.NegativeBinomial(0.5)) == "NegativeBinomial(0.5)"


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: links.Power(0.0), ValueError, "Power link: power must be nonzero"),
    (lambda: links.Power(float("nan")), ValueError, "power must be a finite number"),
    (lambda: links.Power("2"), TypeError, "power must be a real number"),
    (lambda: links.NegativeBinomial(0.0), ValueError, "alpha must be a positive finite"),
    (lambda: links.NegativeBinomial(True), TypeError, "alpha must be a real number"),
    (lambda: links.CDFLink(scipy.stats.poisson(2.0)), TypeError, "continuous scipy.stats"),
    (lambda: links.CDFLink(scipy.stats.t), ValueError, r"needs its shape parameters \(df\)"),
    (lambda: links.CDFLink("t(-1)"), ValueError, "invalid parameters"),
    (lambda: links.CDFLink("no_such_dbn"), ValueError, "does not name a continuous"),
    (lambda: links.CDFLink("t(df=__import__('os'))"), ValueError, "number arguments"),
])
def test_bad_parameters_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_cdf_link_compiles_known_distributions():
    assert links.CDFLink().scalars.inverse is links.Probit().scalars.inverse
    for name, named in (("logistic", links.Logit()), ("cauchy", links.Cauchy()),
                        ("gumbel_l", links.CLogLog()), ("gumbel_r", links.LogLog())):
        assert links.CDFLink(name).compiled
        assert links.CDFLink(name).scalars.inverse is named.scalars.inverse
    assert links.CDFLink(scipy.stats.norm(1.0, scale=2.0)).compiled
    assert not links.CDFLink("t(3)").compiled
    # the shifted and scaled closed forms equal scipy's, tails included
    shifted, dbn = links.CDFLink("norm(1.0, 2.0)"), scipy.stats.norm(1.0, 2.0)
    eta = np.array([-200.0, -3.0, 1.0, 4.0, 50.0])
    np.testing.assert_allclose(shifted.log_inverse(eta), dbn.logcdf(eta), rtol=1e-13)
    np.testing.assert_allclose(shifted.log1m_inverse(eta), dbn.logsf(eta), rtol=1e-13)
    np.testing.assert_allclose(shifted.log_inverse_deriv(eta), dbn.logpdf(eta), rtol=1e-13)


def test_cdf_link_names_its_distribution():
    assert links.CDFLink("t(3)") == links.CDFLink(scipy.stats.t(3))
    assert hash(links.CDFLink("t(3)")) == hash(links.CDFLink(scipy.stats.t(df=3)))
    assert links.CDFLink("t(3)") != links.CDFLink("t(4)")
    assert links.CDFLink("norm") == links.CDFLink(scipy.stats.norm) == links.CDFLink()
    assert repr(links.CDFLink(scipy.stats.t(3, scale=2))) == "CDFLink('t(df=3.0, scale=2.0)')"
    assert links.CDFLink("norm(0, 1)") == links.CDFLink("norm")
    link = links.CDFLink("t(3, scale=2.0)")
    assert links.CDFLink(*link.params) == link

    class Custom(scipy.stats.rv_continuous):
        def _cdf(self, x):
            return 1.0 / (1.0 + np.exp(-x))

    custom = Custom(name="custom")
    assert links.CDFLink(custom).params == (custom,)
    np.testing.assert_allclose(links.CDFLink(custom).inverse(np.array([0.3])),
                               links.Logit().inverse(np.array([0.3])), rtol=1e-12)


def test_get_link_names_classes_and_statsmodels():
    assert links.get_link("probit") == links.Probit()
    assert links.get_link(links.Log) == links.Log()
    assert links.get_link(sm_links.CLogLog()) == links.CLogLog()
    assert links.get_link(sm_links.InversePower()) == links.Inverse()
    with pytest.raises(ValueError, match="unknown link 'cauchyish'.*known links: .*logit"):
        links.get_link("cauchyish")


@pytest.mark.parametrize("link", LINKS, ids=repr)
def test_get_link_takes_every_name_and_statsmodels_instance(link):
    assert links.get_link(SM_LINKS[link]) == link
    cls = type(link)
    for name in (link.name, link.name.upper(), cls.__name__, cls.__name__.lower()):
        assert type(links.get_link(name)) is cls


def test_get_link_takes_statsmodels_aliases_and_odd_cdf_links():
    assert links.get_link("inverse") == links.get_link("InversePower") == links.InversePower()
    assert links.get_link("negative_binomial") == links.NegativeBinomial()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)    # statsmodels' deprecated aliases
        assert links.get_link(sm_links.inverse_power()) == links.InversePower()
        assert links.get_link(sm_links.nbinom(0.3)) == links.NegativeBinomial(0.3)
        assert links.get_link(sm_links.cloglog()) == links.CLogLog()
    # statsmodels' Probit with another distribution is that distribution's CDF link
    assert links.get_link(sm_links.Probit(scipy.stats.t(5))) == links.CDFLink("t(5)")
    with pytest.raises(TypeError, match="link must be a daskglm link"):
        links.get_link(3)


def test_every_link_is_a_public_name():
    import daskglm

    for link in LINKS:
        assert getattr(daskglm.links, type(link).__name__) is type(link)
        assert links.LINKS[link.name] is type(link)
