"""The Tweedie family: variance ``mu ** var_power``, statsmodels' ``Tweedie``."""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import special

from .. import links as L
from ..compiled import jit
from .base import Family, register_family
from .gaussian import Normal
from .poisson import Poisson

__all__ = ["Tweedie"]

_jit = jit


@_jit
def _power_and_ramp(rate, t):
    """``(exp(rate * t), (exp(rate * t) - 1) / rate)`` from one exponential.

    The second is the power ``mu ** rate / rate`` of the Tweedie cumulant
    (``t = log mu``) shifted by a constant, so that it stays accurate as
    ``rate`` nears 0 (``p`` near 1 or 2); its limit at ``rate = 0`` is ``t``.
    Near ``rate * t = 0`` both come from ``expm1``, elsewhere from ``exp``
    (where neither loses precision).
    """
    if rate == 0.0:
        return 1.0, t
    x = rate * t
    if -0.5 <= x <= 0.5:
        shifted = math.expm1(x)
        return shifted + 1.0, shifted / rate
    power = math.exp(x)
    return power, (power - 1.0) / rate


def _value_over(power):
    """nll as a function of ``log mu``, for variance power ``power``."""
    low, high = 1.0 - power, 2.0 - power

    @_jit
    def value(y, log_mean):
        # -y mu^(1-p) / (1-p) + mu^(2-p) / (2-p), each term shifted by a constant
        total = _power_and_ramp(high, log_mean)[1]
        if y != 0.0:
            total -= y * _power_and_ramp(low, log_mean)[1]
        return total if total == total else math.inf   # inf - inf: the nll is +inf there
    return value


def _log_row_over(power):
    """The log link's closed-form row ``(y, eta) -> (nll, gradient, Fisher weight)``:
    two exponentials per row."""
    low, high = 1.0 - power, 2.0 - power

    @_jit
    def log_row(y, eta):
        fisher, value = _power_and_ramp(high, eta)   # (d mu / d eta)^2 / V = mu^(2-p)
        if y == 0.0:
            return value, fisher, fisher
        low_power, low_ramp = _power_and_ramp(low, eta)
        value -= y * low_ramp
        gradient = fisher - y * low_power            # mu^(1-p) (mu - y)
        if gradient != gradient:                     # inf - inf: one side beyond range
            gap = math.exp(eta) - y
            gradient = math.copysign(math.exp(low * eta + math.log(abs(gap))), gap)
        return (value if value == value else math.inf), gradient, fisher
    return log_row


def _nll_over(value, log_inverse):
    @_jit
    def nll(y, eta, mu):
        if not mu > 0.0:
            return math.inf
        return value(y, log_inverse(eta))
    return nll


def _variance_over(power):
    @_jit
    def variance(mu):
        return mu ** power
    return variance


def _log_variance_over(power, log_inverse):
    @_jit
    def log_variance(eta):
        return power * log_inverse(eta)
    return log_variance


def _start_over(power):
    positive_only = power >= 2.0

    @_jit
    def start_mean(y):
        # the response where it is a valid mean; a half otherwise (zeros, and
        # y <= 0 under var_power = 0), as the Poisson family starts from y + 1/2
        if y > 0.0 or positive_only:
            return y
        return 0.5
    return start_mean


def _check_var_power(var_power, eql):
    if isinstance(var_power, bool) or not isinstance(var_power, numbers.Real) \
            or not math.isfinite(var_power):
        raise ValueError(f"var_power must be a finite real number, got {var_power!r}")
    if var_power != 0 and var_power < 1:
        raise ValueError(
            f"var_power must be 0 or at least 1, got {var_power!r}: no Tweedie distribution "
            "has a power in (0, 1), and negative powers are not supported")
    if not isinstance(eql, (bool, np.bool_)):
        raise ValueError(f"eql must be True or False, got {eql!r}")
    if eql and not 1 <= float(var_power) <= 2:
        raise ValueError(f"the extended quasi-likelihood (eql=True) needs 1 <= var_power <= 2, "
                         f"got {var_power!r}")


