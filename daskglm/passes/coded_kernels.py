"""Numba kernels for one chunk of a coded design (:class:`~daskglm.passes.coded.CodedMatrix`).

The fused pass of :mod:`daskglm.passes.kernels` on a dense block plus the
codes of categorical terms, in one sweep over cache-sized blocks of rows:

- the dense block is transposed per block and its Gram matrix accumulated
  in the same register tiles as a dense pass (the helpers are shared);
- each coded term adds ``coef[level]`` to the linear predictor, and each
  row's gradient and Fisher weight are added to its level's bin: the
  term's gradient and the diagonal of its Hessian block are weighted
  bincounts, its cross block with the dense columns a scatter-add into a
  ``levels x n_dense`` table, and the block between two coded terms a
  ``levels_1 x levels_2`` table.

The results are laid out flat as :class:`~daskglm.passes.block_hessian.BlockHessian`
reads them, so chunks are reduced like a dense pass's vector.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from ..math.compiled import jit, timed_first_call
from .block_hessian import pair_starts
from .coded import level_starts
from .kernels import (
    BLOCK_ROWS,
    accumulate_gram,
    add_moment,
    block_linear_predictor,
    column_checks,
    gram_buffers,
    row_block,
    symmetric_part,
    transpose_block,
)

__all__ = ["coded_fused_pass", "coded_gram_and_moment", "coded_column_checks"]

_EMPTY = np.empty(0)


@njit(nogil=True, cache=True)
def _coded_eta(codes, starts, coef, n_dense, start, m, eta):
    """eta[i] += coef of each coded term's level in row start + i."""
    k = codes.shape[1]
    for i in range(m):
        row = start + i
        for t in range(k):
            c = codes[row, t]
            if c >= 0:
                eta[i] += coef[n_dense + starts[t] + c]


@njit(nogil=True, cache=True)
def _accumulate_codes(X, codes, starts, pairs_at, start, m, r, h, grad, diag, cross, pairs,
                      hessian):
    """Add the rows start..start+m to the coded terms' gradient and Hessian blocks."""
    k = codes.shape[1]
    n_dense = X.shape[1]
    for i in range(m):
        row = start + i
        ri = r[i]
        hi = h[i]
        for t in range(k):
            c = codes[row, t]
            if c < 0:
                continue
            level = starts[t] + c
            grad[level] += ri
            if not hessian:
                continue
            diag[level] += hi
            for j in range(n_dense):
                cross[level, j] += hi * X[row, j]
            for u in range(t + 1, k):
                other = codes[row, u]
                if other >= 0:
                    pairs[pairs_at[t, u] + c * (starts[u + 1] - starts[u]) + other] += hi


@functools.cache
def _pass_kernel(row):
    """The coded fused pass compiled around one family's ``row`` function."""
    rows = row_block(row)

    @jit(error_model="python")
    def kernel(X, codes, starts, pairs_at, n_pairs, y, offset, weights, coef, hessian):
        n, n_dense = X.shape
        n_coded = starts[-1]
        XT, H = gram_buffers(n_dense)
        eta = np.empty(BLOCK_ROWS)
        r = np.empty(BLOCK_ROWS)
        h = np.empty(BLOCK_ROWS)
        grad = np.zeros(n_dense + n_coded)
        diag = np.zeros(n_coded)
        cross = np.zeros((n_coded if hessian else 0, n_dense))
        pairs = np.zeros(n_pairs if hessian else 0)
        dense_coef = coef[:n_dense].copy()
        value = 0.0
        n_boundary = 0
        for start in range(0, n, BLOCK_ROWS):
            m = min(n, start + BLOCK_ROWS) - start
            transpose_block(X, start, m, XT)
            block_linear_predictor(XT, dense_coef, m, n_dense, eta)
            _coded_eta(codes, starts, coef, n_dense, start, m, eta)
            block_value, block_boundary = rows(y, offset, weights, start, m, eta, r, h)
            value += block_value
            n_boundary += block_boundary
            add_moment(XT, r, m, n_dense, grad)
            _accumulate_codes(X, codes, starts, pairs_at, start, m, r, h, grad[n_dense:],
                              diag, cross, pairs, hessian)
            if hessian:
                accumulate_gram(XT, h, m, n_dense, H)
        return value, grad, n_boundary, symmetric_part(H, n_dense), diag, cross, pairs
    return kernel


