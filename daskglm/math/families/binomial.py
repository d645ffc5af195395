"""The binomial family (Bernoulli responses and proportions), statsmodels' ``Binomial``."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .. import links as L
from ..compiled import jit
from ..special import erfcx, exp_half_square
from .base import Family, register_family

__all__ = ["Logistic", "Binomial"]

_jit = jit

# Above this mean log(mu) is taken directly; below, from the link's helper
# (mu may be subnormal or zero there while its logarithm is not).
_DIRECT_LOG_MEAN = 1e-300
# Below this mean 1 - mu is formed directly (its relative error, eps / (1 - mu),
# stays below 1e-13); above, log(1 - mu) comes from the link's helper.
_DIRECT_COMPLEMENT = 0.999
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@_jit
def _variance(mu):
    return mu * (1.0 - mu)


@_jit
def _start_mean(y):
    return (y + 0.5) / 2.0          # as statsmodels starts


@_jit
def _logistic_row(y, eta):
    """The logit link's closed form: one exponential for the mean and the loss."""
    t = math.exp(-abs(eta))
    u = 1.0 + t
    inverse = 1.0 / u
    mu = (1.0 if eta >= 0 else t) * inverse
    # log1p(t) to within an ulp at a third of math.log1p's cost: the second
    # term restores what rounding 1 + t lost (exact for t below eps too);
    # the linear terms cancel first, so a tiny loss keeps its precision
    log1p_t = math.log(u) - ((u - 1.0) - t) * inverse
    return (max(eta, 0.0) - y * eta) + log1p_t, mu - y, mu * (1.0 - mu)


def _probit_row_over(erfcx, exp_half_square):
    """The probit row, closing over the special functions it calls (numba's
    cache keys a closure by them, not by the globals it calls)."""
    @_jit
    def probit_row(y, eta):
        """The probit link's closed form, from the normal tail q = Phi(-|eta|).

        One exponential and one scaled erfc give q = exp(-eta^2 / 2) erfcx(|eta| /
        sqrt 2) / 2, the density and, with the Gaussian factors cancelled,
        phi / (mu (1 - mu)) = sqrt(2 / pi) / (erfcx(|eta| / sqrt 2) (1 - q)):
        gradient and Fisher weight stay finite and exact into the far tails with
        no logarithm, and the loss takes log q as -eta^2 / 2 + log(erfcx / 2).
        """
        scaled = erfcx(abs(eta) * _SQRT_HALF)
        gauss = exp_half_square(eta)
        tail = 0.5 * gauss * scaled          # the smaller of mu and 1 - mu
        head = 1.0 - tail
        lower = eta < 0.0                    # then mu is the tail
        y_tail = y if lower else 1.0 - y     # the response's weight on the tail's outcome
        y_head = 1.0 - y if lower else y
        if y * (1.0 - y) == 0.0 and tail > 1.0 - _DIRECT_COMPLEMENT:
            # a 0/1 response away from the tails: one logarithm, no branch on y
            value = -math.log(y_tail * tail + y_head * head)
        else:
            value = 0.0
            if y_tail != 0.0:
                value -= y_tail * (math.log(0.5 * scaled) - 0.5 * eta * eta)
            if y_head != 0.0:
                value -= y_head * math.log1p(-tail)
            if value != value:
                value = math.inf
        ratio = _SQRT_2_OVER_PI / (scaled * head)     # phi / (mu (1 - mu))
        gradient = (tail - y_tail) * ratio            # (mu - y) ratio, mirrored for eta >= 0
        return value, gradient if lower else -gradient, _INV_SQRT_2PI * gauss * ratio
    return probit_row


_probit_row = _probit_row_over(erfcx, exp_half_square)