@register_family("tweedie")
class Tweedie(Family):
    """Tweedie responses: variance ``scale * mu ** var_power``, estimated scale.

    Parameters
    ----------
    link : Link, str or None
        The link; ``None`` takes the log link (statsmodels' default).
    var_power : float
        The variance power ``p``: 0 is the Normal, 1 the (over-dispersed)
        Poisson, 2 the Gamma, and ``1 < p < 2`` the compound Poisson-Gamma
        distribution, with exact zeros. Powers in (0, 1) have no
        distribution and are refused, as are negative ones.
    eql : bool
        Report the extended quasi-likelihood (Nelder and Pregibon) as ``llf``
        instead of the likelihood; needs ``1 <= var_power <= 2``. The fit
        does not depend on it.

    Notes
    -----
    V(mu) = mu^p; up to terms free of the mean,
    nll = -y mu^(1-p) / (1-p) + mu^(2-p) / (2-p) (with limits y log mu and
    log mu at p = 1 and 2), so under the log link the gradient in eta is
    mu^(1-p) (mu - y) and the Fisher weight mu^(2-p). The unit deviance is
    2 [y^(2-p) / ((1-p)(2-p)) - y mu^(1-p) / (1-p) + mu^(2-p) / (2-p)].

    The log-likelihood at scale phi (statsmodels' ``Tweedie.loglike_obs``):
    Poisson's at p = 1 and Gamma's at p = 2; for 1 < p < 2 the compound
    Poisson-Gamma density by its series in Wright's Bessel function (Dunn and
    Smyth, 2005; scipy's ``log_wright_bessel``); with ``eql=True``
    -[log(2 pi phi y^p)] / 2 - d(y, mu) / (2 phi). As statsmodels, the
    likelihood of p > 2 is not computed (NaN), and the extended
    quasi-likelihood is +inf at y = 0. At p = 0 it is the Normal's (where
    statsmodels gives NaN).

    The response must be >= 0 for 1 <= p < 2, > 0 for p >= 2, and finite
    for p = 0. No link bounds d^2 nll / d eta^2.

    References
    ----------
    Dunn, P. K. and Smyth, G. K. (2005). Series evaluation of Tweedie
    exponential dispersion model densities. Statistics and Computing 15, 267-280.
    Nelder, J. A. and Pregibon, D. (1987). An extended quasi-likelihood
    function. Biometrika 74, 221-232.
    """

    name = "Tweedie"
    canonical_link = L.Log     # statsmodels' default link (canonical only at p = 1)
    allowed_links = (L.Log, L.Power)
    estimates_scale = True
    param_names = ("var_power", "eql")

    def __init__(self, link=None, var_power=1.0, eql=False):
        _check_var_power(var_power, eql)
        self.var_power = float(var_power)
        self.eql = bool(eql)
        super().__init__(link)

    # -- what the family states ----------------------------------------------
    def functions(self):
        power = self.var_power
        log_inverse = self.link.scalars.log_inverse
        value = _value_over(power)
        return dict(variance=_variance_over(power), nll=_nll_over(value, log_inverse),
                    log_variance=_log_variance_over(power, log_inverse),
                    start_mean=_start_over(power))

    @property
    def closed_form_row(self):
        if isinstance(self.link, L.Log):
            return _log_row_over(self.var_power)
        return None

    @property
    def is_canonical(self) -> bool:
        # the canonical link is mu^(1-p); of the allowed links only the log
        # link at p = 1 is it
        return self.var_power == 1.0 and isinstance(self.link, L.Log)

    @property
    def domain_text(self) -> str:  # type: ignore[override]  # depends on var_power
        if self.var_power == 0.0:
            return "finite y at var_power 0"
        if self.var_power < 2.0:
            return f"y >= 0 at var_power {self.var_power:g}"
        return f"y > 0 at var_power {self.var_power:g}"

    def in_domain(self, y):
        if self.var_power == 0.0:
            return np.isfinite(y)
        return y >= 0.0 if self.var_power < 2.0 else y > 0.0

    def variance_deriv(self, mu):
        return self.var_power * np.power(mu, self.var_power - 1.0)

    def unit_deviance(self, y, mu):
        p = self.var_power
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 1.0:
                return 2.0 * (special.xlogy(y, y / mu) - (y - mu))
            if p == 2.0:
                return 2.0 * ((y - mu) / mu - np.log(y / mu))
            return 2.0 * (np.power(y, 2.0 - p) / ((1.0 - p) * (2.0 - p))
                          - y * np.power(mu, 1.0 - p) / (1.0 - p)
                          + np.power(mu, 2.0 - p) / (2.0 - p))

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        p = self.var_power
        y = np.asarray(y, dtype=float)
        if p == 1.0:
            return Poisson().loglike_obs(y, mu, var_weights, scale)
        if p == 2.0:
            return _gamma_loglike(y, mu, var_weights / scale)
        if p == 0.0:
            return Normal().loglike_obs(y, mu, var_weights, scale)
        if self.eql:
            return _extended_quasi_loglike(self, y, mu, var_weights, scale)
        if p > 2.0:
            return np.full(np.broadcast(y, mu).shape, np.nan)
        return _compound_poisson_loglike(y, mu, p, scale / var_weights)


def _gamma_loglike(y, mu, shape):
    """The Gamma log-density at mean ``mu`` with shape ``var_weights / scale``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = y / mu
        return shape * np.log(shape * ratio) - shape * ratio - np.log(y) - special.gammaln(shape)


def _extended_quasi_loglike(family, y, mu, var_weights, scale):
    """Nelder and Pregibon's extended quasi-likelihood, row by row."""
    with np.errstate(divide="ignore", invalid="ignore"):
        normalizer = -0.5 * (np.log(2.0 * np.pi * scale / var_weights)
                             + family.var_power * np.log(y))
        return normalizer - var_weights * family.unit_deviance(y, mu) / (2.0 * scale)


def _compound_poisson_loglike(y, mu, p, dispersion):
    """The compound Poisson-Gamma log-density (1 < p < 2), row by row.

    With theta = mu^(1-p) / (1-p) and kappa = mu^(2-p) / (2-p), the density is
    exp((y theta - kappa) / phi) at y = 0 (no claim) and, for y > 0, that
    times W(x) / y, W Wright's Bessel function with parameters
    (-alpha, 0), alpha = (2-p) / (1-p), at x = ((p-1) phi / y)^alpha /
    ((2-p) phi) (Dunn and Smyth's series, summed by scipy).
    """
    y, mu, dispersion = np.broadcast_arrays(y, np.asarray(mu, dtype=float),
                                            np.asarray(dispersion, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exponent = (y * np.power(mu, 1.0 - p) / (1.0 - p)
                    - np.power(mu, 2.0 - p) / (2.0 - p)) / dispersion
        positive = y > 0
        alpha = (2.0 - p) / (1.0 - p)
        y_pos, phi_pos = y[positive], dispersion[positive]
        x = np.power((p - 1.0) * phi_pos / y_pos, alpha) / ((2.0 - p) * phi_pos)
        series = special.log_wright_bessel(-alpha, 0.0, x) - np.log(y_pos)
    exponent = np.array(exponent, dtype=float)
    exponent[positive] += series
    return exponent
