"""Numba kernels for the dense work of one chunk in a pass.

Two things dominate a Newton pass over a dense chunk: the weighted Gram
matrix ``X' diag(h) X`` and the row math between ``eta = X b`` and the
gradient. Both run here in one sweep over cache-sized blocks of rows,
without the GIL. The row math is the family's compiled row function
(:func:`daskglm.math.compiled.row_math`): the pass and the IRLS start are
compiled once per (family, link) around it, so every family and link,
one written outside the package included, gets the same sweep:

- a block of rows is copied transposed (each column contiguous), so the
  linear predictor, the gradient and the Gram matrix are long contiguous dot
  products that vectorise; at 128 rows the copy stays in the L1 cache;
- the Gram matrix is accumulated in 4 x 4 register tiles of its upper
  triangle, then mirrored; the row weights are applied inside the tile, so
  no weighted copy of the block is written.

OpenBLAS's ``syrk`` on thin blocks does not run in parallel from two dask
worker threads on this kind of machine (two threads took as long as one);
these loops do, which halves a pass on two cores
(``benchmarks/results/pass_profile.md``).
"""

from __future__ import annotations

import functools

import numpy as np

from ..math.compiled import compile_seconds, jit, timed_first_call

__all__ = ["weighted_gram", "gram_and_moment", "fused_pass", "subset_fused_pass", "irls_start",
           "row_block", "column_checks", "compile_seconds"]

# Rows per block: the transposed block (p KiB at 128 rows) stays in the L1
# cache while it is read for eta, the gradient and the Gram tiles. At 256
# rows it did not: transposing 250,000 x 21 took 5.1 ms against 1.9 ms
# (benchmarks/results/pass_profile.md).
_BLOCK = 128
_PAD = 8  # extra row stride: a power-of-two stride makes the columns alias in cache
_TILE = 4  # the Gram matrix's register tiles are _TILE x _TILE

_EMPTY = np.empty(0)  # stands for an absent offset, weight or moment vector

# A Fisher weight below this is a fitted mean numerically on the boundary.
BOUNDARY_WEIGHT = 10 * np.finfo(float).eps

# Reassociation lets the dot products vectorise; infinities and NaNs keep
# their IEEE meaning (no "nnan"/"ninf"), so overflow still shows as inf.
_VECTORISE = {"reassoc", "contract", "nsz", "arcp"}


@jit(error_model="python")
def _buffers(p):
    """The transposed block and the Gram accumulator, padded to whole tiles
    with zero rows (so tiles at the edge need no special case)."""
    XT = np.zeros((p + _TILE, _BLOCK + _PAD))
    H = np.zeros((p + _TILE, p + _TILE))
    return XT, H


@jit(error_model="python")
def _transpose(X, start, m, XT):
    p = X.shape[1]
    for i in range(m):
        for j in range(p):
            XT[j, i] = X[start + i, j]


@jit(error_model="python", fastmath=_VECTORISE)
def _accumulate_gram(XT, h, m, p, H):
    """H[j, k] += sum_i XT[j, i] h[i] XT[k, i] on the upper triangle, 4 x 4 tiles."""
    for j in range(0, p, _TILE):
        for k in range(j, p, _TILE):
            a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = 0.0
            a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = 0.0
            for i in range(m):
                hi = h[i]
                x0 = XT[k, i] * hi
                x1 = XT[k + 1, i] * hi
                x2 = XT[k + 2, i] * hi
                x3 = XT[k + 3, i] * hi
                w0 = XT[j, i]
                w1 = XT[j + 1, i]
                w2 = XT[j + 2, i]
                w3 = XT[j + 3, i]
                a00 += w0 * x0
                a01 += w0 * x1
                a02 += w0 * x2
                a03 += w0 * x3
                a10 += w1 * x0
                a11 += w1 * x1
                a12 += w1 * x2
                a13 += w1 * x3
                a20 += w2 * x0
                a21 += w2 * x1
                a22 += w2 * x2
                a23 += w2 * x3
                a30 += w3 * x0
                a31 += w3 * x1
                a32 += w3 * x2
                a33 += w3 * x3
            _add_tile(H, j, k, a00, a01, a02, a03, a10, a11, a12, a13,
                      a20, a21, a22, a23, a30, a31, a32, a33)


@jit(error_model="python", inline="always")
def _add_tile(H, j, k, a00, a01, a02, a03, a10, a11, a12, a13,
              a20, a21, a22, a23, a30, a31, a32, a33):
    H[j, k] += a00
    H[j, k + 1] += a01
    H[j, k + 2] += a02
    H[j, k + 3] += a03
    H[j + 1, k] += a10
    H[j + 1, k + 1] += a11
    H[j + 1, k + 2] += a12
    H[j + 1, k + 3] += a13
    H[j + 2, k] += a20
    H[j + 2, k + 1] += a21
    H[j + 2, k + 2] += a22
    H[j + 2, k + 3] += a23
    H[j + 3, k] += a30
    H[j + 3, k + 1] += a31
    H[j + 3, k + 2] += a32
    H[j + 3, k + 3] += a33