def _nll(log_inverse, log1m_inverse):
    @_jit
    def nll(y, eta, mu):
        if y * (1.0 - y) == 0.0 and _DIRECT_LOG_MEAN < mu < _DIRECT_COMPLEMENT:
            # a 0/1 response away from the tails: -log of the probability of
            # the observed outcome, one logarithm and no branch on y
            return -math.log(y * mu + (1.0 - y) * (1.0 - mu))
        if not 0.0 <= mu <= 1.0:
            return math.inf
        total = 0.0
        if y != 0.0:
            total -= y * (math.log(mu) if mu > _DIRECT_LOG_MEAN else log_inverse(eta))
        if y != 1.0:
            # log1p(-mu) loses precision as mu nears 1: the link's helper then
            total -= (1.0 - y) * (math.log1p(-mu) if mu <= 0.5 else log1m_inverse(eta))
        return total if total == total else math.inf
    return nll


def _log_variance(log_inverse, log1m_inverse):
    @_jit
    def log_variance(eta):
        return log_inverse(eta) + log1m_inverse(eta)
    return log_variance


@register_family("binomial", "logistic")
class Logistic(Family):
    """Bernoulli / binomial proportions, 0 <= y <= 1 (statsmodels' ``Binomial``).

    A model may also give the response as two columns, (successes, failures):
    it is then fitted, as statsmodels does, on the proportion
    ``successes / n`` with ``n = successes + failures`` trials, ``n`` acting
    as a variance weight everywhere but in the log-likelihood, which is the
    binomial one of the counts (``loglike_obs(..., n_trials=n)``).

    Notes
    -----
    V(mu) = mu (1 - mu); nll = -[y log mu + (1 - y) log(1 - mu)], which is
    log(1 + exp(eta)) - y eta for the logit link; the unit deviance is
    2 [y log(y / mu) + (1 - y) log((1 - y) / (1 - mu))]. d^2 nll / d eta^2 is
    at most 1/4 with the logit link and 1 with the probit link.
    """

    name = "Binomial"
    canonical_link = L.Logit
    # statsmodels' list, and CDFLink, which statsmodels accepts too (its
    # CDFLink is a subclass of its Logit)
    allowed_links = (L.Logit, L.Probit, L.Cauchy, L.Log, L.LogC, L.CLogLog, L.LogLog,
                     L.Identity, L.CDFLink)
    domain_text = "0 <= y <= 1"
    takes_trials = True

    def functions(self):
        link = self.link.scalars
        return dict(variance=_variance, start_mean=_start_mean, canonical_row=_logistic_row,
                    nll=_nll(link.log_inverse, link.log1m_inverse),
                    log_variance=_log_variance(link.log_inverse, link.log1m_inverse))

    @property
    def closed_form_row(self):
        """The probit link's closed-form row (see :func:`_probit_row`): one
        exponential and no division by a vanishing variance, where the
        composed row needs erfc, exp and the log-scale tail path."""
        return _probit_row if self.link == L.Probit() else None

    @property
    def curvature_bound(self):
        if self.is_canonical:
            return 0.25
        # probit: the curvature is -d/deta of the inverse Mills ratio
        # phi/Phi (or of its mirror), which lies in (0, 1)
        return 1.0 if self.link == L.Probit() else math.inf

    def variance_deriv(self, mu):
        return 1.0 - 2.0 * np.asarray(mu, dtype=float)

    def in_domain(self, y):
        return (y >= 0.0) & (y <= 1.0)

    def unit_deviance(self, y, mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * (special.xlogy(y, y / mu) + special.xlogy(1.0 - y, (1.0 - y) / (1.0 - mu)))

    def loglike_at_scale(self, loglike_unit_scale, deviance, sum_freq_weights, scale, *,
                         var_weights):
        """statsmodels' binomial log-likelihood does not depend on the scale."""
        return loglike_unit_scale

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0, n_trials=1.0):
        """Per-row log-likelihood of the proportion ``y`` of ``n_trials`` trials
        (statsmodels' binomial log-likelihood of ``y * n_trials`` successes;
        the scale does not enter)."""
        n = np.asarray(n_trials, dtype=float)
        successes = y * n
        with np.errstate(divide="ignore", invalid="ignore"):
            combinations = special.gammaln(n + 1.0) - special.gammaln(successes + 1.0) \
                - special.gammaln(n - successes + 1.0)
            ll = combinations + special.xlogy(successes, mu) \
                + special.xlogy(n - successes, 1.0 - mu)
        return var_weights * ll


Binomial = Logistic
