"""The smooth part of every solver's objective, evaluated in one pass per call.

    f(b) = sum_i w_i * nll_i(x_i' b + offset_i) / sum_i w_i

:class:`Objective` turns per-row family math into coefficient-space
quantities over all chunks: values at several points at once (trial steps
of a line search), gradients ``X' (w * d nll / d eta) / sum w`` and the Fisher
Hessian ``X' diag(w * fisher) X / sum w``, all from ONE pass over the data
(one dask graph). Solvers add the penalty themselves on the client, where
the coefficients live.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..math.compiled import start_arrays
from ..math.families import Family, domain_message
from . import kernels as _kernels
from .block_hessian import BlockHessian
from .chunked import ChunkedData, map_reduce_together
from .coded import CodedMatrix
from .coded_kernels import coded_fused_pass, coded_gram_and_moment
from .stopping import coefficient_units, kkt_units

__all__ = ["Objective", "Evaluation", "StartModel", "evaluate_together"]


@dataclass
class Evaluation:
    """What one pass returns, normalised by the sum of weights.

    Attributes
    ----------
    values : array of shape (n_points,)
        f at each point (``inf`` where a point leaves the family's mean space).
    gradients : array of shape (n_features, n_gradients)
        Gradients at the first ``n_gradients`` points.
    hessian : array of shape (n_features, n_features), BlockHessian, or None
        Fisher Hessian at the first point, when asked for (a
        :class:`~daskglm.passes.block_hessian.BlockHessian` for a coded design).
    n_boundary : int
        With the Hessian: rows of positive weight whose Fisher weight at the
        first point is numerically zero (a fitted probability of 0 or 1, a
        fitted count rate of 0), the mark of (quasi-)separation.
    """

    values: np.ndarray
    gradients: np.ndarray
    hessian: np.ndarray | None = None
    n_boundary: int = 0

    @property
    def value(self) -> float:
        return float(self.values[0])

    @property
    def gradient(self) -> np.ndarray:
        return self.gradients[:, 0]


class Objective:
    """Weighted mean negative log-likelihood of a family over chunked data.

    Parameters
    ----------
    X, y, offset, weights
        As for every solver; see :class:`daskglm.chunked.ChunkedData`.
    family : Family
    persist : bool or "auto"
        Passed to :class:`~daskglm.chunked.ChunkedData`.
    """

    def __init__(self, X, y, family: Family, *, offset=None, weights=None, persist="auto"):
        self.family = family
        self.data = ChunkedData(
            X, y, offset, weights,
            in_domain=family.in_domain,
            domain_error=lambda n, rows: domain_message(family, "y", n, rows),
            persist=persist,
        )

    @property
    def n_features(self) -> int:
        return self.data.n_cols

    @property
    def n_passes(self) -> int:
        """Passes over the data made so far."""
        return self.data.n_passes

    @property
    def column_mean_squares(self) -> np.ndarray:
        """Weighted mean of each squared column (known after the first pass)."""
        return self.data.stats.column_mean_squares

    @property
    def kkt_units(self) -> np.ndarray:
        """The unit of each gradient entry in the stopping rule (known after
        the first pass; see :mod:`daskglm.passes.stopping`)."""
        stats = self.data.stats
        return kkt_units(self.family, stats.column_mean_squares, stats.mean_y, stats.var_y)

    @property
    def coefficient_units(self) -> np.ndarray:
        """The unit of each coefficient that goes with :attr:`kkt_units`."""
        stats = self.data.stats
        return coefficient_units(self.family, stats.column_mean_squares, stats.mean_y,
                                 stats.var_y)

    def evaluate(self, points, *, n_gradients=None, hessian=False,
                 hessian_columns=None) -> Evaluation:
        """f at each point, gradients at the first ``n_gradients``, Hessian at the first.

        Parameters
        ----------
        points : array of shape (n_features,) or (n_features, n_points)
        n_gradients : int, optional
            How many of the leading points get a gradient (default: all).
        hessian : bool
            Compute the Fisher Hessian at the first point.
        hessian_columns : array of int, optional
            With ``hessian``: the Hessian of these (sorted) columns only, a
            ``q x q`` matrix (an active set's; a pass then costs ``q^2``
            rather than ``p^2`` per row). Not for coded designs.
        """
        return evaluate_together([(self, points, dict(n_gradients=n_gradients, hessian=hessian,
                                                      hessian_columns=hessian_columns))])[0]

    def _pass_call(self, points, *, n_gradients=None, hessian=False, hessian_columns=None):
        """``(data, chunk function, arguments)`` of one evaluation's pass, and
        what :meth:`_evaluation` needs to read its flat answer."""
        points = np.asarray(points, dtype=float)
        points = points[:, None] if points.ndim == 1 else points
        n_points = points.shape[1]
        n_gradients = n_points if n_gradients is None else int(n_gradients)
        if hessian_columns is not None:
            if self.data.coded is not None:
                raise ValueError("an active-set Hessian is not available for a design with "
                                 "coded categorical terms")
            hessian_columns = np.asarray(hessian_columns, dtype=np.int64)
        args = (self.family, np.ascontiguousarray(points), n_gradients, bool(hessian),
                hessian_columns)
        return (self.data, _evaluate_chunk, args), (n_points, n_gradients, hessian,
                                                   hessian_columns)

    def _evaluation(self, flat, n_points, n_gradients, hessian, hessian_columns):
        flat = flat / self.data.stats.sum_weights
        p = self.n_features
        values = flat[:n_points]
        values = np.where(np.isnan(values), np.inf, values)
        end = n_points + p * n_gradients
        gradients = flat[n_points:end].reshape(p, n_gradients)
        if not hessian:
            return Evaluation(values, gradients)
        n_boundary = int(round(flat[end] * self.data.stats.sum_weights))
        if hessian_columns is not None:
            q = len(hessian_columns)
            return Evaluation(values, gradients, flat[end + 1:].reshape(q, q), n_boundary)
        return Evaluation(values, gradients, self._hessian(flat[end + 1:]), n_boundary)

    def _hessian(self, flat):
        """The Hessian of a flat vector: p x p, or a BlockHessian for a coded design."""
        coded = self.data.coded
        if coded is None:
            return flat.reshape(self.n_features, self.n_features)
        return BlockHessian.from_flat(flat, coded.n_dense, coded.n_levels)

    def irls_start(self):
        """One IRLS step from the family's starting mean, as statsmodels starts.

        Returns a :class:`StartModel` (the weighted least-squares problem
        ``min_b (z - X b)' W (z - X b) / (2 sum w)``, i.e. the quadratic model
        ``b' H b / 2 - rhs' b``, and the right-hand sides that regress the
        starting linear predictor and its weighted mean onto X), or None when
        the starting mean is outside the link's range for some rows (then
        start from zero coefficients).
        """
        flat = self.data.map_reduce(_irls_start_chunk, self.family)
        if flat[0] > 0:
            return None
        p = self.n_features
        sum_h, sum_h_eta = flat[1:3]
        moments = flat[3:3 + 3 * p].reshape(3, p) / self.data.stats.sum_weights
        mean_eta = sum_h_eta / sum_h if sum_h > 0 else 0.0
        hessian = self._hessian(flat[3 + 3 * p:] / self.data.stats.sum_weights)
        return StartModel(hessian, moments[0], moments[1], mean_eta * moments[2])


@dataclass
class StartModel:
    """IRLS's first weighted least-squares problem and two fallbacks.

    Attributes
    ----------
    hessian : array of shape (n_features, n_features) or BlockHessian
        ``X' W X / sum w`` at the family's starting mean.
    rhs : array of shape (n_features,)
        ``X' W z / sum w``: ``hessian^-1 rhs`` is the IRLS step.
    eta_rhs : array of shape (n_features,)
        ``X' W eta / sum w`` for the starting linear predictor ``eta = g(mu)
        - offset``: ``hessian^-1 eta_rhs`` regresses it onto X.
    constant_rhs : array of shape (n_features,)
        ``X' W c / sum w`` for ``c`` the W-weighted mean of ``eta``, inside
        the mean space as every ``eta`` is (links are monotone): with a
        constant column in X, ``hessian^-1 constant_rhs`` fits ``eta = c``
        on every row.
    """

    hessian: object
    rhs: np.ndarray
    eta_rhs: np.ndarray
    constant_rhs: np.ndarray


def evaluate_together(requests):
    """Several :meth:`Objective.evaluate` calls in one pass where the data are
    dask: ``requests`` is a list of ``(objective, points, options)`` with the
    options of ``evaluate`` as a dict; the answer is one :class:`Evaluation`
    per request. The objectives may share chunks (a cross-validation's folds
    differ only by their weights): their passes are one dask graph.
    """
    calls, layouts = zip(*[objective._pass_call(points, **options)
                           for objective, points, options in requests])
    totals = map_reduce_together(list(calls))
    return [objective._evaluation(flat, *layout)
            for (objective, _, _), flat, layout in zip(requests, totals, layouts)]


# A Fisher weight below this is a fitted mean numerically on the boundary
# (for the logit link, |eta| > 33.7: a probability within 2e-15 of 0 or 1).
_BOUNDARY_WEIGHT = _kernels.BOUNDARY_WEIGHT


def _linear_predictor(X, points, offset):
    eta = X @ points
    eta = np.asarray(eta)
    if offset is not None:
        eta += offset[:, None]
    return eta


def _weighted_gram(X, h):
    """X' diag(h) X for h >= 0."""
    if sp.issparse(X):
        return np.asarray((X.T @ X.multiply(h[:, None])).todense())
    return _kernels.weighted_gram(X, h)


