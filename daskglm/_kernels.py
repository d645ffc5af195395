"""Numba kernels for the dense work of one chunk in a pass.

Two things dominate a Newton pass over a dense chunk: the weighted Gram
matrix ``X' diag(h) X`` and, for the three canonical families, the row math
between ``eta = X b`` and the gradient. Both run here in one sweep over
cache-sized blocks of rows, without the GIL:

- a block of rows is copied transposed (each column contiguous), so the
  linear predictor, the gradient and the Gram matrix are long contiguous dot
  products that vectorise;
- the Gram matrix is accumulated in 4 x 2 register tiles of its upper
  triangle, then mirrored.

OpenBLAS's ``syrk`` on thin blocks does not run in parallel from two dask
worker threads on this kind of machine (two threads took as long as one);
these loops do, which halves a pass on two cores
(``benchmarks/results/pass_profile.md``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["weighted_gram", "gram_and_moment", "canonical_pass", "column_checks",
           "KERNEL_CODES"]

#: Families whose canonical-link row math has a kernel here.
KERNEL_CODES = {"logistic": 0, "poisson": 1, "normal": 2}

# Rows per block: the transposed block and its weighted copy (2 x 8 p KiB at
# 256 rows) stay in the L1/L2 caches.
_BLOCK = 256
_PAD = 8  # extra row stride: a power-of-two stride makes the columns alias in cache

_EMPTY = np.empty(0)  # stands for an absent offset, weight or moment vector

# A Fisher weight below this is a fitted mean numerically on the boundary.
BOUNDARY_WEIGHT = 10 * np.finfo(float).eps

# Reassociation lets the dot products vectorise; infinities and NaNs keep
# their IEEE meaning (no "nnan"/"ninf"), so overflow still shows as inf.
_VECTORISE = {"reassoc", "contract", "nsz", "arcp"}


@njit(nogil=True, cache=True)
def _buffers(p):
    XT = np.zeros((p + 2, _BLOCK + _PAD))
    WT = np.zeros((p + 4, _BLOCK + _PAD))
    H = np.zeros((p + 4, p + 2))
    return XT, WT, H


@njit(nogil=True, cache=True)
def _transpose(X, start, m, XT):
    p = X.shape[1]
    for i in range(m):
        for j in range(p):
            XT[j, i] = X[start + i, j]


@njit(nogil=True, cache=True, fastmath=_VECTORISE)
def _scale_columns(XT, h, m, p, WT):
    """WT[j, :m] = XT[j, :m] * h[:m]."""
    for j in range(p):
        for i in range(m):
            WT[j, i] = XT[j, i] * h[i]


@njit(nogil=True, cache=True, fastmath=_VECTORISE)
def _accumulate_gram(WT, XT, m, p, H):
    """H[j, k] += sum_i WT[j, i] XT[k, i] on the upper triangle, 4 x 2 tiles.

    Rows p..p+3 of WT and p..p+1 of XT are zero padding, so tiles at the
    edge need no special case; H is (p + 4) x (p + 2) for the same reason.
    """
    for j in range(0, p, 4):
        for k in range(j - j % 2, p, 2):
            a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = 0.0
            for i in range(m):
                x0 = XT[k, i]
                x1 = XT[k + 1, i]
                w0 = WT[j, i]
                w1 = WT[j + 1, i]
                w2 = WT[j + 2, i]
                w3 = WT[j + 3, i]
                a00 += w0 * x0
                a01 += w0 * x1
                a10 += w1 * x0
                a11 += w1 * x1
                a20 += w2 * x0
                a21 += w2 * x1
                a30 += w3 * x0
                a31 += w3 * x1
            H[j, k] += a00
            H[j, k + 1] += a01
            H[j + 1, k] += a10
            H[j + 1, k + 1] += a11
            H[j + 2, k] += a20
            H[j + 2, k + 1] += a21
            H[j + 3, k] += a30
            H[j + 3, k + 1] += a31


@njit(nogil=True, cache=True)
def _symmetric(H, p):
    out = np.empty((p, p))
    for j in range(p):
        for k in range(j, p):
            out[j, k] = H[j, k]
            out[k, j] = H[j, k]
    return out


@njit(nogil=True, cache=True)
def _gram_kernel(X, h, r):
    n, p = X.shape
    XT, WT, H = _buffers(p)
    moment = np.zeros(p)
    for start in range(0, n, _BLOCK):
        m = min(n, start + _BLOCK) - start
        _transpose(X, start, m, XT)
        if r.shape[0]:
            _add_moment(XT, r[start:start + m], m, p, moment)
        _scale_columns(XT, h[start:start + m], m, p, WT)
        _accumulate_gram(WT, XT, m, p, H)
    return _symmetric(H, p), moment


def weighted_gram(X, h):
    """``X' diag(h) X`` of a dense array (any memory order; no copy of float64 X)."""
    return _gram_kernel(np.asarray(X, dtype=np.float64), np.asarray(h, dtype=np.float64),
                        _EMPTY)[0]


