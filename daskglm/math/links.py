"""Link functions: the map between a family's mean ``mu`` and the linear predictor ``eta``.

Every link works elementwise on in-memory arrays (one chunk) and knows
nothing of dask. A link gives

- ``link(mu)`` (also ``__call__``): eta = g(mu)
- ``inverse(eta)``: mu = g^{-1}(eta)
- ``deriv(mu)``: d eta / d mu
- ``inverse_deriv(eta)``: d mu / d eta
- ``inverse_deriv2(eta)``: d^2 mu / d eta^2 (for the observed information)
- ``log_inverse(eta)``, ``log1m_inverse(eta)``, ``log_inverse_deriv(eta)``:
  log(mu), log(1 - mu) and log(d mu / d eta), computed without forming mu
  where that loses precision, so that families stay finite far into the tails.

The names follow statsmodels (``Logit``, ``Probit``, ``CLogLog``, ``Log``,
``Identity``, ``Inverse``, ``Sqrt``).
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = [
    "Link",
    "Logit",
    "Probit",
    "CLogLog",
    "Log",
    "Identity",
    "Inverse",
    "Sqrt",
    "get_link",
]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


class Link:
    """Base class of link functions; subclasses implement the four maps."""

    name = "link"

    def __call__(self, mu):
        return self.link(mu)

    def link(self, mu):
        raise NotImplementedError

    def inverse(self, eta):
        raise NotImplementedError

    def deriv(self, mu):
        raise NotImplementedError

    def inverse_deriv(self, eta):
        raise NotImplementedError

    def inverse_deriv2(self, eta):
        raise NotImplementedError

    def log_inverse(self, eta):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(self.inverse(eta))

    def log1m_inverse(self, eta):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(-self.inverse(eta))

    def log_inverse_deriv(self, eta):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.abs(self.inverse_deriv(eta)))

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


class Logit(Link):
    """Logit link, eta = log(mu / (1 - mu)); canonical for the binomial family."""

    name = "logit"

    def link(self, mu):
        return special.logit(mu)

    def inverse(self, eta):
        return special.expit(eta)

    def deriv(self, mu):
        return 1.0 / (mu * (1.0 - mu))

    def inverse_deriv(self, eta):
        return special.expit(eta) * special.expit(-eta)

    def inverse_deriv2(self, eta):
        mu = special.expit(eta)
        return mu * (1.0 - mu) * (1.0 - 2.0 * mu)

    def log_inverse(self, eta):
        return -np.logaddexp(0.0, -eta)

    def log1m_inverse(self, eta):
        return -np.logaddexp(0.0, eta)

    def log_inverse_deriv(self, eta):
        return -np.logaddexp(0.0, eta) - np.logaddexp(0.0, -eta)


class Probit(Link):
    """Probit link, eta = Phi^{-1}(mu) with Phi the standard normal CDF."""

    name = "probit"

    def link(self, mu):
        return special.ndtri(mu)

    def inverse(self, eta):
        return special.ndtr(eta)

    def deriv(self, mu):
        return np.exp(_LOG_SQRT_2PI + 0.5 * special.ndtri(mu) ** 2)

    def inverse_deriv(self, eta):
        return np.exp(self.log_inverse_deriv(eta))

    def inverse_deriv2(self, eta):
        return -np.asarray(eta, dtype=float) * self.inverse_deriv(eta)

    def log_inverse(self, eta):
        return special.log_ndtr(eta)

    def log1m_inverse(self, eta):
        return special.log_ndtr(-eta)

    def log_inverse_deriv(self, eta):
        return -0.5 * np.square(eta) - _LOG_SQRT_2PI


class CLogLog(Link):
    """Complementary log-log link, eta = log(-log(1 - mu))."""

    name = "cloglog"

    def link(self, mu):
        return np.log(-np.log1p(-mu))

    def inverse(self, eta):
        with np.errstate(over="ignore"):
            return -np.expm1(-np.exp(eta))

    def deriv(self, mu):
        return -1.0 / ((1.0 - mu) * np.log1p(-mu))

    def inverse_deriv(self, eta):
        return np.exp(self.log_inverse_deriv(eta))

    def inverse_deriv2(self, eta):
        with np.errstate(over="ignore"):
            return self.inverse_deriv(eta) * (1.0 - np.exp(eta))

    def log_inverse(self, eta):
        eta = np.asarray(eta, dtype=float)
        with np.errstate(divide="ignore", over="ignore"):
            direct = np.log(-np.expm1(-np.exp(eta)))
        # below eta = -20, mu = exp(eta) (1 - exp(eta)/2 + ...) to double precision
        return np.where(eta < -20.0, eta - 0.5 * np.exp(np.minimum(eta, -20.0)), direct)

    def log1m_inverse(self, eta):
        with np.errstate(over="ignore"):
            return -np.exp(eta)

    def log_inverse_deriv(self, eta):
        with np.errstate(over="ignore"):
            return eta - np.exp(eta)


class Log(Link):
    """Log link, eta = log(mu); canonical for the Poisson family."""

    name = "log"

    def link(self, mu):
        return np.log(mu)

    def inverse(self, eta):
        return np.exp(eta)

    def deriv(self, mu):
        return 1.0 / mu

    def inverse_deriv(self, eta):
        return np.exp(eta)

    def inverse_deriv2(self, eta):
        return np.exp(eta)

    def log_inverse(self, eta):
        return np.asarray(eta, dtype=float)

    def log1m_inverse(self, eta):
        with np.errstate(invalid="ignore"):
            return np.log(-np.expm1(eta))

    def log_inverse_deriv(self, eta):
        return np.asarray(eta, dtype=float)


class Identity(Link):
    """Identity link, eta = mu; canonical for the normal family."""

    name = "identity"

    def link(self, mu):
        return np.asarray(mu, dtype=float)

    def inverse(self, eta):
        return np.asarray(eta, dtype=float)

    def deriv(self, mu):
        return np.ones_like(mu, dtype=float)

    def inverse_deriv(self, eta):
        return np.ones_like(eta, dtype=float)

    def inverse_deriv2(self, eta):
        return np.zeros_like(eta, dtype=float)

    def log_inverse_deriv(self, eta):
        return np.zeros_like(eta, dtype=float)


class Inverse(Link):
    """Inverse (reciprocal) link, eta = 1 / mu; statsmodels' ``InversePower``."""

    name = "inverse"

    def link(self, mu):
        return 1.0 / mu

    def inverse(self, eta):
        return 1.0 / eta

    def deriv(self, mu):
        return -1.0 / np.square(mu)

    def inverse_deriv(self, eta):
        return -1.0 / np.square(eta)

    def inverse_deriv2(self, eta):
        return 2.0 / np.asarray(eta, dtype=float) ** 3

    def log_inverse_deriv(self, eta):
        with np.errstate(divide="ignore"):
            return -2.0 * np.log(np.abs(eta))


