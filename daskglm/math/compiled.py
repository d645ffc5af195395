"""Compiled row math: from a family's and its link's numba scalars to the
per-row function every fast path uses, and small loops that apply such
scalars over arrays.

A link hands over ``@njit`` scalar functions (:attr:`Link.scalars
<daskglm.math.links.Link.scalars>`), a family its own
(:attr:`Family.scalars <daskglm.math.families.Family.scalars>`). From them
:func:`row_math` builds, once per (family, link) and process,

- ``row(y, eta) -> (nll, d nll / d eta, Fisher weight)``, and
- ``start(y) -> (eta, Fisher weight, Fisher weight * (z - eta))`` at the
  family's starting mean, ``z`` IRLS's working response,

which the fused pass, the IRLS start, ADMM's local solves, SAGA and the
family's own numpy methods all call. Nothing here knows which family it is.
The row is the family's ``canonical_row`` under the canonical link; else a
family may give a closed form for its present link as a
``closed_form_row`` attribute (an njit row function, or None), as the
binomial family does for probit; else it is composed from the scalars.

The first compilation of a kernel built here is timed: it is logged
(logger ``"daskglm"``) and kept in :func:`compile_seconds`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import threading
import time
from collections import namedtuple

import numba
import numpy as np
from numba import njit
from numba.core.dispatcher import Dispatcher

__all__ = ["jit", "plugin_functions", "RowMath", "row_math", "elementwise", "row_arrays",
           "start_arrays", "timed_first_call", "compile_seconds", "DIRECT_VARIANCE"]

logger = logging.getLogger("daskglm")

#: Below this variance the gradient and Fisher weight are computed on the log
#: scale (``exp(log |dmu| - log V)``): where ``V(mu)`` is this small it may
#: have lost its relative precision (``1 - mu`` near ``mu = 1``) or underflow,
#: while its logarithm, from the link's log helpers, has not.
DIRECT_VARIANCE = 1e-6

RowMath = namedtuple("RowMath", ["row", "start"])
RowMath.__doc__ = """The compiled per-row functions of one (family, link).