def gram_and_moment(X, h, r):
    """``(X' diag(h) X, X' r)`` in one sweep over a dense array."""
    return _gram_kernel(np.asarray(X, dtype=np.float64), np.asarray(h, dtype=np.float64),
                        np.asarray(r, dtype=np.float64))


@njit(nogil=True, cache=True, fastmath=_VECTORISE)
def _linear_predictor(XT, coef, m, p, eta):
    for i in range(m):
        eta[i] = 0.0
    for j in range(p):
        c = coef[j]
        for i in range(m):
            eta[i] += XT[j, i] * c


@njit(nogil=True, cache=True)
def _row_math(code, y, eta):
    """``(nll, d nll / d eta, Fisher weight)`` of one row, canonical link."""
    if code == 0:  # logistic: one exponential for the mean and the loss
        t = np.exp(-abs(eta))
        mu = (1.0 if eta >= 0 else t) / (1.0 + t)
        return max(eta, 0.0) + np.log1p(t) - y * eta, mu - y, mu * (1.0 - mu)
    if code == 1:  # poisson, log link
        mu = np.exp(eta)
        return mu - y * eta, mu - y, mu
    residual = eta - y  # normal, identity link
    return 0.5 * residual * residual, residual, 1.0


@njit(nogil=True, cache=True, fastmath=_VECTORISE)
def _add_moment(XT, r, m, p, out):
    """out[j] += sum_i XT[j, i] r[i]."""
    for j in range(p):
        acc = 0.0
        for i in range(m):
            acc += XT[j, i] * r[i]
        out[j] += acc


@njit(nogil=True, cache=True)
def _canonical_kernel(X, y, offset, weights, coef, code, hessian):
    n, p = X.shape
    XT, WT, H = _buffers(p)
    eta = np.empty(_BLOCK)
    r = np.empty(_BLOCK)
    h = np.empty(_BLOCK)
    grad = np.zeros(p)
    value = 0.0
    n_boundary = 0
    for start in range(0, n, _BLOCK):
        m = min(n, start + _BLOCK) - start
        _transpose(X, start, m, XT)
        _linear_predictor(XT, coef, m, p, eta)
        for i in range(m):
            row = start + i
            e = eta[i] + offset[row] if offset.shape[0] else eta[i]
            w = weights[row] if weights.shape[0] else 1.0
            nll, g, fisher = _row_math(code, y[row], e)
            value += w * nll
            r[i] = w * g
            weight = w * fisher
            h[i] = weight if np.isfinite(weight) else 0.0
            if w > 0 and fisher < BOUNDARY_WEIGHT:
                n_boundary += 1
        _add_moment(XT, r, m, p, grad)
        if hessian:
            _scale_columns(XT, h, m, p, WT)
            _accumulate_gram(WT, XT, m, p, H)
    return value, grad, n_boundary, _symmetric(H, p)


def canonical_pass(X, y, offset, weights, coef, code, hessian=True):
    """Value, gradient, boundary count and Fisher Hessian at ``coef``, unnormalised.

    ``sum_i w_i nll_i``, ``X' (w * (mu - y))``, the number of rows of positive
    weight whose Fisher weight is below :data:`BOUNDARY_WEIGHT`, and
    ``X' diag(w * V(mu)) X`` (zeros when ``hessian`` is False), for the
    canonical family numbered ``code`` (:data:`KERNEL_CODES`). ``offset`` and
    ``weights`` may be None.
    """
    return _canonical_kernel(
        np.asarray(X, dtype=np.float64), y,
        _EMPTY if offset is None else offset,
        _EMPTY if weights is None else weights,
        np.ascontiguousarray(coef, dtype=np.float64), code, bool(hessian),
    )


@njit(nogil=True, cache=True)
def _column_checks_kernel(X, weights):
    n, p = X.shape
    n_bad = 0
    col_sq = np.zeros(p)
    for i in range(n):
        w = weights[i] if weights.shape[0] else 1.0
        for j in range(p):
            x = X[i, j]
            if not np.isfinite(x):
                n_bad += 1
            col_sq[j] += w * x * x
    return n_bad, col_sq


def column_checks(X, weights):
    """``(number of non-finite entries, sum_i w_i X_ij^2 per column)`` of a dense chunk."""
    return _column_checks_kernel(np.asarray(X, dtype=np.float64),
                                 _EMPTY if weights is None else weights)
