"""Exponential-family distributions for GLMs: per-chunk math, no dask.

A family is a distribution plus a link (statsmodels' composition). Each
family states four things of its own:

- ``variance(mu)``: the variance function V(mu);
- ``unit_deviance(y, mu)``: the deviance of one row at unit scale;
- ``loglike_obs(y, mu, var_weights, scale)``: the full per-row
  log-likelihood, constants included, as statsmodels computes it;
- ``_nll(y, eta, mu)`` and ``_log_variance(eta, mu)``: the negative
  log-likelihood of one row up to terms free of ``eta``, and log V(mu),
  both written through the link's log-scale helpers so they stay finite.

From these the base class derives what solvers need, with respect to the
linear predictor ``eta``: the negative log-likelihood, its gradient

    d nll / d eta = (mu - y) * (d mu / d eta) / V(mu)

and the Fisher (IRLS) weight (d mu / d eta)^2 / V(mu). For a canonical link
these reduce to ``mu - y`` and ``V(mu)``, the observed information, and the
families take that closed form. Adding a family is a subclass in this file.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .. import links as L

__all__ = [
    "Family",
    "Logistic",
    "Binomial",
    "Normal",
    "Gaussian",
    "Poisson",
    "get_family",
]


class Family:
    """Base class: a distribution with a link; subclasses give its math.

    Parameters
    ----------
    link : Link, str or None
        The link; ``None`` takes the family's canonical link. It must be one
        of the family's ``allowed_links``.
    """

    name = "family"
    canonical_link = L.Identity
    allowed_links: tuple = ()
    estimates_scale = False
    #: An upper bound on d^2 nll / d eta^2 for the canonical link, used by
    #: first-order solvers to choose step sizes (``inf`` where unbounded).
    smoothness = np.inf

    def __init__(self, link=None):
        link = self.canonical_link() if link is None else L.get_link(link)
        if not isinstance(link, self.allowed_links):
            allowed = ", ".join(cls.name for cls in self.allowed_links)
            raise ValueError(
                f"link {link.name!r} is not allowed for the {self.name} family; "
                f"allowed links: {allowed}"
            )
        self.link = link

    @property
    def is_canonical(self) -> bool:
        return type(self.link) is self.canonical_link

    def __repr__(self):
        if self.is_canonical:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(link={self.link!r})"

    def __eq__(self, other):
        return type(self) is type(other) and self.link == other.link

    def __hash__(self):
        return hash((type(self), self.link))

    # -- what each family states ------------------------------------------
    def variance(self, mu):
        raise NotImplementedError

    def variance_deriv(self, mu):
        """d V / d mu."""
        raise NotImplementedError

    def unit_deviance(self, y, mu):
        raise NotImplementedError

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        raise NotImplementedError

    def in_domain(self, y):
        """Boolean mask: True where ``y`` is a valid response for the family."""
        return np.isfinite(y)

    domain_text = "finite"

    def starting_mu(self, y):
        """A mean to start IRLS from, computed from ``y`` alone (row by row)."""
        return np.asarray(y, dtype=float)

    def _nll(self, y, eta, mu):
        raise NotImplementedError

    def _log_variance(self, eta, mu):
        raise NotImplementedError

    def _canonical_nll(self, y, eta):
        raise NotImplementedError

    def _canonical_mean_and_nll(self, y, eta):
        """``(mu, nll)`` for the canonical link; families share work here."""
        return self.link.inverse(eta), self._canonical_nll(y, eta)

    # -- derived quantities ------------------------------------------------
    def mean(self, eta):
        """The mean ``mu = g^{-1}(eta)``."""
        return self.link.inverse(eta)

    def nll(self, y, eta):
        """Per-row negative log-likelihood, up to terms free of ``eta``.

        Rows whose ``eta`` maps outside the family's mean space give ``inf``.
        """
        with np.errstate(all="ignore"):
            if self.is_canonical:
                return self._canonical_nll(y, eta)
            return self._nll(y, eta, self.link.inverse(eta))

    def gradient(self, y, eta):
        """d nll / d eta, per row."""
        return self.derivatives(y, eta)[1]

    def fisher_weights(self, eta):
        """IRLS weights (d mu / d eta)^2 / V(mu), per row (expected information)."""
        with np.errstate(all="ignore"):
            mu = self.link.inverse(eta)
            if self.is_canonical:
                return self.variance(mu)
            log_dmu = self.link.log_inverse_deriv(eta)
            return np.exp(2.0 * log_dmu - self._log_variance(eta, mu))

    def observed_weights(self, y, eta):
        """d^2 nll / d eta^2 per row: the observed information's weight.

        ``(dmu)^2 / V + (mu - y) (d2mu / V - (dmu)^2 V' / V^2)``, with ``dmu``
        and ``d2mu`` the inverse link's derivatives in ``eta``. It equals the
        Fisher weight for canonical links and may be negative elsewhere.
        """
        if self.is_canonical:
            return self.fisher_weights(eta)
        with np.errstate(all="ignore"):
            mu = self.link.inverse(eta)
            dmu = self.link.inverse_deriv(eta)
            var = self.variance(mu)
            curvature = self.link.inverse_deriv2(eta) / var \
                - np.square(dmu) * self.variance_deriv(mu) / np.square(var)
            return np.square(dmu) / var + (mu - y) * curvature

    def derivatives(self, y, eta, *, hessian=True):
        """Per-row ``(nll, d nll / d eta, Fisher weight)`` in one call.

        The weight is ``None`` when ``hessian`` is False.
        """
        with np.errstate(all="ignore"):
            if self.is_canonical:
                mu, nll = self._canonical_mean_and_nll(y, eta)
                grad = mu - y
                weight = self.variance(mu) if hessian else None
                return nll, grad, weight
            mu = self.link.inverse(eta)
            nll = self._nll(y, eta, mu)
            log_dmu = self.link.log_inverse_deriv(eta)
            log_var = self._log_variance(eta, mu)
            sign = np.sign(self.link.inverse_deriv(eta))
            grad = (mu - y) * sign * np.exp(log_dmu - log_var)
            weight = np.exp(2.0 * log_dmu - log_var) if hessian else None
            return nll, grad, weight

    def deviance(self, y, mu, weights=1.0):
        """Sum of weighted unit deviances."""
        return float(np.sum(weights * self.unit_deviance(y, mu)))

    def resid_deviance(self, y, mu):
        """Signed square root of the unit deviance."""
        dev = np.clip(self.unit_deviance(y, mu), 0.0, None)
        return np.sign(y - mu) * np.sqrt(dev)

    def check_domain(self, y, name="y"):
        """Raise ``ValueError`` naming the rows of ``y`` outside the domain."""
        bad = np.flatnonzero(~self.in_domain(np.asarray(y, dtype=float)))
        if bad.size:
            raise ValueError(domain_message(self, name, bad.size, bad[:5]))


def domain_message(family, name, n_bad, first_rows) -> str:
    """The one wording for a response outside a family's domain."""
    rows = ", ".join(str(int(i)) for i in first_rows)
    return (
        f"{name} has {n_bad} value(s) outside the {family.name} family's domain "
        f"({family.domain_text}); first offending rows: {rows}"
    )


def _xlogy_where(y, log_mu):
    """y * log_mu with 0 * (-inf) read as 0."""
    return np.where(y == 0, 0.0, y * log_mu)


class Logistic(Family):
    """Bernoulli / binomial proportions, 0 <= y <= 1 (statsmodels' ``Binomial``).

    Notes
    -----
    V(mu) = mu (1 - mu); nll = -[y log mu + (1 - y) log(1 - mu)], which is
    log(1 + exp(eta)) - y eta for the logit link; the unit deviance is
    2 [y log(y / mu) + (1 - y) log((1 - y) / (1 - mu))].
    """

    name = "Binomial"
    canonical_link = L.Logit
    allowed_links = (L.Logit, L.Probit, L.CLogLog, L.Log)
    smoothness = 0.25
    domain_text = "0 <= y <= 1"

    def variance(self, mu):
        return mu * (1.0 - mu)

    def variance_deriv(self, mu):
        return 1.0 - 2.0 * np.asarray(mu, dtype=float)

    def in_domain(self, y):
        return (y >= 0.0) & (y <= 1.0)

    def starting_mu(self, y):
        return (np.asarray(y, dtype=float) + 0.5) / 2.0

    def _canonical_nll(self, y, eta):
        return np.logaddexp(0.0, eta) - y * eta

    def _canonical_mean_and_nll(self, y, eta):
        # one exponential serves both: t = exp(-|eta|),
        # mu = 1 / (1 + t) or t / (1 + t), log(1 + e^eta) = max(eta, 0) + log1p(t)
        t = np.exp(-np.abs(eta))
        mu = np.where(eta >= 0, 1.0, t) / (1.0 + t)
        return mu, np.maximum(eta, 0.0) + np.log1p(t) - y * eta

    def _nll(self, y, eta, mu):
        log_mu = self.link.log_inverse(eta)
        log1m_mu = self.link.log1m_inverse(eta)
        nll = -(_xlogy_where(y, log_mu) + _xlogy_where(1.0 - y, log1m_mu))
        return np.where(np.isnan(nll), np.inf, nll)

    def _log_variance(self, eta, mu):
        return self.link.log_inverse(eta) + self.link.log1m_inverse(eta)

    def unit_deviance(self, y, mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * (special.xlogy(y, y / mu) + special.xlogy(1.0 - y, (1.0 - y) / (1.0 - mu)))

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        with np.errstate(divide="ignore", invalid="ignore"):
            combinations = -special.gammaln(y + 1.0) - special.gammaln(2.0 - y)
            ll = combinations + special.xlogy(y, mu) + special.xlogy(1.0 - y, 1.0 - mu)
        return var_weights * ll


class Normal(Family):
    """Normal (Gaussian) responses with estimated scale (statsmodels' ``Gaussian``).

    Notes
    -----
    V(mu) = 1; nll = (y - mu)^2 / 2 (unit scale); the unit deviance is
    (y - mu)^2; the log-likelihood at scale s^2 is
    -[(y - mu)^2 / s^2 + log(2 pi s^2)] / 2.
    """

    name = "Gaussian"
    canonical_link = L.Identity
    allowed_links = (L.Identity, L.Log, L.Inverse)
    estimates_scale = True
    smoothness = 1.0

    def variance(self, mu):
        return np.ones_like(mu, dtype=float)

    def variance_deriv(self, mu):
        return np.zeros_like(mu, dtype=float)

    def _canonical_nll(self, y, eta):
        return 0.5 * np.square(y - eta)

    def _nll(self, y, eta, mu):
        nll = 0.5 * np.square(y - mu)
        return np.where(np.isnan(nll), np.inf, nll)

    def _log_variance(self, eta, mu):
        return np.zeros_like(eta, dtype=float)

    def unit_deviance(self, y, mu):
        return np.square(y - mu)

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        resid2 = var_weights * np.square(y - mu) / scale
        return -0.5 * (resid2 + np.log(2.0 * np.pi * scale / var_weights))


class Poisson(Family):
    """Poisson counts, y >= 0.

    Notes
    -----
    V(mu) = mu; nll = mu - y log mu, which is exp(eta) - y eta for the log
    link; the unit deviance is 2 [y log(y / mu) - (y - mu)].
    """

    name = "Poisson"
    canonical_link = L.Log
    allowed_links = (L.Log, L.Identity, L.Sqrt)
    domain_text = "y >= 0"

    def variance(self, mu):
        return np.asarray(mu, dtype=float)

    def variance_deriv(self, mu):
        return np.ones_like(mu, dtype=float)

    def in_domain(self, y):
        return y >= 0.0

    def starting_mu(self, y):
        return np.asarray(y, dtype=float) + 0.5

    def _canonical_nll(self, y, eta):
        return np.exp(eta) - y * eta

    def _canonical_mean_and_nll(self, y, eta):
        mu = np.exp(eta)
        return mu, mu - y * eta

    def _nll(self, y, eta, mu):
        log_mu = self.link.log_inverse(eta) if isinstance(self.link, L.Log) else np.log(mu)
        nll = mu - _xlogy_where(y, log_mu)
        return np.where(np.isnan(nll) | (mu < 0), np.inf, nll)

    def _log_variance(self, eta, mu):
        return np.log(mu)

    def unit_deviance(self, y, mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * (special.xlogy(y, y / mu) - (y - mu))

    def loglike_obs(self, y, mu, var_weights=1.0, scale=1.0):
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = special.xlogy(y, mu) - mu - special.gammaln(y + 1.0)
        return var_weights / scale * ll


Binomial = Logistic
Gaussian = Normal

FAMILIES = {
    "logistic": Logistic,
    "binomial": Logistic,
    "normal": Normal,
    "gaussian": Normal,
    "poisson": Poisson,
}


def get_family(family, link=None) -> Family:
    """Return a family instance from one of ours, its class, its name, or a
    statsmodels family instance (converted, link included).

    Raises
    ------
    ValueError
        For an unknown name or a statsmodels family daskglm does not have;
        the message lists the supported families.
    """
    if isinstance(family, Family):
        return family if link is None else type(family)(link=link)
    if isinstance(family, type) and issubclass(family, Family):
        return family(link=link)
    supported = ", ".join(sorted(FAMILIES))
    if isinstance(family, str):
        key = family.lower()
        if key not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; supported: {supported}")
        return FAMILIES[key](link=link)
    if type(family).__module__.startswith("statsmodels"):
        key = type(family).__name__.lower()
        if key not in FAMILIES:
            raise ValueError(
                f"statsmodels family {type(family).__name__} is not supported; "
                f"supported: {supported}"
            )
        return FAMILIES[key](link=family.link if link is None else link)
    raise TypeError(f"family must be a daskglm family or its name, got {family!r}")
