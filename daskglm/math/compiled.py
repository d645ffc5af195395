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

The first compilation of a kernel built here is timed: it is logged
(logger ``"daskglm"``) and kept in :func:`compile_seconds`.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections import namedtuple

import numba
import numpy as np
from numba import njit

__all__ = ["RowMath", "row_math", "elementwise", "row_arrays", "start_arrays",
           "timed_first_call", "compile_seconds", "DIRECT_VARIANCE"]

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
@functools.lru_cache(maxsize=None)
def row_math(family) -> RowMath:
    """The compiled row and start functions of ``family`` (cached per family;
    equal families, parameters included, share them)."""
    link = family.link.scalars
    own = family.scalars
    if family.is_canonical and own.canonical_row is not None:
        row = own.canonical_row
    else:
        row = _composed_row(link.inverse, link.inverse_deriv, link.log_inverse_deriv,
                            own.variance, own.log_variance, own.nll)
    return RowMath(row, _start_row(link.link, link.deriv, own.variance, own.start_mean))


def _composed_row(inverse, inverse_deriv, log_inverse_deriv, variance, log_variance, nll):
    @njit(nogil=True, cache=True, error_model="numpy")
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
    @njit(nogil=True, cache=True, error_model="numpy")
    def start(y):
        mu = start_mean(y)
        deta = deriv(mu)
        scaled = 1.0 / (deta * variance(mu))   # (d mu / d eta) / V
        return link(mu), scaled / deta, (y - mu) * scaled
    return start


# -- loops over arrays -----------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _unary_loop(fn):
    @njit(nogil=True, cache=True, error_model="numpy")
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


@functools.lru_cache(maxsize=None)
def _row_loop(row):
    @njit(nogil=True, cache=True, error_model="numpy")
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


@functools.lru_cache(maxsize=None)
def _start_loop(start):
    @njit(nogil=True, cache=True, error_model="numpy")
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
