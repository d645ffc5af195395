"""Power links, eta = mu^p: statsmodels' ``Power(power)`` and its named
special cases ``Identity`` (p = 1), ``Sqrt`` (p = 1/2), ``InversePower``
(p = -1) and ``InverseSquared`` (p = -2), which are subclasses of
:class:`Power` as in statsmodels (a family that allows ``Power`` allows them
too; one that allows only ``Identity`` refuses ``Power(1.0)``, as
statsmodels does). ``Inverse`` is
another name of ``InversePower``.

A ``Power`` with one of the special powers computes with that link's
closed forms, as statsmodels' ``Power`` special-cases p = 1.
"""

from __future__ import annotations

import functools
import math

from ..compiled import jit
from .base import Link, real_parameter

__all__ = ["Power", "Identity", "Sqrt", "InversePower", "Inverse", "InverseSquared"]

_jit = jit


# -- any power ---------------------------------------------------------------------------
@functools.cache
def _power_functions(power):
    """The scalars of eta = mu^p as closures over p. With q = 1/p the mean is
    eta^q, defined for eta > 0 (and for eta < 0 where q is an integer, as
    numpy's power); the logarithms take q log(eta) where eta > 0, so they
    stay finite where eta^q overflows or underflows."""
    q = 1.0 / power
    log_q = math.log(abs(q))

    @_jit
    def link(mu):
        return math.pow(mu, power) if mu >= 0.0 else math.nan

    @_jit
    def deriv(mu):
        return power * math.pow(mu, power - 1.0)

    @_jit
    def inverse(eta):
        return math.pow(eta, q)

    @_jit
    def inverse_deriv(eta):
        return q * math.pow(eta, q - 1.0)

    @_jit
    def inverse_deriv2(eta):
        return q * (q - 1.0) * math.pow(eta, q - 2.0)

    @_jit
    def log_inverse(eta):
        if eta > 0.0:
            return q * math.log(eta)
        mu = math.pow(eta, q)
        return math.log(mu) if mu > 0.0 else (-math.inf if mu == 0.0 else math.nan)

    @_jit
    def log_inverse_deriv(eta):
        if eta > 0.0:
            return log_q + (q - 1.0) * math.log(eta)
        slope = abs(q * math.pow(eta, q - 1.0))
        return math.log(slope) if slope > 0.0 else -math.inf

    return dict(link=link, deriv=deriv, inverse=inverse, inverse_deriv=inverse_deriv,
                inverse_deriv2=inverse_deriv2, log_inverse=log_inverse,
                log_inverse_deriv=log_inverse_deriv)


class Power(Link):
    """Power link, eta = mu^power (statsmodels' ``Power(power=1.0)``).

    Parameters
    ----------
    power : float, default 1.0
        The exponent; finite and nonzero (the log link is the limit as the
        power goes to 0: use :class:`~daskglm.links.Log`).
    """

    name = "power"
    param_names: tuple = ("power",)

    def __init__(self, power=1.0):
        power = real_parameter(power, "power", "Power link")
        if power == 0.0:
            raise ValueError("Power link: power must be nonzero (the limit power -> 0 is "
                             "the log link, links.Log)")
        self.power = power

    def functions(self):
        special = _SPECIAL_POWERS.get(self.power)
        return special().functions() if special is not None else _power_functions(self.power)


# -- identity ------------------------------------------------------------------------
@_jit
def _same(eta):
    return eta


@_jit
def _one(x):
    return 1.0


@_jit
def _zero(x):
    return 0.0


class Identity(Power):
    """Identity link, eta = mu (``Power(1)``); canonical for the normal family."""

    name = "identity"
    power = 1.0
    param_names = ()

    def __init__(self):
        pass

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


class InversePower(Power):
    """Inverse (reciprocal) link, eta = 1 / mu (``Power(-1)``); also named ``Inverse``."""

    name = "inverse_power"
    power = -1.0
    param_names = ()

    def __init__(self):
        pass

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


class Sqrt(Power):
    """Square-root link, eta = sqrt(mu) (``Power(0.5)``)."""

    name = "sqrt"
    power = 0.5
    param_names = ()

    def __init__(self):
        pass

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


class InverseSquared(Power):
    """Inverse squared link, eta = 1 / mu^2 (``Power(-2)``); the inverse
    Gaussian family's canonical link.

    The mean ``mu = eta^(-1/2)`` exists for ``eta > 0`` only; elsewhere the
    inverse and its derivatives are NaN (a family's ``nll`` is then ``inf``).
    """

    name = "inverse_squared"
    power = -2.0
    param_names = ()

    def __init__(self):
        pass

    def functions(self):
        return dict(link=_inverse_squared_link, deriv=_inverse_squared_deriv,
                    inverse=_inverse_squared_inverse,
                    inverse_deriv=_inverse_squared_inverse_deriv,
                    inverse_deriv2=_inverse_squared_inverse_deriv2,
                    log_inverse=_inverse_squared_log_inverse,
                    log_inverse_deriv=_inverse_squared_log_inverse_deriv)


Inverse = InversePower

#: The powers with a named link of their own, whose closed forms ``Power`` uses.
_SPECIAL_POWERS = {1.0: Identity, 0.5: Sqrt, -1.0: InversePower, -2.0: InverseSquared}
