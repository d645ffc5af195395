"""The negative binomial family (NB2), statsmodels' GLM ``NegativeBinomial``,
with a fixed ``alpha`` or one estimated with the coefficients."""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np
from scipy import special

from .. import links as L
from ..compiled import jit
from ..special import digamma, trigamma
from .base import Family, register_family

__all__ = ["NegativeBinomial"]

_jit = jit

#: The value of ``alpha`` that asks for its maximum likelihood estimate.
ESTIMATE = "estimate"

# Up to this many (integer) counts psi(y + r) - psi(r) and psi'(y + r) - psi'(r)
# are summed term by term (exact to rounding, no cancellation for large r).
_DIRECT_SUM_LIMIT = 64.0


@_jit
def _start_mean(y):
    return y + 0.5


@_jit
def _softplus(z):
    """log(1 + exp(z)), finite for every finite z."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _variance(alpha):
    @_jit
    def variance(mu):
        return mu + alpha * mu * mu
    return variance


def _log1p_scaled(log_alpha):
    """log(1 + alpha mu) from log mu (mu may overflow where its logarithm does not)."""
    @_jit
    def log1p_scaled(log_mu):
        return _softplus(log_mu + log_alpha)
    return log1p_scaled


def _nll(alpha, log1p_scaled, log_inverse):
    inverse_alpha = 1.0 / alpha

    @_jit
    def nll(y, eta, mu):
        if not mu >= 0.0:
            return math.inf
        log_mu = log_inverse(eta)
        value = (y + inverse_alpha) * log1p_scaled(log_mu)
        if y != 0.0:
            value -= y * log_mu
        return value if value == value else math.inf
    return nll


def _log_variance(log1p_scaled, log_inverse):
    @_jit
    def log_variance(eta):
        log_mu = log_inverse(eta)
        return log_mu + log1p_scaled(log_mu)
    return log_variance


@functools.cache
def _log_row(alpha):
    """The log link's closed row: with z = eta + log alpha, log(1 + alpha mu) is
    softplus(z) and alpha mu / (1 + alpha mu) is exp(z - softplus(z)), so the
    row stays finite for any eta."""
    log_alpha, inverse_alpha = math.log(alpha), 1.0 / alpha

    @_jit
    def log_row(y, eta):
        z = eta + log_alpha
        log1p_scaled = _softplus(z)
        share = math.exp(z - log1p_scaled)            # alpha mu / (1 + alpha mu)
        value = (y + inverse_alpha) * log1p_scaled - y * eta
        gradient = inverse_alpha * share - y * math.exp(-log1p_scaled)
        return value, gradient, inverse_alpha * share
    return log_row


@_jit
def _count_differences(y, r):
    """``(psi(y + r) - psi(r), psi'(y + r) - psi'(r))``."""
    if y <= _DIRECT_SUM_LIMIT and y == math.floor(y):
        first, second = 0.0, 0.0
        for k in range(int(y)):
            term = 1.0 / (r + k)
            first += term
            second -= term * term
        return first, second
    return digamma(y + r) - digamma(r), trigamma(y + r) - trigamma(r)


@_jit
def _joint_log_row(y, eta, log_alpha):
    """The full NB2 negative log-likelihood of a row with the log link and its
    first and second (observed) derivatives in eta and theta = log alpha.

    With r = 1 / alpha, s = log(1 + alpha mu), q = alpha mu / (1 + alpha mu),
    G = (y - mu) / (1 + alpha mu) and D, T the digamma and trigamma
    differences of :func:`_count_differences`, the log-likelihood
    ``lgamma(y + r) - lgamma(r) - lgamma(y + 1) + y (eta + theta) - (y + r) s``
    has d/deta = G, d2/deta2 = -(y + r) q (1 - q), d/dtheta = r (s - D) + G,
    d2/dtheta2 = -r (s - D) + r q + r^2 T - q G and d2/deta dtheta = -q G.
    """
    r = math.exp(-log_alpha)
    z = eta + log_alpha
    log1p_scaled = _softplus(z)
    share = math.exp(z - log1p_scaled)
    complement = math.exp(-log1p_scaled)
    first, second = _count_differences(y, r)
    loglike = (math.lgamma(y + r) - math.lgamma(r) - math.lgamma(y + 1.0)
               + y * z - (y + r) * log1p_scaled)
    g = y * complement - r * share
    excess = log1p_scaled - first
    d_theta = r * excess + g
    d2_theta = -r * excess + r * share + r * r * second - share * g
    return (-loglike, -g, (y + r) * share * complement, -d_theta, -d2_theta, share * g)


def _check_alpha(alpha):
    if isinstance(alpha, str):
        if alpha != ESTIMATE:
            raise ValueError(f"alpha must be a number > 0 or {ESTIMATE!r}, got {alpha!r}")
        return alpha
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a number > 0 or {ESTIMATE!r}, got {alpha!r}")
    if not (math.isfinite(alpha) and float(alpha) > 0):
        raise ValueError(f"alpha must be finite and > 0 (NB2: V(mu) = mu + alpha mu^2), "
                         f"got {alpha!r}")
    return float(alpha)


@register_family("negativebinomial", "negative_binomial", "nb")
class NegativeBinomial(Family):
    """Negative binomial counts (NB2), y >= 0 (statsmodels' GLM ``NegativeBinomial``).

    Parameters
    ----------
    link : Link, str or None
        Default :class:`~daskglm.links.Log` (as statsmodels); also
        ``CLogLog`` and ``Identity``.
    alpha : float > 0 or "estimate"
        The dispersion: V(mu) = mu + alpha mu^2. A number is held fixed, as
        in statsmodels' GLM. ``"estimate"`` makes :meth:`daskglm.GLM.fit`
        estimate it by maximum likelihood together with the coefficients
        (log link only), as statsmodels' discrete
        ``NegativeBinomial(loglike_method="nb2")`` and R's ``MASS::glm.nb``
        do; the results then carry ``alpha`` and ``bse_alpha``.

    Notes
    -----
    The log-likelihood of a row is

        lgamma(y + 1/alpha) - lgamma(1/alpha) - lgamma(y + 1)
        + y log(alpha mu) - (y + 1/alpha) log(1 + alpha mu),

    the unit deviance 2 [y log(y / mu) - (y + 1/alpha) log((1 + alpha y) /
    (1 + alpha mu))]. As statsmodels' GLM, any y >= 0 is accepted, integer or
    not (the likelihood above is then a quasi-likelihood); y < 0 is refused.
    Its canonical link, log(alpha mu / (1 + alpha mu)), carries alpha: it is
    canonical only as ``links.NegativeBinomial(alpha)`` with the family's own
    alpha; under every other link fits use Fisher scoring and robust
    covariances the observed information.
    """

    name = "NegativeBinomial"
    canonical_link = None
    default_link = L.Log
    allowed_links = (L.Log, L.CLogLog, L.Identity, L.NegativeBinomial, L.Power)
    domain_text = "y >= 0"
    param_names = ("alpha",)

    @property
    def is_canonical(self) -> bool:
        # the negative binomial link with the family's own alpha
        return (isinstance(self.link, L.NegativeBinomial) and self.alpha != ESTIMATE
                and self.link.alpha == self.alpha)

    def __init__(self, link=None, alpha=1.0):
        super().__init__(link)
        self.alpha = _check_alpha(alpha)
        if self.alpha == ESTIMATE and not isinstance(self.link, L.Log):
            raise ValueError(f"NegativeBinomial(alpha={ESTIMATE!r}) needs the log link (as "
                             f"statsmodels' discrete NegativeBinomial), got {self.link.name!r}")

    @property
    def estimated_parameter(self):
        return "alpha" if self.alpha == ESTIMATE else None

    def _fixed_alpha(self) -> float:
        if self.alpha == ESTIMATE:
            raise ValueError(
                f"NegativeBinomial(alpha={ESTIMATE!r}) has no fixed alpha: fit it with "
                "GLM.fit(method='newton'), which estimates alpha with the coefficients; "
                "a solver called directly, a penalized fit and the family's row math "
                "need a numeric alpha")
        return self.alpha

    def with_parameter(self, value):
        return type(self)(link=self.link, alpha=float(value))

    def parameter_row(self):
        self._check_estimating()
        return _joint_log_row

    def _check_estimating(self):
        if self.alpha != ESTIMATE:
            raise ValueError(f"{self!r} has a fixed alpha; use alpha={ESTIMATE!r} to estimate it")

    def functions(self):
        alpha = self._fixed_alpha()
        log_inverse = self.link.scalars.log_inverse
        log1p_scaled = _log1p_scaled(math.log(alpha))
        return dict(variance=_variance(alpha), start_mean=_start_mean,
                    nll=_nll(alpha, log1p_scaled, log_inverse),
                    log_variance=_log_variance(log1p_scaled, log_inverse))

    @property
    def closed_form_row(self):
        return _log_row(self._fixed_alpha()) if isinstance(self.link, L.Log) else None

    # -- numpy methods in numpy ---------------------------------------------
    # The base class applies the compiled scalars to arrays; alpha is a
    # closure constant of those, so every new alpha (one per fit when alpha is
    # estimated) would compile the row loops again (seconds) and add entries
    # to numba's cache. The statistics and results use these numpy forms of
    # the same formulas instead; the passes and solvers keep the compiled row.
    def variance(self, mu):
        mu = np.asarray(mu, dtype=float)
        return mu + self._fixed_alpha() * mu * mu

    def derivatives(self, y, eta, *, hessian=True):
        """Per-row ``(nll, d nll / d eta, Fisher weight)``, from the link's
        log-scale helpers: ``1 / V(mu)`` is ``exp(-log mu - log(1 + alpha mu))``."""
        alpha = self._fixed_alpha()
        y, eta = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(eta, dtype=float))
        link = self.link
        with np.errstate(all="ignore"):
            mu = link.inverse(eta)
            log_mu = link.log_inverse(eta)
            log1p_scaled = np.logaddexp(0.0, log_mu + math.log(alpha))
            nll = (y + 1.0 / alpha) * log1p_scaled - np.where(y != 0.0, y * log_mu, 0.0)
            nll = np.where((mu >= 0.0) & ~np.isnan(nll), nll, np.inf)
            log_ratio = link.log_inverse_deriv(eta) - log_mu - log1p_scaled  # log |dmu| / V
            sign = np.where(link.inverse_deriv(eta) < 0.0, -1.0, 1.0)
            gradient = sign * (np.exp(log_mu + log_ratio) - y * np.exp(log_ratio))
            fisher = np.exp(link.log_inverse_deriv(eta) + log_ratio) if hessian else None
        return nll[()], gradient[()], None if fisher is None else fisher[()]

    def nll(self, y, eta):
        return self.derivatives(y, eta, hessian=False)[0]

    def gradient(self, y, eta):
        return self.derivatives(y, eta, hessian=False)[1]

    def fisher_weights(self, eta):
        return self.derivatives(self.mean(eta), eta)[2]

    def variance_deriv(self, mu):
        return 1.0 + 2.0 * self._fixed_alpha() * np.asarray(mu, dtype=float)

    def in_domain(self, y):
        return y >= 0.0

    def unit_deviance(self, y, mu):
        alpha = self._fixed_alpha()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log1p(alpha * y) - np.log1p(alpha * mu)
            return 2.0 * (special.xlogy(y, y / mu) - (y + 1.0 / alpha) * ratio)

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        alpha = self._fixed_alpha()
        inverse_alpha = 1.0 / alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = (special.xlogy(y, alpha * mu) - (y + inverse_alpha) * np.log1p(alpha * mu)
                  + special.gammaln(y + inverse_alpha) - special.gammaln(inverse_alpha)
                  - special.gammaln(y + 1.0))
        return var_weights / scale * ll
