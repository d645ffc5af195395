"""``CDFLink(dbn)``: the link whose inverse is the CDF of a continuous
scipy.stats distribution, eta = F^{-1}(mu) (statsmodels' ``CDFLink``).

Numba cannot call scipy, so there are two ways to the scalars:

- the standard normal, logistic, Cauchy and the two Gumbel distributions,
  and any location-scale version of them (``scipy.stats.norm(loc, scale)``),
  take the closed forms of :class:`Probit`, :class:`Logit`,
  :class:`Cauchy`, :class:`CLogLog` (``gumbel_l``) and :class:`LogLog`
  (``gumbel_r``), with their accurate tails: as fast as those links;
- any other distribution (``scipy.stats.t(3)``, ``scipy.stats.laplace``, a
  user's ``rv_continuous``) is called through ``numba.objmode``: every row
  calls scipy's ``cdf``, ``pdf``, ``logcdf``, ``logsf``, ``logpdf`` or
  ``ppf`` on one float, holding the GIL. That is scipy's cost per scalar
  call, 30 us to 0.5 ms (frozen ``t(4)``: a binomial row, two or more
  calls, took 0.8 ms on a loaded machine, against 0.05 us compiled; a
  20,000-row fit 105 s against 0.2 s): fine for thousands of rows, not for
  millions. ``d^2 mu / d eta^2`` is then a central difference of the
  density, as in statsmodels. :attr:`CDFLink.compiled` says which way a
  link takes.

A distribution of scipy.stats (frozen with real-number arguments or not) is
also named by a string, ``"norm"`` or ``"t(3, scale=2.0)"``: that string is
the link's parameter, so equal distributions give equal links and a fit
with the link can be saved and loaded.
"""

from __future__ import annotations

import ast
import functools
import math
import numbers

import numba
import scipy.stats

from ..compiled import jit
from .base import Link
from .binary import Cauchy, CLogLog, Logit, LogLog, Probit

__all__ = ["CDFLink"]

#: scipy.stats distributions whose CDF is a compiled link here.
_COMPILED = {"norm": Probit, "logistic": Logit, "cauchy": Cauchy, "gumbel_l": CLogLog,
             "gumbel_r": LogLog}


class CDFLink(Link):
    """Link with inverse the CDF of a continuous distribution: eta = F^{-1}(mu).

    Parameters
    ----------
    dbn : scipy.stats continuous distribution or str, default scipy.stats.norm
        A distribution without shape parameters (``scipy.stats.laplace``), a
        frozen one (``scipy.stats.t(3)``, ``scipy.stats.norm(0, 2)``), or the
        name of a scipy.stats distribution with its arguments as a string
        (``"t(3)"``).

    Notes
    -----
    See the module notes for which distributions are compiled and what the
    others cost per row.
    """

    name = "cdflink"
    param_names = ("dbn",)

    def __init__(self, dbn=scipy.stats.norm):
        self.dbn, self._spec = _distribution(dbn)

    @property
    def params(self) -> tuple:
        """The distribution's name and arguments (``"t(3)"``), or the
        distribution object itself when it is not one of scipy.stats'."""
        return (self._spec if self._spec is not None else self.dbn,)

    @property
    def compiled(self) -> bool:
        """True when the scalars are closed forms, False when each row calls scipy."""
        return _standard_form(self.dbn, self._spec) is not None

    def functions(self):
        standard = _standard_form(self.dbn, self._spec)
        if standard is None:
            return _through_scipy(_register(self.dbn, self._spec))
        link_class, loc, scale = standard
        if (loc, scale) == (0.0, 1.0):
            return link_class().functions()
        return _location_scale(link_class, loc, scale)


# -- what dbn may be -------------------------------------------------------------------
def _distribution(dbn):
    """``(distribution, spec)``: the scipy object and its string name (None
    for a distribution that is not scipy.stats' own)."""
    if isinstance(dbn, str):
        name, args, kwds = _parse_spec(dbn)
        base = getattr(scipy.stats, name, None)
        if not isinstance(base, scipy.stats.rv_continuous):
            raise ValueError(f"CDFLink: dbn {dbn!r} does not name a continuous scipy.stats "
                             "distribution")
        dbn = base(*args, **kwds) if args or kwds else base
    base = dbn.dist if isinstance(getattr(dbn, "dist", None), scipy.stats.rv_continuous) \
        else dbn
    if not isinstance(base, scipy.stats.rv_continuous):
        raise TypeError("CDFLink: dbn must be a continuous scipy.stats distribution (frozen "
                        f"or not) or its name, got {dbn!r}")
    if base is dbn and base.numargs:
        raise ValueError(f"CDFLink: the {base.name} distribution needs its shape parameters "
                         f"({base.shapes}); pass it frozen, e.g. scipy.stats.{base.name}(...)")
    median = float(dbn.ppf(0.5))
    if not math.isfinite(median):
        raise ValueError(f"CDFLink: dbn {dbn!r} has invalid parameters (its median is {median})")
    return dbn, _spec_of(dbn, base)