def _gram_and_moment(X, h, r):
    """``(X' diag(h) X, X' r)``: one sweep over a dense X."""
    if sp.issparse(X):
        return _weighted_gram(X, h), np.asarray(X.T @ r).ravel()
    return _kernels.gram_and_moment(X, h, r)


# Rows per block inside a chunk: a block's row-sized temporaries (eta, the
# weighted copy of X for the Gram matrix) stay in cache, which made a Newton
# pass 1.5x faster than whole-chunk arrays (benchmarks/results/pass_profile.md).
_BLOCK_ROWS = 8192


def _in_row_blocks(func, X, y, offset, weights, *args):
    """Sum of ``func`` over cache-sized row blocks of one chunk."""
    n_rows = X.shape[0]
    if sp.issparse(X) or n_rows <= _BLOCK_ROWS:
        return func(X, y, offset, weights, *args)
    total = None
    for start in range(0, n_rows, _BLOCK_ROWS):
        rows = slice(start, start + _BLOCK_ROWS)
        part = func(X[rows], y[rows], None if offset is None else offset[rows],
                    None if weights is None else weights[rows], *args)
        total = part if total is None else total + part
    return total


def _evaluate_chunk(X, y, offset, weights, family, points, n_gradients, hessian,
                    hessian_columns=None):
    if isinstance(X, CodedMatrix):
        return _evaluate_coded(X, y, offset, weights, family, points, n_gradients, hessian)
    if hessian_columns is not None:
        return _evaluate_active(X, y, offset, weights, family, points, n_gradients,
                                hessian_columns)
    if hessian and points.shape[1] == 1 and not sp.issparse(X):
        value, grad, n_boundary, gram = _kernels.fused_pass(
            X, y, offset, weights, points[:, 0], family)
        return np.concatenate([[value], grad, [float(n_boundary)], gram.ravel()])
    with np.errstate(all="ignore"):  # trial points may overflow; they come back inf
        return _in_row_blocks(_evaluate_arrays, X, y, offset, weights, family, points,
                              n_gradients, hessian)