@jit(error_model="python")
def _symmetric(H, p):
    out = np.empty((p, p))
    for j in range(p):
        for k in range(j, p):
            out[j, k] = H[j, k]
            out[k, j] = H[j, k]
    return out


@jit(error_model="python")
def _gram_kernel(X, h, r):
    n, p = X.shape
    XT, H = _buffers(p)
    moment = np.zeros(p)
    for start in range(0, n, _BLOCK):
        m = min(n, start + _BLOCK) - start
        _transpose(X, start, m, XT)
        if r.shape[0]:
            _add_moment(XT, r[start:start + m], m, p, moment)
        _accumulate_gram(XT, h[start:start + m], m, p, H)
    return _symmetric(H, p), moment


def weighted_gram(X, h):
    """``X' diag(h) X`` of a dense array (any memory order; no copy of float64 X)."""
    return _gram_kernel(np.asarray(X, dtype=np.float64), np.asarray(h, dtype=np.float64),
                        _EMPTY)[0]


def gram_and_moment(X, h, r):
    """``(X' diag(h) X, X' r)`` in one sweep over a dense array."""
    return _gram_kernel(np.asarray(X, dtype=np.float64), np.asarray(h, dtype=np.float64),
                        np.asarray(r, dtype=np.float64))


@jit(error_model="python", fastmath=_VECTORISE)
def _linear_predictor(XT, coef, m, p, eta):
    for i in range(m):
        eta[i] = 0.0
    for j in range(p):
        c = coef[j]
        if c == 0.0:        # a lasso's zero coefficients (X is finite: checked)
            continue
        for i in range(m):
            eta[i] += XT[j, i] * c


@jit(error_model="python", fastmath=_VECTORISE)
def _add_moment(XT, r, m, p, out):
    """out[j] += sum_i XT[j, i] r[i]."""
    for j in range(p):
        acc = 0.0
        for i in range(m):
            acc += XT[j, i] * r[i]
        out[j] += acc


@functools.cache
def row_block(row):
    """The per-row part of a fused sweep, compiled around one family's ``row``:
    ``rows(y, offset, weights, start, m, eta, r, h) -> (value, n_boundary)``
    takes the rows ``start .. start + m`` of a chunk whose linear predictor
    (offset not yet added) is in ``eta[:m]``, writes ``r = w * d nll / d eta``
    and the Fisher weights ``h = w * fisher`` (0 where not finite), and
    returns the block's ``sum w * nll`` and its count of rows of positive
    weight whose Fisher weight is below :data:`BOUNDARY_WEIGHT`. The dense
    and the coded fused passes share it."""
    @jit(error_model="python")
    def rows(y, offset, weights, start, m, eta, r, h):
        value = 0.0
        n_boundary = 0
        for i in range(m):
            row_index = start + i
            e = eta[i] + offset[row_index] if offset.shape[0] else eta[i]
            w = weights[row_index] if weights.shape[0] else 1.0
            nll, g, fisher = row(y[row_index], e)
            value += w * nll
            r[i] = w * g
            weight = w * fisher
            h[i] = weight if np.isfinite(weight) else 0.0
            if w > 0 and fisher < BOUNDARY_WEIGHT:
                n_boundary += 1
        return value, n_boundary
    return rows


@functools.cache
def _pass_kernel(row):
    """The fused pass compiled around one family's ``row`` function."""
    rows = row_block(row)

    @jit(error_model="python")
    def kernel(X, y, offset, weights, coef, hessian):
        n, p = X.shape
        XT, H = _buffers(p)
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
            block_value, block_boundary = rows(y, offset, weights, start, m, eta, r, h)
            value += block_value
            n_boundary += block_boundary
            _add_moment(XT, r, m, p, grad)
            if hessian:
                _accumulate_gram(XT, h, m, p, H)
        return value, grad, n_boundary, _symmetric(H, p)
    return kernel


def fused_pass(X, y, offset, weights, coef, family, hessian=True):
    """Value, gradient, boundary count and Fisher Hessian at ``coef``, unnormalised.

    ``sum_i w_i nll_i``, ``X' (w * d nll / d eta)``, the number of rows of
    positive weight whose Fisher weight is below :data:`BOUNDARY_WEIGHT`,
    and ``X' diag(w * fisher) X`` (zeros when ``hessian`` is False), from
    ``family``'s compiled row math, whatever its link. ``offset`` and
    ``weights`` may be None.
    """
    kernel = _pass_kernel(family.row_math.row)
    return timed_first_call(f"fused pass for {family!r}", kernel,
                            *_row_arrays(X, y, offset, weights),
                            np.ascontiguousarray(coef, dtype=np.float64), bool(hessian))


@jit(error_model="python")
def _pick_rows(XT, columns, m, XA):
    """The rows ``columns`` of a transposed block, into ``XA`` (a smaller block)."""
    for a in range(columns.shape[0]):
        j = columns[a]
        for i in range(m):
            XA[a, i] = XT[j, i]


