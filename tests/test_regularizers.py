"""Penalties: values, proximal operators against direct numerical
minimisation, KKT residuals, names and argument checks."""

import numpy as np
import pytest
from scipy import optimize

from daskglm import L1, L2, ElasticNet
from daskglm.regularizers import get_regularizer

PENALTIES = [L1(0.7), L2(1.3), ElasticNet(0.9, 0.35), ElasticNet(0.5, 1.0), ElasticNet(2.0, 0.0)]


def numerical_prox(penalty, v, step, penalized):
    """argmin_x |x - v|^2 / 2 + step * P(x), one coordinate at a time (P is separable)."""
    out = np.empty_like(v)
    for j, (vj, tj) in enumerate(zip(v, np.broadcast_to(step, v.shape), strict=True)):
        if not penalized[j]:
            out[j] = vj
            continue
        f = lambda x: 0.5 * (x - vj) ** 2 + tj * (penalty.l1 * abs(x) + 0.5 * penalty.l2 * x * x)  # noqa
        out[j] = optimize.minimize_scalar(f, bracket=(vj - 5, vj + 5), tol=1e-12).x
    return out


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_prox_matches_numerical_minimisation(penalty):
    rng = np.random.default_rng(3)
    v = rng.normal(scale=2.0, size=40)
    penalized = rng.random(40) > 0.2
    for step in (0.3, rng.uniform(0.1, 2.0, size=40)):
        expected = numerical_prox(penalty, v, step, penalized)
        np.testing.assert_allclose(penalty.prox(v, step, penalized), expected, atol=1e-7)


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_value_and_gradient(penalty):
    rng = np.random.default_rng(4)
    coef = rng.normal(size=12)
    penalized = np.ones(12, bool)
    penalized[0] = False
    b = coef[1:]
    expected = penalty.alpha * (penalty.l1_ratio * np.abs(b).sum()
                                + (1 - penalty.l1_ratio) / 2 * b @ b)
    assert penalty.value(coef, penalized) == pytest.approx(expected, rel=1e-12)
    h = 1e-7
    fd = [(penalty.value(coef + h * e, penalized)
           - penalty.value(coef - h * e, penalized)) / (2 * h)
          for e in np.eye(12)]
    np.testing.assert_allclose(penalty.gradient(coef, penalized), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_kkt_residual_vanishes_at_prox_fixed_points(penalty):
    # x = prox(v, 1) means v - x is a subgradient of P at x, so x is optimal
    # for the smooth part with gradient g = x - v: the KKT residual is zero.
    rng = np.random.default_rng(5)
    v = rng.normal(size=30)
    x = penalty.prox(v, 1.0)
    grad = x - v
    np.testing.assert_allclose(penalty.kkt_residual(x, grad), 0.0, atol=1e-12)
    assert np.max(np.abs(penalty.kkt_residual(x + 0.1, grad))) > 1e-3


def test_elastic_net_with_l1_ratio_one_is_l1():
    rng = np.random.default_rng(6)
    v = rng.normal(size=20)
    assert ElasticNet(0.4, 1.0) == L1(0.4)
    np.testing.assert_array_equal(ElasticNet(0.4, 1.0).prox(v, 0.7), L1(0.4).prox(v, 0.7))
    assert ElasticNet(0.4, 1.0).value(v) == L1(0.4).value(v)


def test_unpenalized_coefficients_are_untouched():
    v = np.array([5.0, 5.0, -5.0])
    mask = np.array([False, True, True])
    out = ElasticNet(10.0, 0.5).prox(v, 1.0, mask)
    assert out[0] == 5.0 and np.all(out[1:] == 0.0)
    assert L2(3.0).value(np.array([4.0, 0.0, 0.0]), mask) == 0.0


def test_names_and_argument_checks():
    assert get_regularizer("l1", alpha=0.2) == L1(0.2)
    assert get_regularizer("elastic_net", alpha=0.2, l1_ratio=0.3) == ElasticNet(0.2, 0.3)
    assert get_regularizer(None) is None
    with pytest.raises(ValueError, match="needs alpha"):
        get_regularizer("l2")
    with pytest.raises(ValueError, match="unknown regularizer 'l3'; known: elastic_net, l1, l2"):
        get_regularizer("l3", alpha=1.0)
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        L1(-0.1)
    with pytest.raises(ValueError, match=r"l1_ratio must be in \[0, 1\]"):
        ElasticNet(1.0, 1.5)
