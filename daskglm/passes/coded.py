"""A design kept as a dense block plus the integer codes of its large categoricals.

A categorical main effect with thousands of levels is, as dummy columns, a
matrix that is almost all zeros and costs ``n * p^2`` in every Gram matrix.
:class:`CodedMatrix` keeps such terms as one integer code per row and term
instead (``-1`` for the reference level, which has no column), next to the
dense block of every other column. The coefficients are laid out as

    [dense columns..., term 1's levels..., term 2's levels..., ...]

so ``eta = dense @ coef[:n_dense] + sum_t coef[n_dense + start_t + codes[:, t]]``.
This module holds the container and its in-memory products; the fused pass
over it is :mod:`daskglm.passes.coded_kernels` and its Hessian
:mod:`daskglm.passes.block_hessian`.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

__all__ = ["CodedMatrix", "level_starts"]


def level_starts(n_levels) -> np.ndarray:
    """Where each coded term's levels start among the coded coefficients
    (``len(n_levels) + 1`` entries, the last one their total)."""
    return np.concatenate([[0], np.cumsum(np.asarray(n_levels, dtype=np.int64))]).astype(np.int64)


class CodedMatrix:
    """A dense block and the codes of categorical terms, aligned by rows.

    Parameters
    ----------
    dense : array of shape (n_samples, n_dense)
        numpy or dask (row chunks), the columns kept dense.
    codes : integer array of shape (n_samples, n_terms)
        numpy or dask; ``codes[i, t]`` is the level (column) of term ``t`` in
        row ``i``, in ``[0, n_levels[t])``, or ``-1`` for no column (the
        reference level).
    n_levels : sequence of int
        Columns of each coded term.
    """

    def __init__(self, dense, codes, n_levels):
        n_levels = tuple(int(n) for n in n_levels)
        if getattr(dense, "ndim", None) != 2 or getattr(codes, "ndim", None) != 2:
            raise ValueError("a CodedMatrix needs a 2-dimensional dense block and codes, got "
                             f"shapes {getattr(dense, 'shape', None)} and "
                             f"{getattr(codes, 'shape', None)}")
        if codes.shape[1] != len(n_levels) or not n_levels:
            raise ValueError(f"codes has {codes.shape[1]} column(s) but {len(n_levels)} "
                             "coded term(s) are described; one column per term is needed")
        if min(n_levels) < 1:
            raise ValueError(f"every coded term needs at least one level, got {n_levels}")
        if np.dtype(codes.dtype).kind not in "iu":
            raise TypeError(f"codes must be integers, got dtype {codes.dtype}")
        if dense.shape[0] != codes.shape[0]:
            raise ValueError(f"the dense block has {dense.shape[0]} rows but codes has "
                             f"{codes.shape[0]}; they must match")
        self.dense = dense
        self.codes = codes
        self.n_levels = n_levels

    # -- shape --------------------------------------------------------------
    @property
    def n_dense(self) -> int:
        return int(self.dense.shape[1])

    @property
    def n_coded(self) -> int:
        return int(sum(self.n_levels))

    @property
    def shape(self) -> tuple:
        return (self.dense.shape[0], self.n_dense + self.n_coded)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def is_dask(self) -> bool:
        return isinstance(self.dense, da.Array) or isinstance(self.codes, da.Array)

    @property
    def nbytes(self) -> int:
        return int(self.dense.nbytes + self.codes.nbytes)

    def __repr__(self):
        return (f"CodedMatrix({self.shape[0]} rows, {self.n_dense} dense columns, "
                f"coded terms of {list(self.n_levels)} levels)")

    def with_parts(self, dense, codes) -> CodedMatrix:
        """The same terms over other (row-aligned) arrays."""
        return CodedMatrix(dense, codes, self.n_levels)

    def __getitem__(self, rows):
        if not isinstance(rows, slice):
            raise TypeError("a CodedMatrix is indexed by a slice of rows only")
        return CodedMatrix(self.dense[rows], self.codes[rows], self.n_levels)

    # -- products (in memory) -------------------------------------------------
    def matvec(self, coef) -> np.ndarray:
        """``X @ coef`` for ``coef`` of shape (p,) or (p, k)."""
        coef = np.asarray(coef, dtype=float)
        eta = np.asarray(self.dense @ coef[:self.n_dense], dtype=float)
        starts = level_starts(self.n_levels) + self.n_dense
        for t in range(len(self.n_levels)):
            codes = np.asarray(self.codes[:, t])
            present = codes >= 0
            term = coef[starts[t]:starts[t + 1]]
            eta[present] += term[codes[present]]
        return eta

    def rmatvec(self, r) -> np.ndarray:
        """``X' r`` for ``r`` of shape (n,) or (n, k)."""
        r = np.asarray(r, dtype=float)
        parts = [np.asarray(self.dense.T @ r, dtype=float).reshape(self.n_dense, *r.shape[1:])]
        for t, levels in enumerate(self.n_levels):
            parts.append(_sum_by_code(np.asarray(self.codes[:, t]), r, levels))
        return np.concatenate(parts, axis=0)

    def row_quadratic_forms(self, matrix) -> np.ndarray:
        """``x_i' C x_i`` for every row ``x_i`` and a dense ``C`` of shape (p, p) in
        this layout, from the rows' dense values and one entry of ``C`` per pair
        of their coded columns (no row's dummy columns are formed)."""
        matrix = np.asarray(matrix, dtype=float)
        n_dense = self.n_dense
        dense = np.asarray(self.dense, dtype=float)
        out = np.einsum("ij,ij->i", dense @ matrix[:n_dense, :n_dense], dense)
        starts = level_starts(self.n_levels) + n_dense
        columns = [np.where(np.asarray(self.codes[:, t]) >= 0,
                            starts[t] + np.asarray(self.codes[:, t]), -1)
                   for t in range(len(self.n_levels))]
        for column in columns:
            rows = np.flatnonzero(column >= 0)
            out[rows] += 2.0 * np.einsum("ij,ji->i", dense[rows],
                                         matrix[:n_dense, column[rows]])
            for other in columns:
                both = np.flatnonzero((column >= 0) & (other >= 0))
                out[both] += matrix[column[both], other[both]]
        return out

    def toarray(self) -> np.ndarray:
        """The full dense design (dummy columns; for small problems and tests)."""
        dense = np.asarray(self.dense, dtype=float)
        columns = [dense]
        for t, levels in enumerate(self.n_levels):
            codes = np.asarray(self.codes[:, t])
            dummies = np.zeros((dense.shape[0], levels))
            present = np.flatnonzero(codes >= 0)
            dummies[present, codes[present]] = 1.0
            columns.append(dummies)
        return np.hstack(columns)


def _sum_by_code(codes, r, levels):
    """``out[c] = sum of r over the rows of code c`` (rows of code -1 left out)."""
    present = codes >= 0
    if r.ndim == 1:
        return np.bincount(codes[present], weights=r[present], minlength=levels)
    out = np.zeros((levels, r.shape[1]))
    np.add.at(out, codes[present], r[present])
    return out