class Sqrt(Link):
    """Square-root link, eta = sqrt(mu)."""

    name = "sqrt"

    def link(self, mu):
        return np.sqrt(mu)

    def inverse(self, eta):
        return np.square(eta)

    def deriv(self, mu):
        return 0.5 / np.sqrt(mu)

    def inverse_deriv(self, eta):
        return 2.0 * np.asarray(eta, dtype=float)

    def inverse_deriv2(self, eta):
        return np.full_like(eta, 2.0, dtype=float)

    def log_inverse_deriv(self, eta):
        with np.errstate(divide="ignore"):
            return np.log(2.0 * np.abs(eta))


LINKS = {
    cls.name: cls for cls in (Logit, Probit, CLogLog, Log, Identity, Inverse, Sqrt)
}

# statsmodels' class names for the same links, lower-cased.
_STATSMODELS_NAMES = {"inversepower": "inverse", "cloglog": "cloglog"}


def get_link(link) -> Link:
    """Return a link instance from a :class:`Link`, its class, its name, or a
    statsmodels link instance.

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the known names.
    """
    if isinstance(link, Link):
        return link
    if isinstance(link, type) and issubclass(link, Link):
        return link()
    if isinstance(link, str):
        key = link.lower()
    elif type(link).__module__.startswith("statsmodels"):
        key = type(link).__name__.lower()
        key = _STATSMODELS_NAMES.get(key, key)
        if key == "power" and getattr(link, "power", None) == 0.5:
            key = "sqrt"
        if key == "power" and getattr(link, "power", None) == -1:
            key = "inverse"
    else:
        raise TypeError(f"link must be a daskglm link or its name, got {link!r}")
    if key not in LINKS:
        raise ValueError(
            f"unknown link {link!r}; known links: {', '.join(sorted(LINKS))}"
        )
    return LINKS[key]()
