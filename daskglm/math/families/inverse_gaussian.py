"""The inverse Gaussian family (statsmodels' ``InverseGaussian``)."""

from __future__ import annotations

import math

import numpy as np

from .. import links as L
from ..compiled import jit
from .base import Family, register_family

__all__ = ["InverseGaussian"]

_jit = jit


@_jit
def _variance(mu):
    return mu * mu * mu


@_jit
def _start_mean(y):
    return y


@_jit
def _inverse_squared_row(y, eta):
    """The inverse squared link's closed form: mu = eta^(-1/2),
    nll = y eta / 2 - sqrt(eta)."""
    if not eta > 0.0:
        return math.inf, math.nan, math.nan
    root = math.sqrt(eta)
    mu = 1.0 / root
    return 0.5 * y * eta - root, 0.5 * (y - mu), 0.25 * mu * mu * mu


@_jit
def _log_row(y, eta):
    """The log link's closed form in t = exp(-eta) = 1 / mu: nll = t (y t / 2 - 1),
    gradient t (1 - y t), Fisher weight t (all tending to 0 as mu grows, where
    the composed row would form inf / inf)."""
    t = math.exp(-eta)
    yt = y * t if y != 0.0 else 0.0       # y / mu (no 0 * inf)
    value = t * (0.5 * yt - 1.0)
    return (value if value == value else math.inf), t * (1.0 - yt), t


@_jit
def _nll(y, eta, mu):
    if not 0.0 < mu < math.inf:
        return math.inf
    inverse_mu = 1.0 / mu
    value = inverse_mu * (0.5 * y * inverse_mu - 1.0)
    return value if value == value else math.inf


def _log_variance(log_inverse):
    @_jit
    def log_variance(eta):
        return 3.0 * log_inverse(eta)
    return log_variance


@register_family("inversegaussian", "inverse_gaussian")
class InverseGaussian(Family):
    """Inverse Gaussian responses, y > 0, with estimated scale (statsmodels'
    ``InverseGaussian``).

    Parameters
    ----------
    link : Link, str or None
        ``InverseSquared`` (the default, as statsmodels), ``InversePower``
        (``links.Inverse``), ``Identity`` or ``Log``.

    Notes
    -----
    V(mu) = mu^3; nll = y / (2 mu^2) - 1 / mu (unit scale, up to terms free
    of mu), which is y eta / 2 - sqrt(eta) for the inverse squared link; the
    unit deviance is (y - mu)^2 / (y mu^2). The log-likelihood of a row at
    ``scale`` is ``-[vw (y - mu)^2 / (scale y mu^2) + log(2 pi scale y^3 /
    vw)] / 2``. The mean must stay positive; the negative log-likelihood is
    convex in the coefficients under the inverse squared link (on the
    coefficients whose means are positive) and not in general under the
    others. No link bounds d^2 nll / d eta^2.
    """

    name = "InverseGaussian"
    canonical_link = L.InverseSquared
    allowed_links = (L.InverseSquared, L.Inverse, L.Identity, L.Log)
    estimates_scale = True
    domain_text = "y > 0"
    # the means leave (0, inf) at a finite eta (inverse links), or the
    # curvature is not bounded by the Fisher weight (log link)
    supports_incremental = False

    def functions(self):
        return dict(variance=_variance, start_mean=_start_mean,
                    canonical_row=_inverse_squared_row, nll=_nll,
                    log_variance=_log_variance(self.link.scalars.log_inverse))

    @property
    def closed_form_row(self):
        return _log_row if self.link == L.Log() else None

    @property
    def convex(self):
        """y / (2 mu^2) - 1 / mu is convex in eta for the inverse squared and
        inverse links (a parabola in 1 / mu), not for the log link (where
        mu > 2 y) or the identity link (where mu > 3 y / 2)."""
        return isinstance(self.link, (L.InverseSquared, L.Inverse))

    def variance_deriv(self, mu):
        return 3.0 * np.square(np.asarray(mu, dtype=float))

    def in_domain(self, y):
        return y > 0.0

    def unit_deviance(self, y, mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.square(y - mu) / (y * np.square(mu))

    def loglike_at_scale(self, loglike_unit_scale, deviance, sum_freq_weights, scale, *,
                         var_weights):
        """Every row's log-likelihood moves by ``-[vw d (1 / scale - 1) + log
        scale] / 2`` from its value at scale 1 (``d`` its unit deviance)."""
        return (loglike_unit_scale + 0.5 * (1.0 - 1.0 / scale) * deviance
                - 0.5 * sum_freq_weights * math.log(scale))

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        with np.errstate(divide="ignore", invalid="ignore"):
            deviance = var_weights * self.unit_deviance(y, mu) / scale
            return -0.5 * (deviance + np.log(2.0 * np.pi * scale * y ** 3 / var_weights))
