"""The Gamma family for positive, right-skewed responses (statsmodels' ``Gamma``)."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .. import links as L
from ..compiled import jit
from .base import Family, register_family

__all__ = ["Gamma"]

_jit = jit


@_jit
def _variance(mu):
    return mu * mu


@_jit
def _start_mean(y):
    return y


@_jit
def _inverse_row(y, eta):
    """The inverse link's closed form: mu = 1 / eta, nll = y eta - log eta."""
    if not eta > 0.0:
        return math.inf, math.nan, math.nan
    mu = 1.0 / eta
    return y * eta - math.log(eta), y - mu, mu * mu


@_jit
def _log_row(y, eta):
    """The log link's closed form: nll = y exp(-eta) + eta, Fisher weight 1."""
    ratio = y * math.exp(-eta) if y != 0.0 else 0.0    # y / mu (no 0 * inf)
    value = ratio + eta
    return (value if value == value else math.inf), 1.0 - ratio, 1.0


def _nll(log_inverse):
    @_jit
    def nll(y, eta, mu):
        if not 0.0 < mu < math.inf:
            return math.inf
        value = y / mu + log_inverse(eta)
        return value if value == value else math.inf
    return nll


def _log_variance(log_inverse):
    @_jit
    def log_variance(eta):
        return 2.0 * log_inverse(eta)
    return log_variance


@register_family("gamma")
class Gamma(Family):
    """Gamma responses, y > 0, with estimated scale (statsmodels' ``Gamma``).

    Parameters
    ----------
    link : Link, str or None
        ``InversePower`` (``links.Inverse``, the default, as statsmodels),
        ``Log`` or ``Identity``.

    Notes
    -----
    V(mu) = mu^2; nll = y / mu + log mu (unit scale, up to terms free of
    mu), which is y eta - log eta for the inverse link and y exp(-eta) + eta
    for the log link; the unit deviance is 2 [(y - mu) / mu - log(y / mu)].
    With ``a = var_weights / scale`` the log-likelihood of a row is
    ``a log(a y / mu) - a y / mu - log Gamma(a) - log y`` (statsmodels'
    convention: the dispersion of a row is ``scale / var_weights``).

    The mean must stay positive. Under the log link the negative
    log-likelihood is convex in the coefficients; under the inverse link it
    is convex on the coefficients whose means are all positive (a convex
    set, which a line search must not leave); under the identity link it is
    not convex where ``mu > 2 y``. No link bounds d^2 nll / d eta^2.
    """

    name = "Gamma"
    canonical_link = L.Inverse
    allowed_links = (L.Log, L.Identity, L.Inverse)
    estimates_scale = True
    domain_text = "y > 0"
    # the log link's curvature y / mu is not bounded by its Fisher weight 1,
    # and the other links' means leave (0, inf) at a finite eta
    supports_incremental = False

    def functions(self):
        log_inverse = self.link.scalars.log_inverse
        return dict(variance=_variance, start_mean=_start_mean, canonical_row=_inverse_row,
                    nll=_nll(log_inverse), log_variance=_log_variance(log_inverse))

    @property
    def closed_form_row(self):
        return _log_row if self.link == L.Log() else None

    @property
    def convex(self):
        """y / mu + log mu is convex in eta for the log and inverse links, not
        for the identity link (where mu > 2 y)."""
        return self.link != L.Identity()

    def variance_deriv(self, mu):
        return 2.0 * np.asarray(mu, dtype=float)

    def in_domain(self, y):
        return y > 0.0

    def unit_deviance(self, y, mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * ((y - mu) / mu - np.log(y / mu))

    def loglike_at_scale(self, loglike_unit_scale, deviance, sum_freq_weights, scale, *,
                         var_weights):
        """Without variance weights, with ``a = 1 / scale`` every row's
        log-likelihood moves by ``a log a - log Gamma(a) - (a - 1)(d / 2 + 1)``
        from its value at scale 1 (``d`` its unit deviance); with them
        ``log Gamma(var_weights / scale)`` needs the rows (None)."""
        if var_weights:
            return None
        shape = 1.0 / scale
        return (loglike_unit_scale
                + sum_freq_weights * (shape * math.log(shape) - math.lgamma(shape))
                - (shape - 1.0) * (0.5 * deviance + sum_freq_weights))

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        with np.errstate(divide="ignore", invalid="ignore"):
            shape = var_weights / scale
            ratio = y / mu
            return shape * np.log(shape * ratio) - shape * ratio - special.gammaln(shape) \
                - np.log(y)