def _parse_spec(text):
    """``"t(3, scale=2.0)"`` -> ``("t", (3,), {"scale": 2.0})``; literals only."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
        if isinstance(node, ast.Name):
            return node.id, (), {}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and all(keyword.arg for keyword in node.keywords):
            return (node.func.id, tuple(ast.literal_eval(arg) for arg in node.args),
                    {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords})
    except (SyntaxError, ValueError):
        pass
    raise ValueError(f"CDFLink: dbn {text!r} is not a distribution's name, optionally with "
                     "number arguments, such as 'laplace' or 't(3, scale=2.0)'")


def _spec_of(dbn, base):
    """The string naming ``dbn`` (None unless scipy.stats' own, with real arguments)."""
    public = getattr(scipy.stats, base.name, None)
    # (a frozen distribution holds a copy of scipy's instance, not the instance)
    if public is None or type(public) is not type(base) \
            or (public.a, public.b) != (base.a, base.b):
        return None
    if dbn is base:
        return base.name
    names = [*(base.shapes.split(", ") if base.shapes else ()), "loc", "scale"]
    if len(dbn.args) > len(names):
        return None
    named = {**dict(zip(names, dbn.args)), **dbn.kwds}
    if not all(isinstance(value, numbers.Real) and not isinstance(value, bool)
               for value in named.values()):
        return None
    defaults = {"loc": 0.0, "scale": 1.0}
    # one spelling for equal distributions: every argument by keyword, in
    # scipy's order, the default location and scale left out
    args = [f"{name}={float(named[name])!r}" for name in names
            if name in named and float(named[name]) != defaults.get(name)]
    return f"{base.name}({', '.join(args)})" if args else base.name


def _standard_form(dbn, spec):
    """``(link class, loc, scale)`` when ``dbn`` is a location-scale version
    of a distribution with a compiled link, else None."""
    base = getattr(dbn, "dist", dbn)
    if spec is None or base.name not in _COMPILED:
        return None
    args, kwds = (getattr(dbn, "args", ()), getattr(dbn, "kwds", {}))
    named = dict(zip(("loc", "scale"), args))
    if len(args) > 2 or set(kwds) - {"loc", "scale"} or set(named) & set(kwds):
        return None
    named.update(kwds)
    return _COMPILED[base.name], float(named.get("loc", 0.0)), float(named.get("scale", 1.0))


# -- the compiled forms: a standard link, shifted and scaled --------------------------
@functools.cache
def _location_scale(link_class, loc, scale):
    """``link_class``'s scalars for F((eta - loc) / scale)."""
    standard = link_class().scalars
    (base_link, base_deriv, base_inverse, base_inverse_deriv, base_inverse_deriv2,
     base_log_inverse, base_log1m_inverse, base_log_inverse_deriv) = standard
    log_scale = math.log(scale)

    @jit
    def link(mu):
        return loc + scale * base_link(mu)

    @jit
    def deriv(mu):
        return scale * base_deriv(mu)

    @jit
    def inverse(eta):
        return base_inverse((eta - loc) / scale)

    @jit
    def inverse_deriv(eta):
        return base_inverse_deriv((eta - loc) / scale) / scale

    @jit
    def inverse_deriv2(eta):
        return base_inverse_deriv2((eta - loc) / scale) / (scale * scale)

    @jit
    def log_inverse(eta):
        return base_log_inverse((eta - loc) / scale)

    @jit
    def log1m_inverse(eta):
        return base_log1m_inverse((eta - loc) / scale)

    @jit
    def log_inverse_deriv(eta):
        return base_log_inverse_deriv((eta - loc) / scale) - log_scale

    return dict(link=link, deriv=deriv, inverse=inverse, inverse_deriv=inverse_deriv,
                inverse_deriv2=inverse_deriv2, log_inverse=log_inverse,
                log1m_inverse=log1m_inverse, log_inverse_deriv=log_inverse_deriv)


# -- any other distribution: scipy through numba's object mode --------------------------
#: The distributions the object-mode scalars call, by key (kept alive here,
#: so a key built from an object's id is never reused by another object).
_DISTRIBUTIONS: dict = {}

#: scalar name -> what it evaluates (a scipy method, or one of the two below)
_METHODS = {"link": "ppf", "deriv": "link_deriv", "inverse": "cdf", "inverse_deriv": "pdf",
            "inverse_deriv2": "pdf_deriv", "log_inverse": "logcdf", "log1m_inverse": "logsf",
            "log_inverse_deriv": "logpdf"}


def _register(dbn, spec) -> str:
    key = spec if spec is not None else f"{type(dbn).__qualname__} at {id(dbn):#x}"
    _DISTRIBUTIONS.setdefault(key, dbn)
    return key


def evaluate(key, method, x) -> float:
    """``method`` of the registered distribution ``key`` at the float ``x``
    (called from compiled code, in object mode)."""
    dbn = _DISTRIBUTIONS[key]
    if method == "link_deriv":
        return 1.0 / float(dbn.pdf(dbn.ppf(x)))
    if method == "pdf_deriv":
        step = 1e-5 * max(1.0, abs(x))
        return float(dbn.pdf(x + step) - dbn.pdf(x - step)) / (2.0 * step)
    return float(getattr(dbn, method)(x))


@functools.cache
def _through_scipy(key):
    return {name: _object_mode_scalar(key, method) for name, method in _METHODS.items()}


def _object_mode_scalar(key, method):
    # nogil=False: object mode holds the GIL anyway (numba warns otherwise)
    @functools.partial(jit, nogil=False)
    def scalar(x):
        with numba.objmode(value="float64"):
            value = evaluate(key, method, x)
        return value
    return scalar
