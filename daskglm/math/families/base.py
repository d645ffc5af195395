"""The family base class, the name registry and the domain message.

A family is a distribution with a link (statsmodels' composition). A
subclass states, as ``@njit`` scalar functions (:meth:`Family.functions`),

- ``variance(mu)``: the variance function V(mu);
- ``nll(y, eta, mu)``: the negative log-likelihood of one row up to terms
  free of ``eta`` (``inf`` where ``mu`` is outside the family's mean space),
  written with the link's log-scale helpers where they keep it finite;
- ``start_mean(y)``: the mean IRLS starts from;
- optionally ``log_variance(eta)`` (log V(mu(eta)) for the tails; default
  the plain logarithm) and ``canonical_row(y, eta) -> (nll, d nll / d eta,
  Fisher weight)``, the closed form used when the link is the canonical one;

and, in numpy (only the results need them): ``unit_deviance``,
``loglike_obs``, ``in_domain`` and ``variance_deriv``. Parameters travel
into the scalars as closure constants and are listed in ``param_names``;
equality, hashing and ``repr`` include them.

From these :func:`daskglm.math.compiled.row_math` builds the row function
``(y, eta) -> (nll, gradient, Fisher weight)`` every pass compiles, with

    d nll / d eta = (mu - y) * (d mu / d eta) / V(mu),
    Fisher weight = (d mu / d eta)^2 / V(mu),

and the family's numpy methods (``nll``, ``derivatives``,
``fisher_weights``, ``variance``, ``starting_mu``...) apply the same
compiled functions to arrays.
"""

from __future__ import annotations

import functools
import math
from collections import namedtuple

import numpy as np

from .. import links as L
from ..compiled import elementwise, jit, plugin_functions, row_arrays, row_math

__all__ = ["Family", "FamilyScalars", "FAMILIES", "register_family", "get_family",
           "domain_message"]

FamilyScalars = namedtuple("FamilyScalars", [
    "variance", "log_variance", "nll", "start_mean", "canonical_row",
])

_jit = jit


