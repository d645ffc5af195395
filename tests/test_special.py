"""The compiled special functions (erfcx, the normal CDF and its log) against
scipy, and the binomial family's closed-form probit row against the composed
row, independent scipy formulas, finite differences and statsmodels."""

import dask.array as da
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special as sp

import daskglm
from daskglm import links
from daskglm.math import special
from daskglm.math.compiled import _composed_row, _row_loop, elementwise, row_arrays, row_math

PROBIT = daskglm.Logistic(link=links.Probit())


def relative_error(ours, reference):
    return np.abs(ours / reference - 1.0)


def test_erfcx_matches_scipy_on_the_table_and_beyond():
    rng = np.random.default_rng(0)
    t = np.concatenate([np.linspace(0.0, 30.0, 300_001), rng.uniform(0.0, 30.0, 100_000),
                        np.geomspace(1e-300, 1e-2, 1_000), np.linspace(30.0, 1e4, 100_001),
                        np.geomspace(1e4, 1e300, 1_000)])
    error = relative_error(elementwise(special.erfcx, t), sp.erfcx(t))
    worst = error.argmax()
    assert error[worst] < 1e-14, f"max relative error {error[worst]:.3g} at t = {t[worst]!r}"


def test_erfcx_negative_arguments_and_specials():
    t = np.linspace(-26.0, 0.0, 10_001)
    error = relative_error(elementwise(special.erfcx, t), sp.erfcx(t))
    assert error.max() < 1e-12, f"max relative error {error.max():.3g}"
    values = elementwise(special.erfcx, np.array([np.inf, -np.inf, np.nan, 0.0]))
    assert values[0] == 0.0 and values[1] == np.inf and np.isnan(values[2])
    assert abs(values[3] - 1.0) < 1e-15


def test_exp_half_square_carries_the_square_exactly():
    # exp(-x^2/2) = exp(-k/2) exactly representable cases: x^2 = k for x = sqrt(k)
    # is not exact, so compare with the product of two exps of exact halves instead
    x = np.linspace(0.5, 37.0, 5_001)
    half = x / 2.0                     # exact; x^2 / 2 = 2 half^2, half^2 computed exactly below
    hi = np.float64(np.float32(half))
    lo = half - hi
    # 2 half^2 = 2 hi^2 + 4 hi lo + 2 lo^2, the first term exact in double
    reference = np.exp(-2 * hi * hi) * np.exp(-(4 * hi * lo + 2 * lo * lo))
    error = relative_error(elementwise(special.exp_half_square, x), reference)
    assert error.max() < 2e-14, f"max relative error {error.max():.3g}"
    values = elementwise(special.exp_half_square, np.array([np.inf, -np.inf, 1e200, np.nan]))
    assert values[:3].tolist() == [0.0, 0.0, 0.0] and np.isnan(values[3])


def test_normal_cdf_and_its_log_match_scipy():
    x = np.linspace(-37.0, 37.0, 400_001)
    phi = elementwise(special.ndtr, x)
    # scipy's ndtr rounds x / sqrt(2) first and so loses ~x^2 ulp in the tail
    tolerance = 1e-15 * (8.0 + x * x)
    assert np.all(relative_error(phi, sp.ndtr(x)) < tolerance)
    log_phi = elementwise(special.log_ndtr, x)
    reference = sp.log_ndtr(x)
    assert np.all(np.abs(log_phi - reference) <= tolerance * np.abs(reference) + 1e-300)
    far = np.array([-5000.0, -700.0, 700.0, 5000.0, -np.inf, np.inf])
    np.testing.assert_allclose(elementwise(special.log_ndtr, far), sp.log_ndtr(far), rtol=1e-14)
    assert np.array_equal(elementwise(special.ndtr, far), sp.ndtr(far))


def composed_probit_row():
    """The generic row for Binomial(probit), composed from the link's and family's scalars."""
    link, own = PROBIT.link.scalars, PROBIT.scalars
    return _composed_row(link.inverse, link.inverse_deriv, link.log_inverse_deriv,
                         own.variance, own.log_variance, own.nll)


def test_probit_uses_its_closed_form_row():
    assert row_math(PROBIT).row is PROBIT.closed_form_row is not None
    assert daskglm.Logistic(link=links.CLogLog()).closed_form_row is None


