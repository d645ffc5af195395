"""Links onto (0, 1), each the quantile function of a distribution on the
real line: logit (logistic), probit (normal), cauchy, cloglog (the minimum
extreme value distribution, 1 - exp(-exp(eta))) and loglog (the maximum
one, exp(-exp(-eta))).

Their means reach 0 or 1 in double precision long before |eta| is large,
so each gives the log-scale helpers ``log_inverse`` (log mu),
``log1m_inverse`` (log(1 - mu)) and ``log_inverse_deriv`` in closed forms
that stay finite and accurate far into both tails.
"""

from __future__ import annotations

import math

import scipy.stats

from ..compiled import jit
from ..special import log_ndtr, ndtr, normal_pdf
from .base import Link

__all__ = ["Logit", "Probit", "Cauchy", "CLogLog", "LogLog"]

_jit = jit


# -- logit -----------------------------------------------------------------------
@_jit
def _log1pexp(x):
    """log(1 + exp(x)) without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@_jit
def _logit_link(mu):
    return math.log(mu / (1.0 - mu))


@_jit
def _logit_deriv(mu):
    return 1.0 / (mu * (1.0 - mu))


@_jit
def _logit_inverse(eta):
    if eta >= 0.0:
        return 1.0 / (1.0 + math.exp(-eta))
    t = math.exp(eta)
    return t / (1.0 + t)


@_jit
def _logit_inverse_deriv(eta):
    t = math.exp(-abs(eta))
    return t / ((1.0 + t) * (1.0 + t))


@_jit
def _logit_inverse_deriv2(eta):
    t = math.exp(-abs(eta))
    small, large = t / (1.0 + t), 1.0 / (1.0 + t)   # mu and 1 - mu, in some order
    value = small * large * (large - small)   # mu (1 - mu) (1 - 2 mu) for eta < 0
    return value if eta < 0.0 else -value


@_jit
def _logit_log_inverse(eta):
    return -_log1pexp(-eta)


@_jit
def _logit_log1m_inverse(eta):
    return -_log1pexp(eta)


@_jit
def _logit_log_inverse_deriv(eta):
    return -_log1pexp(eta) - _log1pexp(-eta)


class Logit(Link):
    """Logit link, eta = log(mu / (1 - mu)); canonical for the binomial family."""

    name = "logit"

    def functions(self):
        return dict(link=_logit_link, deriv=_logit_deriv, inverse=_logit_inverse,
                    inverse_deriv=_logit_inverse_deriv, inverse_deriv2=_logit_inverse_deriv2,
                    log_inverse=_logit_log_inverse, log1m_inverse=_logit_log1m_inverse,
                    log_inverse_deriv=_logit_log_inverse_deriv)


# -- probit ----------------------------------------------------------------------
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)


@_jit
def _ndtri_lower(p):
    """Phi^{-1}(p) for 0 < p <= 1/2: Halley steps on Phi(x) - p from a first
    guess, the line through (1/2, 0) with slope sqrt(2 pi) above p = 0.1 and,
    below, the tail's x^2 = -2 log p - log(-2 log p) - log(2 pi) (from
    Phi(x) ~ phi(x) / |x|). Halley's cubic convergence takes at most four
    steps to a relative 1e-15 from there for every double p."""
    if p > 0.1:
        x = _SQRT_2PI * (p - 0.5)
    else:
        t2 = -2.0 * math.log(p)
        x = -math.sqrt(t2 - math.log(t2) - 2.0 * _LOG_SQRT_2PI)
    for _ in range(6):
        error = 0.5 * math.erfc(-x * _SQRT_HALF) - p
        u = error * _SQRT_2PI * math.exp(0.5 * x * x)
        step = u / (1.0 + 0.5 * x * u)
        x -= step
        if abs(step) <= 1e-15 * max(1.0, abs(x)):
            break
    return x


@_jit
def _probit_link(mu):
    if not 0.0 < mu < 1.0:
        if mu == 0.0:
            return -math.inf
        return math.inf if mu == 1.0 else math.nan
    if mu <= 0.5:
        return _ndtri_lower(mu)
    return -_ndtri_lower(1.0 - mu)   # 1 - mu is exact for mu >= 1/2


@_jit
def _probit_deriv(mu):
    x = _probit_link(mu)
    return math.exp(_LOG_SQRT_2PI + 0.5 * x * x)


@_jit
def _probit_log_inverse_deriv(eta):
    return -0.5 * eta * eta - _LOG_SQRT_2PI


def _probit_tails(ndtr, log_ndtr, normal_pdf):
    """The probit scalars built on :mod:`.special`'s, as closures over them:
    numba's cache keys a closure by what it closes over, not by the globals
    it calls, so an edit of the special functions recompiles these too."""
    @_jit
    def inverse(eta):
        return ndtr(eta)

    @_jit
    def inverse_deriv(eta):
        # the exponential ndtr(eta) computes too: compiled together, one call
        return normal_pdf(eta)

    @_jit
    def inverse_deriv2(eta):
        return -eta * normal_pdf(eta)

    @_jit
    def log_inverse(eta):
        return log_ndtr(eta)

    @_jit
    def log1m_inverse(eta):
        return log_ndtr(-eta)

    return dict(inverse=inverse, inverse_deriv=inverse_deriv, inverse_deriv2=inverse_deriv2,
                log_inverse=log_inverse, log1m_inverse=log1m_inverse)


_PROBIT_TAILS = _probit_tails(ndtr, log_ndtr, normal_pdf)


class Probit(Link):
    """Probit link, eta = Phi^{-1}(mu) with Phi the standard normal CDF."""

    name = "probit"
    dbn = scipy.stats.norm

    def functions(self):
        return dict(link=_probit_link, deriv=_probit_deriv,
                    log_inverse_deriv=_probit_log_inverse_deriv, **_PROBIT_TAILS)


# -- complementary log-log -------------------------------------------------------
@_jit
def _cloglog_link(mu):
    return math.log(-math.log1p(-mu))


@_jit
def _cloglog_deriv(mu):
    return -1.0 / ((1.0 - mu) * math.log1p(-mu))


@_jit
def _cloglog_inverse(eta):
    return -math.expm1(-math.exp(eta))


@_jit
def _cloglog_log_inverse_deriv(eta):
    return eta - math.exp(eta)


@_jit
def _cloglog_inverse_deriv(eta):
    return math.exp(eta - math.exp(eta))


@_jit
def _cloglog_inverse_deriv2(eta):
    return _cloglog_inverse_deriv(eta) * (1.0 - math.exp(eta))


@_jit
def _cloglog_log_inverse(eta):
    # below eta = -20, mu = exp(eta) (1 - exp(eta)/2 + ...) to double precision
    if eta < -20.0:
        return eta - 0.5 * math.exp(eta)
    return math.log(-math.expm1(-math.exp(eta)))


@_jit
def _cloglog_log1m_inverse(eta):
    return -math.exp(eta)


class CLogLog(Link):
    """Complementary log-log link, eta = log(-log(1 - mu))."""

    name = "cloglog"

    def functions(self):
        return dict(link=_cloglog_link, deriv=_cloglog_deriv, inverse=_cloglog_inverse,
                    inverse_deriv=_cloglog_inverse_deriv,
                    inverse_deriv2=_cloglog_inverse_deriv2, log_inverse=_cloglog_log_inverse,
                    log1m_inverse=_cloglog_log1m_inverse,
                    log_inverse_deriv=_cloglog_log_inverse_deriv)


# -- cauchy ----------------------------------------------------------------------------
@_jit
def _cauchy_link(mu):
    # tan(pi (mu - 1/2)) as -cot(pi mu) or cot(pi (1 - mu)): pi * mu keeps a
    # tiny mean's precision, which mu - 1/2 would round away
    if not 0.0 <= mu <= 1.0:
        return math.nan
    if mu <= 0.5:
        return -1.0 / math.tan(math.pi * mu)
    return 1.0 / math.tan(math.pi * (1.0 - mu))


@_jit
def _cauchy_deriv(mu):
    s = math.sin(math.pi * min(mu, 1.0 - mu))
    return math.pi / (s * s)


@_jit
def _cauchy_inverse(eta):
    # 1/2 + atan(eta) / pi without the cancellation of the sum for eta << 0
    return math.atan2(1.0, -eta) / math.pi


@_jit
def _cauchy_log_inverse(eta):
    return math.log(math.atan2(1.0, -eta) / math.pi)


@_jit
def _cauchy_log1m_inverse(eta):
    return math.log(math.atan2(1.0, eta) / math.pi)


@_jit
def _cauchy_inverse_deriv(eta):
    return 1.0 / (math.pi * (1.0 + eta * eta))


@_jit
def _cauchy_inverse_deriv2(eta):
    square = 1.0 + eta * eta
    return -2.0 * eta / (math.pi * square * square)


@_jit
def _cauchy_log_inverse_deriv(eta):
    # log(1 + eta^2) as 2 log|eta| + log1p(eta^-2) where eta^2 would overflow
    size = abs(eta)
    if size > 1.0:
        return -math.log(math.pi) - 2.0 * math.log(size) - math.log1p(1.0 / (size * size))
    return -math.log(math.pi) - math.log1p(eta * eta)


class Cauchy(Link):
    """Cauchy link, eta = tan(pi (mu - 1/2)): the standard Cauchy quantile
    function (statsmodels' ``Cauchy``, a ``CDFLink`` of ``scipy.stats.cauchy``).

    Its heavy tails make the mean approach 0 and 1 only as ``1 / (pi |eta|)``,
    so a fit tolerates outlying responses better than logit or probit.
    """

    name = "cauchy"
    dbn = scipy.stats.cauchy

    def functions(self):
        return dict(link=_cauchy_link, deriv=_cauchy_deriv, inverse=_cauchy_inverse,
                    inverse_deriv=_cauchy_inverse_deriv, inverse_deriv2=_cauchy_inverse_deriv2,
                    log_inverse=_cauchy_log_inverse, log1m_inverse=_cauchy_log1m_inverse,
                    log_inverse_deriv=_cauchy_log_inverse_deriv)


# -- log-log ---------------------------------------------------------------------------
# mu(eta) = 1 - cloglog's mean at -eta: each helper is cloglog's, mirrored
@_jit
def _loglog_link(mu):
    return -math.log(-math.log(mu))


@_jit
def _loglog_deriv(mu):
    return -1.0 / (mu * math.log(mu))


@_jit
def _loglog_inverse(eta):
    return math.exp(-math.exp(-eta))


@_jit
def _loglog_inverse_deriv(eta):
    return _cloglog_inverse_deriv(-eta)


@_jit
def _loglog_inverse_deriv2(eta):
    return -_cloglog_inverse_deriv2(-eta)


@_jit
def _loglog_log_inverse(eta):
    return _cloglog_log1m_inverse(-eta)


@_jit
def _loglog_log1m_inverse(eta):
    return _cloglog_log_inverse(-eta)


@_jit
def _loglog_log_inverse_deriv(eta):
    return _cloglog_log_inverse_deriv(-eta)


class LogLog(Link):
    """Log-log link, eta = -log(-log(mu)); the mirror of :class:`CLogLog`
    (its mean at eta is one minus cloglog's at -eta)."""

    name = "loglog"

    def functions(self):
        return dict(link=_loglog_link, deriv=_loglog_deriv, inverse=_loglog_inverse,
                    inverse_deriv=_loglog_inverse_deriv, inverse_deriv2=_loglog_inverse_deriv2,
                    log_inverse=_loglog_log_inverse, log1m_inverse=_loglog_log1m_inverse,
                    log_inverse_deriv=_loglog_log_inverse_deriv)
