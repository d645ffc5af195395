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

The classes and their parameters are statsmodels': ``Logit``, ``Probit``,
``Cauchy``, ``CLogLog``, ``LogLog`` (:mod:`.binary`, onto (0, 1));
``Log``, ``LogC``, ``NegativeBinomial(alpha)`` (:mod:`.logarithmic`);
``Power(power)`` and its special cases ``Identity``, ``Sqrt``,
``InversePower`` (alias ``Inverse``), ``InverseSquared`` (:mod:`.power`); ``CDFLink(dbn)``
(:mod:`.cdf`). :func:`get_link` takes any of them, its name, or a
statsmodels link instance.
"""

from __future__ import annotations

from .base import Link, LinkScalars
from .binary import Cauchy, CLogLog, Logit, LogLog, Probit
from .cdf import CDFLink
from .logarithmic import Log, LogC, NegativeBinomial
from .power import Identity, Inverse, InversePower, InverseSquared, Power, Sqrt

__all__ = [
    "Link",
    "LinkScalars",
    "Logit",
    "Probit",
    "Cauchy",
    "CLogLog",
    "LogLog",
    "Log",
    "LogC",
    "Identity",
    "InversePower",
    "Inverse",
    "InverseSquared",
    "Sqrt",
    "Power",
    "NegativeBinomial",
    "CDFLink",
    "LINKS",
    "get_link",
]

_CLASSES = (Logit, Probit, Cauchy, CLogLog, LogLog, Log, LogC, Identity, InversePower,
            InverseSquared, Sqrt, Power, NegativeBinomial, CDFLink)

#: Link classes by name (``Link.name``; ``"inverse"`` names ``InversePower`` too).
LINKS = {**{cls.name: cls for cls in _CLASSES}, "inverse": InversePower}

# every spelling get_link takes, without underscores: the names above and
# the class names (statsmodels' too), lower case
_SPELLINGS = {**{name.replace("_", ""): cls for name, cls in LINKS.items()},
              **{cls.__name__.lower(): cls for cls in _CLASSES}}


def get_link(link) -> Link:
    """Return a link instance from a :class:`Link`, its class, its name, or a
    statsmodels link instance (parameters included).

    Names are the links' ``name`` or class name in any case, with or without
    underscores (``"inverse_power"``, ``"InversePower"``, ``"nbinom"``,
    ``"NegativeBinomial"``); a link with parameters named by a string gets
    its default parameters.

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the known names), or a
        statsmodels link has no daskglm counterpart.
    TypeError
        For anything else.
    """
    if isinstance(link, Link):
        return link
    if isinstance(link, type) and issubclass(link, Link):
        return link()
    if isinstance(link, str):
        cls = _SPELLINGS.get(link.lower().replace("_", ""))
        if cls is None:
            raise ValueError(f"unknown link {link!r}; known links: {', '.join(sorted(LINKS))}")
        return cls()
    if type(link).__module__.startswith("statsmodels"):
        return _from_statsmodels(link)
    raise TypeError(f"link must be a daskglm link or its name, got {link!r}")


def _from_statsmodels(link) -> Link:
    """Ours for a statsmodels link: the nearest statsmodels class in its
    ancestry (statsmodels' own lower-case aliases are subclasses) with the
    instance's parameters."""
    for ancestor in type(link).__mro__:
        if not ancestor.__module__.startswith("statsmodels"):
            break
        cls = _SPELLINGS.get(ancestor.__name__.lower())
        if cls is None:
            continue
        dbn, usual = getattr(link, "dbn", None), getattr(cls, "dbn", None)
        if usual is not None and "dbn" not in cls.param_names and dbn is not usual:
            return CDFLink(dbn)     # statsmodels' Probit or Cauchy given another dbn
        return cls(**{name: getattr(link, name) for name in cls.param_names})
    raise ValueError(f"statsmodels link {type(link).__name__} has no daskglm counterpart; "
                     f"known links: {', '.join(sorted(LINKS))}")
