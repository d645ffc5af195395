"""Logarithmic links onto a half-line: log (mu > 0), its complement logc
(mu < 1) and the negative binomial's canonical link (mu > 0, eta < 0)."""

from __future__ import annotations

import functools
import math

from ..compiled import jit
from .base import Link, real_parameter

__all__ = ["Log", "LogC", "NegativeBinomial"]

_jit = jit


# -- log ---------------------------------------------------------------------------
@_jit
def _log_link(mu):
    if mu < 0.0:
        return math.nan
    return math.log(mu) if mu > 0.0 else -math.inf


@_jit
def _log_deriv(mu):
    return 1.0 / mu


@_jit
def _exp(eta):
    return math.exp(eta)


@_jit
def _log_log_inverse(eta):
    return eta


@_jit
def _log_log1m_inverse(eta):
    if eta > 0.0:
        return math.nan
    return math.log(-math.expm1(eta)) if eta < 0.0 else -math.inf


class Log(Link):
    """Log link, eta = log(mu); canonical for the Poisson family."""

    name = "log"

    def functions(self):
        return dict(link=_log_link, deriv=_log_deriv, inverse=_exp, inverse_deriv=_exp,
                    inverse_deriv2=_exp, log_inverse=_log_log_inverse,
                    log1m_inverse=_log_log1m_inverse, log_inverse_deriv=_log_log_inverse)


# -- log-complement ----------------------------------------------------------------------
@_jit
def _logc_link(mu):
    return math.log1p(-mu) if mu <= 1.0 else math.nan


@_jit
def _logc_deriv(mu):
    return -1.0 / (1.0 - mu)


@_jit
def _logc_inverse(eta):
    return -math.expm1(eta)


@_jit
def _minus_exp(eta):
    return -math.exp(eta)


class LogC(Link):
    """Log-complement link, eta = log(1 - mu), for means below 1 (eta < 0);
    the log link of 1 - mu.

    log(1 - mu) and ``log |d mu / d eta|`` are eta itself; log(mu) comes from
    ``expm1``, exact as mu nears 0.
    """

    name = "logc"

    def functions(self):
        return dict(link=_logc_link, deriv=_logc_deriv, inverse=_logc_inverse,
                    inverse_deriv=_minus_exp, inverse_deriv2=_minus_exp,
                    log_inverse=_log_log1m_inverse, log1m_inverse=_log_log_inverse,
                    log_inverse_deriv=_log_log_inverse)


# -- negative binomial -------------------------------------------------------------------
@functools.cache
def _nbinom_functions(alpha):
    """The scalars at one ``alpha``, closures over it. With s = exp(eta) and
    u = 1 - s = -expm1(eta) (exact as eta nears 0): mu = s / (alpha u),
    d mu / d eta = s / (alpha u^2), d^2 mu / d eta^2 = s (1 + s) / (alpha u^3);
    their logarithms take log s = eta, so they stay finite for eta << 0."""
    log_alpha = math.log(alpha)

    @_jit
    def link(mu):
        if mu < 0.0:
            return math.nan
        return -math.log1p(1.0 / (alpha * mu)) if mu > 0.0 else -math.inf

    @_jit
    def deriv(mu):
        return 1.0 / (mu * (1.0 + alpha * mu))

    @_jit
    def inverse(eta):
        return math.exp(eta) / (alpha * (0.0 - math.expm1(eta)))

    @_jit
    def inverse_deriv(eta):
        u = -math.expm1(eta)
        return math.exp(eta) / (alpha * u * u)

    @_jit
    def inverse_deriv2(eta):
        s, u = math.exp(eta), -math.expm1(eta)
        return s * (1.0 + s) / (alpha * u * u * u)

    @_jit
    def log_inverse(eta):
        if eta >= 0.0:
            return math.inf if eta == 0.0 else math.nan
        return eta - log_alpha - math.log(-math.expm1(eta))

    @_jit
    def log_inverse_deriv(eta):
        if eta >= 0.0:
            return math.inf if eta == 0.0 else eta - log_alpha - 2.0 * math.log(math.expm1(eta))
        return eta - log_alpha - 2.0 * math.log(-math.expm1(eta))

    return dict(link=link, deriv=deriv, inverse=inverse, inverse_deriv=inverse_deriv,
                inverse_deriv2=inverse_deriv2, log_inverse=log_inverse,
                log_inverse_deriv=log_inverse_deriv)


class NegativeBinomial(Link):
    """The negative binomial's canonical link, eta = log(mu / (mu + 1/alpha)),
    statsmodels' ``NegativeBinomial(alpha=1.0)``.

    Parameters
    ----------
    alpha : float, default 1.0
        The negative binomial's ancillary parameter (variance mu + alpha mu^2),
        positive.

    Notes
    -----
    The mean mu = 1 / (alpha (exp(-eta) - 1)) exists for eta < 0; for
    eta > 0 the formula (as statsmodels') gives a negative mean, which a
    family's ``nll`` reports as ``inf``.
    """

    name = "nbinom"
    param_names = ("alpha",)

    def __init__(self, alpha=1.0):
        self.alpha = real_parameter(alpha, "alpha", "NegativeBinomial link", positive=True)

    def functions(self):
        return _nbinom_functions(self.alpha)
