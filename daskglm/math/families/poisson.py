"""The Poisson family for counts."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .. import links as L
from ..compiled import jit
from .base import Family, register_family

__all__ = ["Poisson"]

_jit = jit


@_jit
def _variance(mu):
    return mu


@_jit
def _start_mean(y):
    return y + 0.5               # as statsmodels starts


@_jit
def _log_row(y, eta):
    mu = math.exp(eta)
    return mu - y * eta, mu - y, mu


def _nll(log_inverse):
    @_jit
    def nll(y, eta, mu):
        if not mu >= 0.0:
            return math.inf
        if y == 0.0:
            return mu
        value = mu - y * log_inverse(eta)
        return value if value == value else math.inf
    return nll


def _log_variance(log_inverse):
    @_jit
    def log_variance(eta):
        return log_inverse(eta)
    return log_variance


@register_family("poisson")
class Poisson(Family):
    """Poisson counts, y >= 0.

    Notes
    -----
    V(mu) = mu; nll = mu - y log mu, which is exp(eta) - y eta for the log
    link; the unit deviance is 2 [y log(y / mu) - (y - mu)]. No link
    bounds d^2 nll / d eta^2.
    """

    name = "Poisson"
    canonical_link = L.Log
    allowed_links = (L.Log, L.Identity, L.Sqrt)
    domain_text = "y >= 0"

    def functions(self):
        log_inverse = self.link.scalars.log_inverse
        return dict(variance=_variance, start_mean=_start_mean, canonical_row=_log_row,
                    nll=_nll(log_inverse), log_variance=_log_variance(log_inverse))

    def variance_deriv(self, mu):
        return np.ones_like(mu, dtype=float)

    def in_domain(self, y):
        return y >= 0.0

    def unit_deviance(self, y, mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * (special.xlogy(y, y / mu) - (y - mu))

    def loglike_at_scale(self, loglike_unit_scale, deviance, sum_freq_weights, scale, *,
                         var_weights):
        """statsmodels divides the Poisson log-likelihood by the scale."""
        return loglike_unit_scale / scale

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = special.xlogy(y, mu) - mu - special.gammaln(y + 1.0)
        return var_weights / scale * ll