row : njit function ``(y, eta) -> (nll, d nll / d eta, Fisher weight)``
start : njit function ``(y) -> (eta, Fisher weight, Fisher weight * (z - eta))``
"""


# -- numba functions that numba's cache finds again in the next process ---------
def jit(fn=None, **options):
    """``numba.njit(nogil=True, cache=True, error_model="numpy", **options)``,
    with an identity that is the same in every process.

    Numba keys the on-disk cache of a closure by the pickle of its closure
    cells, and a compiled function pickles with a random per-process id: a
    kernel built around a family's row function would never be found again
    (and the cache would grow with every process). Functions made here get
    an id from what defines them instead: their module's file (path, size,
    modification time), name and bytecode, and the ids of the compiled
    functions they close over, so an edit anywhere in their module, or in
    what they close over, makes a new cache entry and nothing else does.
    A closure also gets a cache file of its own. Plug-in families and links
    may use it for their scalars too.
    """
    if fn is None:
        return lambda f: jit(f, **options)
    settings = {"nogil": True, "cache": True, "error_model": "numpy", **options}
    identity = _stable_id(fn, settings)
    if fn.__closure__:
        # one cache index file per closure (numba names it by the qualified
        # name): numba adds an entry to an index by read-modify-write, so two
        # processes compiling different families' kernels at once could
        # cross-wire entries of a shared index and serve one family's code
        # for another's
        fn.__qualname__ = f"{fn.__qualname__}_{identity[-16:]}"
    dispatcher = njit(**settings)(fn)
    dispatcher._set_uuid(identity)
    dispatcher._daskglm_id = identity
    return dispatcher


def _stable_id(fn, settings) -> str:
    code = fn.__code__
    parts = [fn.__module__, fn.__qualname__, _file_stamp(code.co_filename), code.co_code,
             repr(code.co_consts), repr(code.co_names), repr(sorted(settings.items()))]
    for cell in fn.__closure__ or ():
        value = cell.cell_contents
        if isinstance(value, Dispatcher):
            # a function compiled elsewhere has no stable identity: this one
            # then differs from process to process too (compiled each time)
            parts.append(getattr(value, "_daskglm_id", None) or f"process-local {id(value)}")
        else:
            parts.append(repr(value))
    return "daskglm-" + hashlib.sha256(repr(parts).encode()).hexdigest()


@functools.cache
def _file_stamp(path):
    try:
        status = os.stat(path)
    except OSError:
        return path
    return path, status.st_size, status.st_mtime_ns


# -- compile time ------------------------------------------------------------
_COMPILE_LOCK = threading.Lock()
_COMPILE_SECONDS: dict = {}


def timed_first_call(label, dispatcher, *args):
    """Call ``dispatcher(*args)``, compiling it first, timed, if it has no
    compiled version yet (numba's on-disk cache makes that a load after the
    first process). The seconds are logged and kept under ``label``."""
    if not dispatcher.signatures:
        with _COMPILE_LOCK:
            if not dispatcher.signatures:
                signature = tuple(numba.typeof(arg) for arg in args)
                start = time.perf_counter()
                dispatcher.compile(signature)
                seconds = time.perf_counter() - start
                _COMPILE_SECONDS[label] = _COMPILE_SECONDS.get(label, 0.0) + seconds
                logger.info("compiled %s in %.2f s", label, seconds)
    return dispatcher(*args)


def compile_seconds() -> dict:
    """Seconds spent compiling (or loading from numba's cache) each kernel
    built from row math in this process, by ``"<kernel> for <family>"``."""
    with _COMPILE_LOCK:
        return dict(_COMPILE_SECONDS)


# -- the builder -----------------------------------------------------------------
@functools.cache
def row_math(family) -> RowMath:
    """The compiled row and start functions of ``family`` (cached per family;
    equal families, parameters included, share them)."""
    link = family.link.scalars
    own = family.scalars
    closed_form = family.closed_form_row
    if family.is_canonical and own.canonical_row is not None:
        row = own.canonical_row
    elif closed_form is not None:
        row = closed_form
    else:
        row = _composed_row(link.inverse, link.inverse_deriv, link.log_inverse_deriv,
                            own.variance, own.log_variance, own.nll)
    return RowMath(row, _start_row(link.link, link.deriv, own.variance, own.start_mean))


def _composed_row(inverse, inverse_deriv, log_inverse_deriv, variance, log_variance, nll):
    @jit
    def row(y, eta):
        mu = inverse(eta)
        value = nll(y, eta, mu)
        dmu = inverse_deriv(eta)
        var = variance(mu)
        if DIRECT_VARIANCE <= var < math.inf:
            ratio = dmu / var
            return value, (mu - y) * ratio, dmu * ratio
        # the tails: |dmu| / V and dmu^2 / V from logarithms; where both
        # logarithms are infinite alike (both quantities beyond double range),
        # their ratio is taken as 1
        log_dmu = log_inverse_deriv(eta)
        log_ratio = log_dmu - log_variance(eta)
        ratio = math.exp(log_ratio) if log_ratio == log_ratio else 1.0
        log_fisher = log_dmu + log_ratio
        fisher = math.exp(log_fisher) if log_fisher == log_fisher else ratio * math.exp(log_dmu)
        if dmu < 0.0:
            ratio = -ratio
        return value, (mu - y) * ratio, fisher
    return row


def _start_row(link, deriv, variance, start_mean):
    @jit
    def start(y):
        mu = start_mean(y)
        deta = deriv(mu)
        scaled = 1.0 / (deta * variance(mu))   # (d mu / d eta) / V
        return link(mu), scaled / deta, (y - mu) * scaled
    return start


# -- loops over arrays -----------------------------------------------------------
@functools.cache
def _unary_loop(fn):
    @jit
    def loop(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
    return loop


def elementwise(fn, x):
    """``fn`` (an njit scalar function) applied to every element of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    timed_first_call(f"elementwise {getattr(fn, '__qualname__', fn)}", _unary_loop(fn),
                     flat, out)
    return out.reshape(x.shape)[()]


@functools.cache
def _row_loop(row):
    @jit
    def loop(y, eta, nll, d1, fisher):
        for i in range(eta.shape[0]):
            nll[i], d1[i], fisher[i] = row(y[i], eta[i])
    return loop


def row_arrays(family, y, eta):
    """``(nll, d nll / d eta, Fisher weight)`` of ``family``'s row math over
    arrays (``y`` and ``eta`` broadcast together)."""
    y, eta = np.broadcast_arrays(np.asarray(y, dtype=np.float64),
                                 np.asarray(eta, dtype=np.float64))
    shape = eta.shape
    y = np.ascontiguousarray(y).reshape(-1)
    eta = np.ascontiguousarray(eta).reshape(-1)
    out = [np.empty_like(eta) for _ in range(3)]
    timed_first_call(f"row loop for {family!r}", _row_loop(row_math(family).row), y, eta, *out)
    return tuple(part.reshape(shape)[()] for part in out)


@functools.cache
def _start_loop(start):
    @jit
    def loop(y, eta, fisher, moment):
        for i in range(y.shape[0]):
            eta[i], fisher[i], moment[i] = start(y[i])
    return loop


def start_arrays(family, y):
    """``(eta, Fisher weight, Fisher weight * (z - eta))`` at the family's
    starting mean, for every element of ``y``."""
    y = np.ascontiguousarray(y, dtype=np.float64).reshape(-1)
    out = [np.empty_like(y) for _ in range(3)]
    timed_first_call(f"start loop for {family!r}", _start_loop(row_math(family).start), y, *out)
    return tuple(out)


def plugin_functions(owner, required) -> dict:
    """``owner.functions()`` (a link's or a family's compiled scalars) as a
    dict, refusing a plug-in that lacks one of the ``required`` names."""
    functions = dict(owner.functions())
    missing = [name for name in required if name not in functions]
    if missing:
        raise TypeError(f"{owner!r}.functions() lacks {', '.join(missing)}")
    return functions