class Family:
    """Base class: a distribution with a link; subclasses give its math.

    Parameters
    ----------
    link : Link, str or None
        The link; ``None`` takes the family's canonical link. It must be one
        of the family's ``allowed_links``.
    """

    name = "family"
    canonical_link: type[L.Link] | None = L.Identity
    #: The link ``link=None`` takes when it is not the canonical one (statsmodels'
    #: negative binomial defaults to the log link); None: the canonical link.
    default_link: type[L.Link] | None = None
    allowed_links: tuple = ()
    estimates_scale = False
    domain_text = "finite"
    #: Names of the constructor's keyword parameters (besides ``link``).
    param_names: tuple = ()
    #: Whether a model may give the response as (successes, failures) columns,
    #: fitted as proportions of ``n_trials`` (then ``loglike_obs`` takes ``n_trials=``).
    takes_trials = False
    #: False where saga's step-size rule (the curvature d^2 nll / d eta^2
    #: bounded through the Fisher weights, every finite eta inside the mean
    #: space) does not hold for the family; saga then refuses it.
    supports_incremental = True

    def __init__(self, link=None):
        link = self._default_link_class()() if link is None else L.get_link(link)
        if not isinstance(link, self.allowed_links):
            allowed = ", ".join(cls.name for cls in self.allowed_links)
            raise ValueError(
                f"link {link.name!r} is not allowed for the {self.name} family; "
                f"allowed links: {allowed}"
            )
        self.link = link

    # -- what each family states ------------------------------------------
    def functions(self) -> dict:
        """The family's ``@njit`` scalar functions, by name (see the module notes)."""
        raise NotImplementedError

    @property
    def convex(self) -> bool:
        """Whether nll is convex in eta on the mean space (so the objective is
        convex in the coefficients where it is finite). Where it is not, a
        point where the gradient vanishes need not be the optimum: the
        first-order solvers start such fits from the IRLS point (as newton
        does) and take their gradient test of a step (which proves a
        decrease for convex objectives only) where the objective did not
        rise either. True unless the family says otherwise."""
        return True

    @property
    def curvature_bound(self) -> float:
        """sup over eta of d^2 nll / d eta^2 for this link (``inf`` if unbounded)."""
        return math.inf

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

    def loglike_at_scale(self, loglike_unit_scale, deviance, sum_freq_weights, scale, *,
                         var_weights):
        """The summed log-likelihood at ``scale`` from its value at scale 1, the
        (weighted) deviance and the sum of the frequency weights, where these
        determine it; None where they do not (the results then make a pass).
        ``var_weights`` says whether the rows carry variance weights."""
        return None

    # -- identity ------------------------------------------------------------
    @property
    def params(self) -> tuple:
        """The family's parameter values, in ``param_names`` order."""
        return tuple(getattr(self, name) for name in self.param_names)

    @property
    def closed_form_row(self):
        """A closed-form row ``(y, eta) -> (nll, d1, fisher)`` (an njit function)
        for a non-canonical (family, link) pair where one beats the composed
        row, else None."""
        return None

    @property
    def is_canonical(self) -> bool:
        return self.canonical_link is not None and self.link == self.canonical_link()

    @property
    def is_default_link(self) -> bool:
        """Whether the link is the one ``link=None`` takes."""
        return self.link == self._default_link_class()()

    def _default_link_class(self) -> type[L.Link]:
        link_class = self.default_link or self.canonical_link
        if link_class is None:
            raise TypeError(f"{type(self).__name__} states neither a default nor a canonical link")
        return link_class

    # -- a parameter estimated with the coefficients ----------------------------
    #: The name of a family parameter the model estimates jointly with the
    #: coefficients by maximum likelihood (None: every parameter is fixed).
    #: A family that sets it gives :meth:`parameter_row` and
    #: :meth:`with_parameter`, and keeps its fixed-parameter methods for the
    #: family :meth:`with_parameter` returns.
    @property
    def estimated_parameter(self) -> str | None:
        return None

    def parameter_row(self):
        """An ``@njit`` row ``(y, eta, theta) -> (nll, d/deta, d2/deta2, d/dtheta,
        d2/dtheta2, d2/deta dtheta)`` of the full negative log-likelihood (every
        constant included, observed second derivatives), ``theta`` the log of
        the estimated parameter."""
        raise NotImplementedError(f"{self!r} estimates no parameter")

    def with_parameter(self, value):
        """The same family with its estimated parameter fixed at ``value``."""
        raise NotImplementedError(f"{self!r} estimates no parameter")

    def with_link(self, link):
        """The same family, parameters included, with another link."""
        return type(self)(link=link, **dict(zip(self.param_names, self.params)))

    def __repr__(self):
        args = [f"{name}={value!r}" for name, value in zip(self.param_names, self.params)]
        if not self.is_default_link:
            args.insert(0, f"link={self.link!r}")
        return f"{type(self).__name__}({', '.join(args)})"

    def __eq__(self, other):
        return (type(self) is type(other) and self.link == other.link
                and self.params == other.params)

    def __hash__(self):
        return hash((type(self), self.link, self.params))

    # -- compiled math -------------------------------------------------------------
    @property
    def scalars(self) -> FamilyScalars:
        """The family's compiled scalar functions, defaults filled in (once per family)."""
        return _family_scalars(self)

    @property
    def row_math(self):
        """The compiled row and start functions (:func:`daskglm.math.compiled.row_math`)."""
        return row_math(self)

    # -- numpy methods, from the compiled ones -----------------------------------
    def mean(self, eta):
        """The mean ``mu = g^{-1}(eta)``."""
        return self.link.inverse(eta)

    def variance(self, mu):
        """The variance function V(mu)."""
        return elementwise(self.scalars.variance, mu)

    def starting_mu(self, y):
        """A mean to start IRLS from, computed from ``y`` alone (row by row)."""
        return elementwise(self.scalars.start_mean, y)

    def nll(self, y, eta):
        """Per-row negative log-likelihood, up to terms free of ``eta``.

        Rows whose ``eta`` maps outside the family's mean space give ``inf``.
        """
        return row_arrays(self, y, eta)[0]

    def gradient(self, y, eta):
        """d nll / d eta, per row."""
        return row_arrays(self, y, eta)[1]

    def fisher_weights(self, eta):
        """IRLS weights (d mu / d eta)^2 / V(mu), per row (expected information)."""
        return row_arrays(self, self.mean(eta), eta)[2]

    def derivatives(self, y, eta, *, hessian=True):
        """Per-row ``(nll, d nll / d eta, Fisher weight)`` in one call.

        The weight is ``None`` when ``hessian`` is False.
        """
        nll, grad, weight = row_arrays(self, y, eta)
        return nll, grad, weight if hessian else None

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


_REQUIRED = ("variance", "nll", "start_mean")


@functools.cache
def _family_scalars(family) -> FamilyScalars:
    functions = plugin_functions(family, _REQUIRED)
    functions.setdefault("canonical_row", None)
    functions.setdefault("log_variance",
                         _plain_log_variance(functions["variance"], family.link.scalars.inverse))
    return FamilyScalars(**functions)


def _plain_log_variance(variance, inverse):
    @_jit
    def log_variance(eta):
        return math.log(variance(inverse(eta)))
    return log_variance


def domain_message(family, name, n_bad, first_rows) -> str:
    """The one wording for a response outside a family's domain."""
    rows = ", ".join(str(int(i)) for i in first_rows)
    return (
        f"{name} has {n_bad} value(s) outside the {family.name} family's domain "
        f"({family.domain_text}); first offending rows: {rows}"
    )


#: Family classes by lower-case name (filled by :func:`register_family`).
FAMILIES: dict = {}


def register_family(*names):
    """Class decorator: make a family class known under ``names`` (lower case)."""
    def register(cls):
        for name in names:
            FAMILIES[name.lower()] = cls
        return cls
    return register


def get_family(family, link=None) -> Family:
    """Return a family instance from one of ours, its class, its name, or a
    statsmodels family instance (converted, link and parameters included).

    Raises
    ------
    ValueError
        For an unknown name or a statsmodels family daskglm does not have;
        the message lists the supported families.
    """
    if isinstance(family, Family):
        return family if link is None else family.with_link(link)
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
        cls = FAMILIES[key]
        params = {name: getattr(family, name) for name in cls.param_names
                  if hasattr(family, name)}       # statsmodels' parameter names are ours
        return cls(link=family.link if link is None else link, **params)
    raise TypeError(f"family must be a daskglm family or its name, got {family!r}")