def _evaluate_active(X, y, offset, weights, family, points, n_gradients, columns):
    """:func:`_evaluate_chunk` with the Hessian of ``columns`` only (the first point's)."""
    if points.shape[1] == 1 and not sp.issparse(X):
        value, grad, n_boundary, gram = _kernels.subset_fused_pass(
            X, y, offset, weights, points[:, 0], family, columns)
        return np.concatenate([[value], grad, [float(n_boundary)], gram.ravel()])
    with np.errstate(all="ignore"):
        flat = _in_row_blocks(_evaluate_arrays, X, y, offset, weights, family, points,
                              n_gradients, True)
    p = X.shape[1]
    end = points.shape[1] + p * n_gradients + 1
    gram = flat[end:].reshape(p, p)[np.ix_(columns, columns)]
    return np.concatenate([flat[:end], gram.ravel()])


def _evaluate_arrays(X, y, offset, weights, family, points, n_gradients, hessian):
    eta = _linear_predictor(X, points, offset)
    # the compiled row math at every point; gradients kept for the leading ones
    nll, grad, fisher = family.derivatives(y[:, None], eta)
    grad = grad[:, :n_gradients]
    if weights is not None:
        nll = nll * weights[:, None]
        grad = grad * weights[:, None]
    values = nll.sum(axis=0)
    gradients = np.asarray(X.T @ grad)
    parts = [values, gradients.ravel()]
    if hessian:
        h = fisher[:, 0] if weights is None else fisher[:, 0] * weights
        carries_weight = np.ones(len(h), bool) if weights is None else weights > 0
        n_boundary = np.count_nonzero(carries_weight & (fisher[:, 0] < _BOUNDARY_WEIGHT))
        parts.append([float(n_boundary)])
        parts.append(_weighted_gram(X, np.where(np.isfinite(h), h, 0.0)).ravel())
    return np.concatenate(parts)