@njit(nogil=True, cache=True)
def _gram_kernel(X, codes, starts, pairs_at, n_pairs, h, r):
    n, n_dense = X.shape
    n_coded = starts[-1]
    XT, H = gram_buffers(n_dense)
    moment = np.zeros(n_dense + n_coded)
    diag = np.zeros(n_coded)
    cross = np.zeros((n_coded, n_dense))
    pairs = np.zeros(n_pairs)
    for start in range(0, n, BLOCK_ROWS):
        m = min(n, start + BLOCK_ROWS) - start
        transpose_block(X, start, m, XT)
        add_moment(XT, r[start:start + m], m, n_dense, moment)
        _accumulate_codes(X, codes, starts, pairs_at, start, m, r[start:start + m],
                          h[start:start + m], moment[n_dense:], diag, cross, pairs, True)
        accumulate_gram(XT, h[start:start + m], m, n_dense, H)
    return moment, symmetric_part(H, n_dense), diag, cross, pairs


def _parts(coded):
    """The kernels' arguments describing ``coded``'s terms."""
    starts = level_starts(coded.n_levels)
    at, n_pairs = pair_starts(coded.n_levels)
    return (np.asarray(coded.dense, dtype=np.float64),
            np.ascontiguousarray(coded.codes), starts, at, n_pairs)


def coded_fused_pass(coded, y, offset, weights, coef, family, hessian=True):
    """Value, gradient, boundary count and the flat block Fisher Hessian at ``coef``.

    As :func:`daskglm.passes.kernels.fused_pass` for a
    :class:`~daskglm.passes.coded.CodedMatrix` chunk: ``(value, gradient of
    all p coefficients, n_boundary, hessian)``, the Hessian laid out flat as
    :meth:`BlockHessian.from_flat <daskglm.passes.block_hessian.BlockHessian.from_flat>`
    reads it (zeros when ``hessian`` is False).
    """
    kernel = _pass_kernel(family.row_math.row)
    X, codes, starts, at, n_pairs = _parts(coded)
    value, grad, n_boundary, dense, diag, cross, pairs = timed_first_call(
        f"coded fused pass for {family!r}", kernel, X, codes, starts, at, n_pairs, y,
        _EMPTY if offset is None else offset, _EMPTY if weights is None else weights,
        np.ascontiguousarray(coef, dtype=np.float64), bool(hessian))
    if not hessian:
        return value, grad, n_boundary, None
    return value, grad, n_boundary, np.concatenate([dense.ravel(), diag, cross.ravel(), pairs])


def coded_gram_and_moment(coded, h, r):
    """``(X' r, X' diag(h) X as a flat block Hessian)`` of a coded chunk, one sweep."""
    X, codes, starts, at, n_pairs = _parts(coded)
    moment, dense, diag, cross, pairs = _gram_kernel(
        X, codes, starts, at, n_pairs, np.ascontiguousarray(h, dtype=np.float64),
        np.ascontiguousarray(r, dtype=np.float64))
    return moment, np.concatenate([dense.ravel(), diag, cross.ravel(), pairs])


def coded_column_checks(coded, weights):
    """``(non-finite dense entries + codes out of range, weighted mean-square
    numerators of every column)``, as :func:`daskglm.passes.kernels.column_checks`."""
    n_bad, dense_sq = column_checks(coded.dense, weights)
    codes = np.asarray(coded.codes)
    w = np.ones(codes.shape[0]) if weights is None else weights
    parts = [dense_sq]
    for t, levels in enumerate(coded.n_levels):
        column = codes[:, t]
        outside = (column < -1) | (column >= levels)
        n_bad += int(np.count_nonzero(outside))
        present = (column >= 0) & ~outside
        parts.append(np.bincount(column[present], weights=w[present], minlength=levels))
    return n_bad, np.concatenate(parts)
