"""Link functions: the map between a family's mean ``mu`` and the linear predictor ``eta``.

A link is written once, as ``@njit`` scalar functions that numba compiles
into every pass (:attr:`Link.scalars`):

- ``link(mu)``: eta = g(mu); ``deriv(mu)``: d eta / d mu;
- ``inverse(eta)``: mu = g^{-1}(eta); ``inverse_deriv(eta)``: d mu / d eta;
  ``inverse_deriv2(eta)``: d^2 mu / d eta^2 (for the observed information);
- ``log_inverse(eta)``, ``log1m_inverse(eta)``, ``log_inverse_deriv(eta)``:
  log(mu), log(1 - mu) and log |d mu / d eta|, computed without forming mu
  where that loses precision, so that families stay finite far into the
  tails. A link that does not give them gets the plain logarithms.

The numpy methods of the same names (and ``__call__`` for ``link``) apply
those scalars to arrays. A link with parameters builds its scalars as
closures over them and lists them in :attr:`Link.params`, which equality,
hashing and ``repr`` include.

The names follow statsmodels (``Logit``, ``Probit``, ``CLogLog``, ``Log``,
``Identity``, ``Inverse``, ``Sqrt``).
"""

from __future__ import annotations

import functools
import math
from collections import namedtuple

from .compiled import elementwise, jit, plugin_functions
from .special import log_ndtr, ndtr, normal_pdf

__all__ = [
    "Link",
    "LinkScalars",
    "Logit",
    "Probit",
    "CLogLog",
    "Log",
    "Identity",
    "Inverse",
    "Sqrt",
    "InverseSquared",
    "get_link",
]

LinkScalars = namedtuple("LinkScalars", [
    "link", "deriv", "inverse", "inverse_deriv", "inverse_deriv2",
    "log_inverse", "log1m_inverse", "log_inverse_deriv",
])

_REQUIRED = ("link", "deriv", "inverse", "inverse_deriv", "inverse_deriv2")

_jit = jit


class Link:
    """Base class of link functions.

    A subclass sets ``name`` and returns its ``@njit`` scalar functions from
    :meth:`functions` (a dict with at least ``link``, ``deriv``,
    ``inverse``, ``inverse_deriv`` and ``inverse_deriv2``; the log-scale
    helpers where the plain logarithm loses precision). Everything else,
    the numpy methods included, follows from them.
    """

    name = "link"
    #: Names of the constructor's keyword parameters.
    param_names: tuple = ()

    def functions(self) -> dict:
        """The link's ``@njit`` scalar functions, by name."""
        raise NotImplementedError

    @property
    def params(self) -> tuple:
        """The link's parameter values, in ``param_names`` order."""
        return tuple(getattr(self, name) for name in self.param_names)

    @property
    def scalars(self) -> LinkScalars:
        """The compiled scalar functions, defaults filled in (built once per link)."""
        return _link_scalars(self)

    def __call__(self, mu):
        return self.link(mu)

    def link(self, mu):
        return elementwise(self.scalars.link, mu)

    def inverse(self, eta):
        return elementwise(self.scalars.inverse, eta)

    def deriv(self, mu):
        return elementwise(self.scalars.deriv, mu)

    def inverse_deriv(self, eta):
        return elementwise(self.scalars.inverse_deriv, eta)

    def inverse_deriv2(self, eta):
        return elementwise(self.scalars.inverse_deriv2, eta)

    def log_inverse(self, eta):
        return elementwise(self.scalars.log_inverse, eta)

    def log1m_inverse(self, eta):
        return elementwise(self.scalars.log1m_inverse, eta)

    def log_inverse_deriv(self, eta):
        return elementwise(self.scalars.log_inverse_deriv, eta)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self.params))})"

    def __eq__(self, other):
        return type(self) is type(other) and self.params == other.params

    def __hash__(self):
        return hash((type(self), self.params))


@functools.cache
def _link_scalars(link) -> LinkScalars:
    functions = plugin_functions(link, _REQUIRED)
    inverse, inverse_deriv = functions["inverse"], functions["inverse_deriv"]
    functions.setdefault("log_inverse", _plain_log(inverse))
    functions.setdefault("log1m_inverse", _plain_log1m(inverse))
    functions.setdefault("log_inverse_deriv", _plain_log_abs(inverse_deriv))
    return LinkScalars(**functions)


def _plain_log(fn):
    @_jit
    def log_fn(x):
        value = fn(x)
        return math.log(value) if value > 0.0 else (-math.inf if value == 0.0 else math.nan)
    return log_fn


def _plain_log1m(fn):
    @_jit
    def log1m_fn(x):
        value = fn(x)
        return math.log1p(-value) if value < 1.0 else (-math.inf if value == 1.0 else math.nan)
    return log1m_fn


def _plain_log_abs(fn):
    @_jit
    def log_abs_fn(x):
        value = abs(fn(x))
        return math.log(value) if value > 0.0 else -math.inf
    return log_abs_fn


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
def _same(eta):
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
                    inverse_deriv2=_exp, log_inverse=_same, log1m_inverse=_log_log1m_inverse,
                    log_inverse_deriv=_same)


