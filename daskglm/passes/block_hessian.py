"""The Hessian of a coded design, kept in blocks, and its solves.

For coefficients laid out ``[dense..., term 1 levels..., term 2 levels...]``
(:class:`~daskglm.passes.coded.CodedMatrix`) the weighted Gram matrix
``X' diag(h) X`` has

- ``dense``: the dense columns' own ``n_dense x n_dense`` block;
- ``diag``: one number per level: within one term a row has one level, so a
  term's own block is diagonal;
- ``cross``: each level against the dense columns (``levels x n_dense``);
- ``pairs``: one ``levels_t x levels_u`` table per pair of coded terms.

:meth:`BlockHessian.solve` eliminates the term with the most levels exactly
(its block is diagonal) and solves the Schur complement over the rest
densely: ``S = R - B' D^-1 B`` with ``D`` that term's diagonal, ``B`` its
rows against the rest and ``R`` the rest's block. Nothing of size
``levels x levels`` is formed for that term; the rest must be small enough
to be a dense matrix (the design decides which terms are coded so that it
is).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["BlockHessian", "pair_starts", "SingularHessianError"]


class SingularHessianError(ValueError):
    """The block Hessian is singular; ``positions`` are the coefficients concerned."""

    def __init__(self, message, positions=()):
        super().__init__(message)
        self.positions = tuple(int(p) for p in positions)


def pair_starts(n_levels):
    """``(starts, total)``: where the table of each pair ``t < u`` of coded terms
    starts in the flat vector of pair tables, and their total size."""
    k = len(n_levels)
    starts = np.zeros((k, k), dtype=np.int64)
    total = 0
    for t in range(k):
        for u in range(t + 1, k):
            starts[t, u] = total
            total += int(n_levels[t]) * int(n_levels[u])
    return starts, total


class BlockHessian:
    """A symmetric ``p x p`` matrix of a coded design, held in blocks.

    Parameters
    ----------
    dense : array (n_dense, n_dense)
    diag : array (n_coded,)
    cross : array (n_coded, n_dense)
    pairs : dict
        ``{(t, u): array (n_levels[t], n_levels[u])}`` for ``t < u``.
    n_levels : tuple of int
    ridge : array (p,), optional
        Added to the diagonal (an L2 penalty).
    """

    __array_ufunc__ = None     # ``v @ H`` calls H.__rmatmul__

    def __init__(self, dense, diag, cross, pairs, n_levels, ridge=None):
        self.dense, self.diag, self.cross = dense, diag, cross
        self.pairs, self.n_levels = dict(pairs), tuple(int(n) for n in n_levels)
        self.n_dense = dense.shape[0]
        self.starts = self.n_dense + np.concatenate([[0], np.cumsum(self.n_levels)]).astype(int)
        self.n_features = int(self.starts[-1])
        self.ridge = np.zeros(self.n_features) if ridge is None else np.asarray(ridge, float)
        self._factor = None

    # -- flat form (what a pass reduces) ---------------------------------------
    @staticmethod
    def flat_size(n_dense, n_levels) -> int:
        n_coded = int(sum(n_levels))
        return n_dense * n_dense + n_coded * (1 + n_dense) + pair_starts(n_levels)[1]

    @classmethod
    def from_flat(cls, flat, n_dense, n_levels) -> BlockHessian:
        """The blocks of a flat vector laid out as the coded kernels write it."""
        flat = np.asarray(flat, dtype=float)
        n_coded = int(sum(n_levels))
        if flat.shape != (cls.flat_size(n_dense, n_levels),):
            raise ValueError(f"a flat block Hessian of {n_dense} dense columns and levels "
                             f"{tuple(n_levels)} has {cls.flat_size(n_dense, n_levels)} "
                             f"numbers, got {flat.shape}")
        at = n_dense * n_dense
        dense = flat[:at].reshape(n_dense, n_dense)
        diag = flat[at:at + n_coded]
        at += n_coded
        cross = flat[at:at + n_coded * n_dense].reshape(n_coded, n_dense)
        at += n_coded * n_dense
        starts, _ = pair_starts(n_levels)
        pairs = {}
        for t in range(len(n_levels)):
            for u in range(t + 1, len(n_levels)):
                size = n_levels[t] * n_levels[u]
                begin = at + starts[t, u]
                pairs[t, u] = flat[begin:begin + size].reshape(n_levels[t], n_levels[u])
        return cls(dense, diag, cross, pairs, n_levels)

    @property
    def shape(self) -> tuple:
        return (self.n_features, self.n_features)

    def __repr__(self):
        return (f"BlockHessian({self.n_dense} dense columns, coded terms of "
                f"{list(self.n_levels)} levels)")

    def with_ridge(self, ridge) -> BlockHessian:
        """``H + diag(ridge)`` (``ridge`` a scalar or one value per coefficient)."""
        ridge = np.broadcast_to(np.asarray(ridge, dtype=float), (self.n_features,))
        return BlockHessian(self.dense, self.diag, self.cross, self.pairs, self.n_levels,
                            self.ridge + ridge)

    def scaled(self, factor) -> BlockHessian:
        """``factor * H``."""
        return BlockHessian(self.dense * factor, self.diag * factor, self.cross * factor,
                            {key: table * factor for key, table in self.pairs.items()},
                            self.n_levels, self.ridge * factor)

    # -- blocks by term (term -1: the dense columns) ------------------------------
    def _range(self, term):
        if term < 0:
            return slice(0, self.n_dense)
        return slice(int(self.starts[term]), int(self.starts[term + 1]))

    def _coded_rows(self, term):
        return slice(int(self.starts[term] - self.n_dense),
                     int(self.starts[term + 1] - self.n_dense))

    def block(self, a, b) -> np.ndarray:
        """The dense block of terms ``a`` and ``b`` (-1: the dense columns), ridge included."""
        if a < 0 and b < 0:
            out = self.dense + np.diag(self.ridge[:self.n_dense])
        elif a < 0:
            out = self.cross[self._coded_rows(b)].T
        elif b < 0:
            out = self.cross[self._coded_rows(a)]
        elif a == b:
            out = np.diag(self.diagonal()[self._range(a)])
        else:
            out = self.pairs[a, b] if a < b else self.pairs[b, a].T
        return np.asarray(out, dtype=float)

    def diagonal(self) -> np.ndarray:
        return np.concatenate([np.diag(self.dense), self.diag]) + self.ridge

    def dense_matrix(self) -> np.ndarray:
        """The full ``p x p`` matrix (only for moderate ``p``)."""
        terms = [-1] + list(range(len(self.n_levels)))
        return np.block([[self.block(a, b) for b in terms] for a in terms])

    # -- products ------------------------------------------------------------
    def matvec(self, v) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        terms = [-1] + list(range(len(self.n_levels)))
        out = np.zeros_like(v)
        for a in terms:
            for b in terms:
                if a >= 0 and a == b:
                    out[self._range(a)] += self.diagonal()[self._range(a)] * v[self._range(a)]
                else:
                    out[self._range(a)] += self.block(a, b) @ v[self._range(b)]
        return out

    def __matmul__(self, other):
        return self.matvec(other)

    def __rmatmul__(self, other):       # symmetric
        return self.matvec(other)

    # -- the Schur factorisation ---------------------------------------------
    def _eliminated(self):
        """The coded term with the most levels, eliminated exactly."""
        return int(np.argmax(self.n_levels))

    def _rest_terms(self):
        big = self._eliminated()
        return [-1] + [t for t in range(len(self.n_levels)) if t != big]

    def rest_index(self) -> np.ndarray:
        """Positions of the coefficients not eliminated (dense, then other terms)."""
        return np.concatenate([np.arange(self.n_features)[self._range(t)]
                               for t in self._rest_terms()]).astype(int)

    def schur_parts(self):
        """``(D, B, R)``: the eliminated term's diagonal, its block against the
        rest, and the rest's own block (dense)."""
        big = self._eliminated()
        rest = self._rest_terms()
        D = self.diagonal()[self._range(big)]
        B = np.hstack([self.block(big, b) for b in rest])
        R = np.block([[self.block(a, b) for b in rest] for a in rest])
        return D, B, R

    def factor(self):
        """``(D, B, S's Cholesky factor)``, computed once; raises
        :class:`SingularHessianError` for a level or a combination of
        columns without information."""
        if self._factor is not None:
            return self._factor
        D, B, R = self.schur_parts()
        big = self._eliminated()
        empty = np.flatnonzero(~(1e-12 * max(float(np.max(D, initial=0.0)), 1e-300) < D))
        if empty.size:
            positions = self._range(big).start + empty
            raise SingularHessianError(
                f"the Hessian is singular: {empty.size} level(s) of coded term {big} (columns "
                f"{positions[:10].tolist()}{' ...' if empty.size > 10 else ''}) carry no "
                "weight: no row with positive weight has them", positions)
        S = R - B.T @ (B / D[:, None])
        try:
            cho = scipy.linalg.cho_factor(S, check_finite=True) if S.size else None
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            raise SingularHessianError(
                "the Hessian is singular: the dense columns and the other coded terms are "
                f"linearly dependent once coded term {big}'s levels are accounted for",
                self.rest_index()) from None
        self._factor = D, B, cho
        return self._factor

    def solve(self, rhs) -> np.ndarray:
        """``H^-1 rhs`` through the Schur complement (``rhs`` of shape (p,))."""
        rhs = np.asarray(rhs, dtype=float)
        D, B, cho = self.factor()
        big, rest = self._range(self._eliminated()), self.rest_index()
        r_big, r_rest = rhs[big], rhs[rest]
        x_rest = r_rest - B.T @ (r_big / D)
        if cho is not None:
            x_rest = scipy.linalg.cho_solve(cho, x_rest)
        out = np.empty_like(rhs)
        out[rest] = x_rest
        out[big] = (r_big - B @ x_rest) / D
        return out

    def inverse_diagonal(self) -> np.ndarray:
        """The diagonal of ``H^-1`` without forming it: ``S^-1``'s diagonal for the
        rest, ``D^-1 + diag((D^-1 B) S^-1 (D^-1 B)')`` for the eliminated term."""
        D, B, cho = self.factor()
        big, rest = self._range(self._eliminated()), self.rest_index()
        out = np.empty(self.n_features)
        if cho is None:
            out[big] = 1.0 / D
            return out
        S_inv = scipy.linalg.cho_solve(cho, np.eye(len(rest)))
        out[rest] = np.diag(S_inv)
        M = B / D[:, None]
        out[big] = 1.0 / D + np.einsum("ij,jk,ik->i", M, S_inv, M)
        return out

    def inverse(self) -> np.ndarray:
        """``H^-1`` as a dense matrix (moderate ``p`` only), by blocks."""
        D, B, cho = self.factor()
        big, rest = self._range(self._eliminated()), self.rest_index()
        p = self.n_features
        out = np.empty((p, p))
        S_inv = scipy.linalg.cho_solve(cho, np.eye(len(rest))) if cho is not None else \
            np.zeros((0, 0))
        M = B / D[:, None]
        out[np.ix_(rest, rest)] = S_inv
        cross = -M @ S_inv
        out[big, rest] = cross
        out[rest, big] = cross.T
        out[big, big] = np.diag(1.0 / D) + M @ S_inv @ M.T
        return out

    def inverse_row_forms(self, coded) -> np.ndarray:
        """``x_i' H^-1 x_i`` for every row ``x_i`` of ``coded`` (an in-memory
        :class:`~daskglm.passes.coded.CodedMatrix` of this layout), without
        forming ``H^-1`` or a row's dummy columns.

        With ``c`` the row's level of the eliminated term (``e_c`` its columns
        there), ``x_rest`` its other coefficients' columns and ``M = D^-1 B``:
        ``x' H^-1 x = u' S^-1 u + 1 / D[c]`` with ``u = x_rest - M[c]`` (only
        ``x_rest`` for the reference level, which has no column). ``u`` is as
        long as the Schur complement, which is kept small.
        """
        D, B, cho = self.factor()
        big = self._eliminated()
        M = B / D[:, None]
        n_rest = M.shape[1]
        S_inv = scipy.linalg.cho_solve(cho, np.eye(n_rest)) if cho is not None else \
            np.zeros((0, 0))
        # where each other coded term's levels sit in the rest's vector
        others, at = [], self.n_dense
        for t in range(len(self.n_levels)):
            if t != big:
                others.append((t, at))
                at += self.n_levels[t]
        dense = np.asarray(coded.dense, dtype=float)
        codes = np.asarray(coded.codes)
        n = dense.shape[0]
        out = np.empty(n)
        step = max(1, (1 << 22) // max(n_rest, 1))      # about 32 MiB of u at a time
        for start in range(0, n, step):
            rows = slice(start, min(n, start + step))
            u = np.zeros((rows.stop - start, n_rest))
            u[:, :self.n_dense] = dense[rows]
            for t, offset in others:
                level = codes[rows, t]
                present = np.flatnonzero(level >= 0)
                u[present, offset + level[present]] += 1.0
            level = codes[rows, big]
            present = np.flatnonzero(level >= 0)
            u[present] -= M[level[present]]
            form = np.einsum("ij,ij->i", u @ S_inv, u)
            form[present] += 1.0 / D[level[present]]
            out[rows] = form
        return out