@functools.cache
def _subset_pass_kernel(row):
    """:func:`_pass_kernel` whose Hessian covers only some columns: the value
    and the full gradient as before, the Gram matrix of ``columns`` alone
    (``q^2`` instead of ``p^2`` work per row, the pass of an active set)."""
    rows = row_block(row)

    @jit(error_model="python")
    def kernel(X, y, offset, weights, coef, columns):
        n, p = X.shape
        q = columns.shape[0]
        XT, _ = _buffers(p)
        XA, H = _buffers(q)
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
            block_value, block_boundary = rows(y, offset, weights, start, m, eta, r, h)
            value += block_value
            n_boundary += block_boundary
            _add_moment(XT, r, m, p, grad)
            _pick_rows(XT, columns, m, XA)
            _accumulate_gram(XA, h, m, q, H)
        return value, grad, n_boundary, _symmetric(H, q)
    return kernel


def subset_fused_pass(X, y, offset, weights, coef, family, columns):
    """:func:`fused_pass` with the Fisher Hessian of the columns ``columns``
    only: ``X[:, columns]' diag(w * fisher) X[:, columns]``, a ``q x q`` matrix
    (``columns``: sorted column indices). Value, gradient and boundary count
    are those of :func:`fused_pass`."""
    kernel = _subset_pass_kernel(family.row_math.row)
    return timed_first_call(f"active-set pass for {family!r}", kernel,
                            *_row_arrays(X, y, offset, weights),
                            np.ascontiguousarray(coef, dtype=np.float64),
                            np.ascontiguousarray(columns, dtype=np.int64))


def _row_arrays(X, y, offset, weights):
    """A chunk as the kernels take it: float64 X, empty arrays for an absent
    offset or weights."""
    return (np.asarray(X, dtype=np.float64), y,
            _EMPTY if offset is None else offset,
            _EMPTY if weights is None else weights)


@functools.cache
def _start_kernel(start_row):
    """The IRLS start sweep compiled around one family's ``start`` function."""
    @jit(error_model="python")
    def kernel(X, y, offset, weights):
        n, p = X.shape
        XT, H = _buffers(p)
        h = np.empty(_BLOCK)
        r = np.empty(_BLOCK)
        r_eta = np.empty(_BLOCK)
        moments = np.zeros((3, p))     # X' (h z), X' (h eta), X' h
        sums = np.zeros(2)             # sum h, sum h eta
        n_bad = 0
        for start in range(0, n, _BLOCK):
            m = min(n, start + _BLOCK) - start
            _transpose(X, start, m, XT)
            for i in range(m):
                row_index = start + i
                w = weights[row_index] if weights.shape[0] else 1.0
                eta, fisher, residual = start_row(y[row_index])
                if offset.shape[0]:
                    eta -= offset[row_index]
                weight = w * fisher
                # h z with the working response z = eta + (y - mu) g'(mu)
                moment = weight * eta + w * residual
                if np.isfinite(weight) and np.isfinite(moment):
                    h[i] = weight
                    r[i] = moment
                    r_eta[i] = weight * eta
                else:
                    h[i] = 0.0
                    r[i] = 0.0
                    r_eta[i] = 0.0
                    if w != 0:
                        n_bad += 1
                sums[0] += h[i]
                sums[1] += r_eta[i]
            _add_moment(XT, r, m, p, moments[0])
            _add_moment(XT, r_eta, m, p, moments[1])
            _add_moment(XT, h, m, p, moments[2])
            _accumulate_gram(XT, h, m, p, H)
        return n_bad, sums, moments, _symmetric(H, p)
    return kernel


def irls_start(X, y, offset, weights, family):
    """IRLS's first weighted least-squares problem, unnormalised, in one sweep.

    From the family's starting mean ``mu`` (statsmodels' choice), with
    Fisher weights ``h = w (d mu / d eta)^2 / V(mu)``, the starting linear
    predictor ``eta = g(mu) - offset`` and the working response ``z = eta +
    (y - mu) g'(mu)``: ``(n_bad, [sum h, sum h eta], [X' (h z), X' (h eta),
    X' h], X' diag(h) X)``, where ``n_bad`` counts rows of nonzero weight
    whose ``h`` or ``h z`` is not finite (they are left out). The second and
    third moments regress the starting linear predictor, and a constant one,
    onto X: points inside the link's mean space to step from when the IRLS
    step leaves it.
    """
    kernel = _start_kernel(family.row_math.start)
    return timed_first_call(f"IRLS start for {family!r}", kernel,
                            *_row_arrays(X, y, offset, weights))


@jit(error_model="python")
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

# Public names of the block helpers the coded-design kernels (passes/coded_kernels.py)
# build on: one tiled Gram and one transposed block, shared rather than rewritten.
BLOCK_ROWS, TILE = _BLOCK, _TILE
gram_buffers, transpose_block, accumulate_gram = _buffers, _transpose, _accumulate_gram
add_moment, block_linear_predictor, symmetric_part = _add_moment, _linear_predictor, _symmetric
