"""The link base class: a link is its ``@njit`` scalar functions.

A subclass returns them from :meth:`Link.functions`; the compiled passes
take them from :attr:`Link.scalars` (defaults filled in) and the numpy
methods of the same names apply them to arrays.
"""

from __future__ import annotations

import functools
import math
from collections import namedtuple

from ..compiled import elementwise, jit, plugin_functions

__all__ = ["Link", "LinkScalars", "real_parameter"]

LinkScalars = namedtuple("LinkScalars", [
    "link", "deriv", "inverse", "inverse_deriv", "inverse_deriv2",
    "log_inverse", "log1m_inverse", "log_inverse_deriv",
])

_REQUIRED = ("link", "deriv", "inverse", "inverse_deriv", "inverse_deriv2")


class Link:
    """Base class of link functions.

    A subclass sets ``name`` and returns its ``@njit`` scalar functions from
    :meth:`functions` (a dict with at least ``link``, ``deriv``,
    ``inverse``, ``inverse_deriv`` and ``inverse_deriv2``; the log-scale
    helpers where the plain logarithm loses precision). Everything else,
    the numpy methods included, follows from them.
    """

    name = "link"
    #: Names of the constructor's keyword parameters; each is also an
    #: attribute holding the value the link was built with.
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
        """eta = g(mu)."""
        return elementwise(self.scalars.link, mu)

    def inverse(self, eta):
        """mu = g^{-1}(eta)."""
        return elementwise(self.scalars.inverse, eta)

    def deriv(self, mu):
        """d eta / d mu."""
        return elementwise(self.scalars.deriv, mu)

    def deriv2(self, mu):
        """d^2 eta / d mu^2, from the inverse's derivatives at eta = g(mu):
        -(d^2 mu / d eta^2) (d eta / d mu)^3."""
        slope = self.deriv(mu)
        return -self.inverse_deriv2(self.link(mu)) * slope * slope * slope

    def inverse_deriv(self, eta):
        """d mu / d eta."""
        return elementwise(self.scalars.inverse_deriv, eta)

    def inverse_deriv2(self, eta):
        """d^2 mu / d eta^2."""
        return elementwise(self.scalars.inverse_deriv2, eta)

    def log_inverse(self, eta):
        """log(mu), accurate where mu underflows."""
        return elementwise(self.scalars.log_inverse, eta)

    def log1m_inverse(self, eta):
        """log(1 - mu), accurate where mu is near 1."""
        return elementwise(self.scalars.log1m_inverse, eta)

    def log_inverse_deriv(self, eta):
        """``log |d mu / d eta|``, accurate where the derivative underflows."""
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
    @jit
    def log_fn(x):
        value = fn(x)
        return math.log(value) if value > 0.0 else (-math.inf if value == 0.0 else math.nan)
    return log_fn


def _plain_log1m(fn):
    @jit
    def log1m_fn(x):
        value = fn(x)
        return math.log1p(-value) if value < 1.0 else (-math.inf if value == 1.0 else math.nan)
    return log1m_fn


def _plain_log_abs(fn):
    @jit
    def log_abs_fn(x):
        value = abs(fn(x))
        return math.log(value) if value > 0.0 else -math.inf
    return log_abs_fn


def real_parameter(value, name, owner, *, positive=False) -> float:
    """``value`` as a finite float (positive if asked), or a ValueError
    naming the parameter and the link (``owner``) it belongs to."""
    if isinstance(value, bool) or not isinstance(value, int | float) and not hasattr(
            value, "__float__"):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or (positive and number <= 0.0):
        kind = "a positive finite" if positive else "a finite"
        raise ValueError(f"{owner}: {name} must be {kind} number, got {value!r}")
    return number