# -- identity ------------------------------------------------------------------------
@_jit
def _one(x):
    return 1.0


@_jit
def _zero(x):
    return 0.0


class Identity(Link):
    """Identity link, eta = mu; canonical for the normal family."""

    name = "identity"

    def functions(self):
        return dict(link=_same, deriv=_one, inverse=_same, inverse_deriv=_one,
                    inverse_deriv2=_zero, log_inverse_deriv=_zero)


# -- inverse -----------------------------------------------------------------------------
@_jit
def _reciprocal(x):
    return 1.0 / x


@_jit
def _minus_inverse_square(x):
    return -1.0 / (x * x)


@_jit
def _inverse_inverse_deriv2(eta):
    return 2.0 / (eta * eta * eta)


@_jit
def _inverse_log_inverse_deriv(eta):
    return -2.0 * math.log(abs(eta)) if eta != 0.0 else math.inf


class Inverse(Link):
    """Inverse (reciprocal) link, eta = 1 / mu; statsmodels' ``InversePower``."""

    name = "inverse"

    def functions(self):
        return dict(link=_reciprocal, deriv=_minus_inverse_square, inverse=_reciprocal,
                    inverse_deriv=_minus_inverse_square, inverse_deriv2=_inverse_inverse_deriv2,
                    log_inverse_deriv=_inverse_log_inverse_deriv)


# -- square root ------------------------------------------------------------------------
@_jit
def _sqrt_link(mu):
    return math.sqrt(mu) if mu >= 0.0 else math.nan


@_jit
def _sqrt_deriv(mu):
    return 0.5 / math.sqrt(mu) if mu >= 0.0 else math.nan


@_jit
def _square(eta):
    return eta * eta


@_jit
def _twice(eta):
    return 2.0 * eta


@_jit
def _two(eta):
    return 2.0


@_jit
def _sqrt_log_inverse(eta):
    return 2.0 * math.log(abs(eta)) if eta != 0.0 else -math.inf


@_jit
def _sqrt_log_inverse_deriv(eta):
    return math.log(2.0 * abs(eta)) if eta != 0.0 else -math.inf


class Sqrt(Link):
    """Square-root link, eta = sqrt(mu)."""

    name = "sqrt"

    def functions(self):
        return dict(link=_sqrt_link, deriv=_sqrt_deriv, inverse=_square, inverse_deriv=_twice,
                    inverse_deriv2=_two, log_inverse=_sqrt_log_inverse,
                    log_inverse_deriv=_sqrt_log_inverse_deriv)


# -- inverse squared ---------------------------------------------------------------------
@_jit
def _inverse_squared_link(mu):
    return 1.0 / (mu * mu)


@_jit
def _inverse_squared_deriv(mu):
    return -2.0 / (mu * mu * mu)


@_jit
def _inverse_squared_inverse(eta):
    return 1.0 / math.sqrt(eta) if eta >= 0.0 else math.nan


@_jit
def _inverse_squared_inverse_deriv(eta):
    return -0.5 / (eta * math.sqrt(eta)) if eta >= 0.0 else math.nan


@_jit
def _inverse_squared_inverse_deriv2(eta):
    return 0.75 / (eta * eta * math.sqrt(eta)) if eta >= 0.0 else math.nan


@_jit
def _inverse_squared_log_inverse(eta):
    if eta < 0.0:
        return math.nan
    return -0.5 * math.log(eta) if eta > 0.0 else math.inf


@_jit
def _inverse_squared_log_inverse_deriv(eta):
    if eta < 0.0:
        return math.nan
    return math.log(0.5) - 1.5 * math.log(eta) if eta > 0.0 else math.inf


class InverseSquared(Link):
    """Inverse squared link, eta = 1 / mu^2; the inverse Gaussian family's default.

    The mean ``mu = eta^(-1/2)`` exists for ``eta > 0`` only; elsewhere the
    inverse and its derivatives are NaN (a family's ``nll`` is then ``inf``).
    """

    name = "inverse_squared"

    def functions(self):
        return dict(link=_inverse_squared_link, deriv=_inverse_squared_deriv,
                    inverse=_inverse_squared_inverse,
                    inverse_deriv=_inverse_squared_inverse_deriv,
                    inverse_deriv2=_inverse_squared_inverse_deriv2,
                    log_inverse=_inverse_squared_log_inverse,
                    log_inverse_deriv=_inverse_squared_log_inverse_deriv)


LINKS = {
    cls.name: cls for cls in (Logit, Probit, CLogLog, Log, Identity, Inverse, Sqrt)
}
LINKS[InverseSquared.name] = InverseSquared

# statsmodels' class names for the same links, lower-cased.
_STATSMODELS_NAMES = {"inversepower": "inverse", "cloglog": "cloglog",
                      "inversesquared": "inverse_squared"}


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
