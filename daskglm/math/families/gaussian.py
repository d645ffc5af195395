"""The Gaussian (normal) family, statsmodels' ``Gaussian``."""

from __future__ import annotations

import math

import numpy as np

from .. import links as L
from ..compiled import jit
from .base import Family, register_family

__all__ = ["Normal", "Gaussian"]

_jit = jit


@_jit
def _variance(mu):
    return 1.0


@_jit
def _log_variance(eta):
    return 0.0


@_jit
def _nll(y, eta, mu):
    residual = y - mu
    value = 0.5 * residual * residual
    return value if value == value else math.inf


@_jit
def _start_mean(y):
    return y


@_jit
def _identity_row(y, eta):
    residual = eta - y
    return 0.5 * residual * residual, residual, 1.0


@register_family("gaussian", "normal")
class Normal(Family):
    """Normal (Gaussian) responses with estimated scale (statsmodels' ``Gaussian``).

    Notes
    -----
    V(mu) = 1; nll = (y - mu)^2 / 2 (unit scale); the unit deviance is
    (y - mu)^2; the log-likelihood at scale s^2 is
    -[(y - mu)^2 / s^2 + log(2 pi s^2)] / 2. d^2 nll / d eta^2 = 1 for the
    identity link.
    """

    name = "Gaussian"
    canonical_link = L.Identity
    allowed_links = (L.Log, L.Identity, L.InversePower)
    estimates_scale = True

    def functions(self):
        return dict(variance=_variance, log_variance=_log_variance, nll=_nll,
                    start_mean=_start_mean, canonical_row=_identity_row)

    @property
    def curvature_bound(self):
        return 1.0 if self.is_canonical else math.inf

    def variance_deriv(self, mu):
        return np.zeros_like(mu, dtype=float)

    def unit_deviance(self, y, mu):
        return np.square(y - mu)

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        resid2 = var_weights * np.square(y - mu) / scale
        return -0.5 * (resid2 + np.log(2.0 * np.pi * scale / var_weights))


Gaussian = Normal