def _evaluate_coded(X, y, offset, weights, family, points, n_gradients, hessian):
    """:func:`_evaluate_chunk` for a coded chunk: the coded fused pass for a
    Newton step, the codes' products otherwise."""
    if hessian and points.shape[1] == 1:
        value, grad, n_boundary, blocks = coded_fused_pass(
            X, y, offset, weights, points[:, 0], family)
        return np.concatenate([[value], grad, [float(n_boundary)], blocks])
    with np.errstate(all="ignore"):
        eta = X.matvec(points)
        eta = eta if offset is None else eta + offset[:, None]
        nll, grad, fisher = family.derivatives(y[:, None], eta)
        w = np.ones(len(y)) if weights is None else weights
        parts = [w @ nll, X.rmatvec(grad[:, :n_gradients] * w[:, None]).ravel()]
    if hessian:
        h = w * fisher[:, 0]
        n_boundary = np.count_nonzero((w > 0) & (fisher[:, 0] < _BOUNDARY_WEIGHT))
        _, blocks = coded_gram_and_moment(X, np.where(np.isfinite(h), h, 0.0), np.zeros(len(y)))
        parts += [[float(n_boundary)], blocks]
    return np.concatenate(parts)


def _irls_start_chunk(X, y, offset, weights, family):
    if isinstance(X, CodedMatrix):
        return _irls_start_arrays(X, y, offset, weights, family)
    if not sp.issparse(X):
        n_bad, sums, moments, gram = _kernels.irls_start(X, y, offset, weights, family)
        return np.concatenate([[float(n_bad)], sums, moments.ravel(), gram.ravel()])
    return _in_row_blocks(_irls_start_arrays, X, y, offset, weights, family)


def _irls_start_arrays(X, y, offset, weights, family):
    """The IRLS start of :func:`_irls_start_chunk` for a sparse or coded
    chunk: the family's compiled start row over the chunk's rows, then
    scipy's (or the codes') products."""
    eta, fisher, residual = start_arrays(family, y)
    if offset is not None:
        eta = eta - offset
    w = 1.0 if weights is None else weights
    h = w * fisher
    moment = h * eta + w * residual      # h z, z = eta + (y - mu) g'(mu)
    good = np.isfinite(h) & np.isfinite(moment)
    n_bad = np.count_nonzero(~good if weights is None else ~good & (weights != 0))
    h, moment = np.where(good, h, 0.0), np.where(good, moment, 0.0)
    h_eta = np.where(good, h * eta, 0.0)
    if isinstance(X, CodedMatrix):
        rhs, gram = coded_gram_and_moment(X, h, moment)
        # one vector at a time: the first pass checks the codes after this
        # runs, and X' r of a single vector tolerates a code out of range
        others = np.column_stack([X.rmatvec(h_eta), X.rmatvec(h)])
    else:
        gram, rhs = _gram_and_moment(X, h, moment)
        others = np.asarray(X.T @ np.column_stack([h_eta, h]))
    moments = np.concatenate([np.ravel(rhs), np.asarray(others).T.ravel()])
    return np.concatenate([[float(n_bad), h.sum(), h_eta.sum()], moments, np.ravel(gram)])

# Public names of the per-chunk helpers the statistics pass (passes/statistics.py) shares.
weighted_gram, gram_and_moment, in_row_blocks = _weighted_gram, _gram_and_moment, _in_row_blocks
linear_predictor = _linear_predictor