@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_probit_row_matches_scipy_formulas(y):
    eta = np.linspace(-40.0, 40.0, 80_001)
    nll, gradient, fisher = row_arrays(PROBIT, y, eta)
    log_mu, log_complement = sp.log_ndtr(eta), sp.log_ndtr(-eta)
    log_pdf = -0.5 * eta * eta - 0.5 * np.log(2 * np.pi)
    mean_minus_y = np.where(eta < 0, sp.ndtr(eta) - y, (1.0 - y) - sp.ndtr(-eta))
    ratio = np.exp(log_pdf - log_mu - log_complement)
    np.testing.assert_allclose(nll, -(y * log_mu + (1 - y) * log_complement),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(gradient, mean_minus_y * ratio, rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(fisher, np.exp(2 * log_pdf - log_mu - log_complement),
                               rtol=1e-11, atol=1e-300)


@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_probit_row_matches_the_composed_row(y):
    eta = np.linspace(-40.0, 40.0, 8_001)
    ours = row_arrays(PROBIT, y, eta)
    composed = [np.empty_like(eta) for _ in range(3)]
    _row_loop(composed_probit_row())(np.full_like(eta, y), eta, *composed)
    # the composed row forms 1 - mu, log(mu) and mu - y directly until V < 1e-6:
    # ~1e-10 relative there, an absolute error of an ulp of 1 (times the
    # gradient's ratio, about |eta|) where a right prediction costs next to nothing
    for name, a, b, absolute in zip(("nll", "gradient", "fisher"), ours, composed,
                                    (1e-15, 1e-13, 1e-300), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=absolute, err_msg=name)


@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_probit_row_derivatives_match_finite_differences(y):
    eta = np.linspace(-8.0, 8.0, 161)
    step = 1e-6
    nll, gradient, fisher = row_arrays(PROBIT, y, eta)
    numeric = (row_arrays(PROBIT, y, eta + step)[0]
               - row_arrays(PROBIT, y, eta - step)[0]) / (2 * step)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-8)
    # from the smaller of mu and 1 - mu (Phi(-|eta|)), which keeps its precision
    inverse, magnitude = PROBIT.link.inverse, np.abs(eta)
    dmu = (inverse(-magnitude + step) - inverse(-magnitude - step)) / (2 * step)
    variance = inverse(eta) * inverse(-eta)
    np.testing.assert_allclose(fisher, dmu * dmu / variance, rtol=1e-5, atol=1e-12)


def test_probit_row_is_finite_in_the_far_tails():
    eta = np.array([-5000.0, -700.0, 700.0, 5000.0])
    for y in (0.0, 1.0, 0.5):
        nll, gradient, fisher = row_arrays(PROBIT, y, eta)
        assert np.all(np.isfinite(nll)) and np.all(np.isfinite(gradient)), (y, nll, gradient)
        assert np.all(fisher >= 0.0) and not np.any(np.isnan(fisher))
    nll, gradient, _ = row_arrays(PROBIT, np.array([1.0, 0.0]), np.array([-5000.0, 5000.0]))
    # a confidently wrong prediction costs eta^2 / 2 + log|eta| + log sqrt(2 pi)
    np.testing.assert_allclose(nll, 12_500_000 + np.log(5000.0) + 0.5 * np.log(2 * np.pi),
                               rtol=1e-14)
    np.testing.assert_allclose(gradient, [-5000.0002, 5000.0002], rtol=1e-9)


def test_probit_fit_matches_statsmodels_on_chunks():
    rng = np.random.default_rng(11)
    n = 3_000
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    y = (X @ np.array([0.2, 0.8, -1.0, 0.4]) + rng.normal(size=n) > 0).astype(float)
    reference = sm.GLM(y, X, family=sm.families.Binomial(sm.families.links.Probit())).fit(
        tol=1e-13)
    ours = daskglm.GLM(da.from_array(y, chunks=1_000), da.from_array(X, chunks=(1_000, 4)),
                       family=PROBIT).fit(tol=1e-10)
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=1e-5)
    np.testing.assert_allclose(ours.llf, reference.llf, rtol=1e-10)
