"""One pass for a family parameter estimated with the coefficients.

A family with an ``estimated_parameter`` (the negative binomial's alpha
under ``alpha="estimate"``) gives a compiled row
``(y, eta, theta) -> (nll, d/deta, d2/deta2, d/dtheta, d2/dtheta2,
d2/deta dtheta)``, ``theta`` the parameter's logarithm. From it one sweep
over the chunks returns, for ``f(b, theta) = sum_i w_i nll_i / sum_i w_i``,

- the value,
- the gradient in ``(b, theta)``: ``X' (w * d nll / d eta)`` and
  ``sum w * d nll / d theta``,
- the observed Hessian in ``(b, theta)``: ``X' diag(w * d2 nll / d eta2) X``,
  the cross column ``X' (w * d2 nll / d eta dtheta)`` and
  ``sum w * d2 nll / d theta2``,

so a joint Newton step costs one pass (:mod:`daskglm.solvers.joint_newton`)
and the covariance of the estimates (statsmodels' discrete models use the
observed information) comes from the last one. Dense chunks run a numba
sweep built on the fused pass's block helpers; scipy.sparse chunks the same
row function over arrays and scipy's products.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..math.compiled import jit, timed_first_call
from . import kernels as _kernels
from .chunked import ChunkedData

__all__ = ["ParameterObjective", "JointEvaluation"]

_EMPTY = np.empty(0)
_BLOCK = _kernels.BLOCK_ROWS
_buffers, _transpose, _accumulate_gram = (_kernels.gram_buffers, _kernels.transpose_block,
                                          _kernels.accumulate_gram)
_add_moment, _linear_predictor, _symmetric = (_kernels.add_moment,
                                              _kernels.block_linear_predictor,
                                              _kernels.symmetric_part)


@dataclass
class JointEvaluation:
    """One joint pass, normalised by the sum of weights.

    Attributes
    ----------
    value : float
        ``f(b, theta)`` (``inf`` where it is not finite).
    gradient : array of shape (n_features + 1,)
        In ``(b, theta)``.
    hessian : array of shape (n_features + 1, n_features + 1)
        The observed Hessian in ``(b, theta)``.
    """

    value: float
    gradient: np.ndarray
    hessian: np.ndarray


class ParameterObjective:
    """The weighted mean negative log-likelihood in ``(b, theta)`` over chunked data.

    Parameters
    ----------
    data : ChunkedData
        The rows (see :class:`daskglm.passes.chunked.ChunkedData`), shared
        with the fixed-parameter objective that found the start. A coded
        design (large categoricals) is refused.
    family : Family
        A family with an ``estimated_parameter``.
    """

    def __init__(self, data: ChunkedData, family):
        if family.estimated_parameter is None:
            raise ValueError(f"{family!r} estimates no parameter")
        if data.coded is not None:
            raise ValueError(
                f"estimating {family.name}'s {family.estimated_parameter} is not supported "
                "with coded categorical terms (a categorical with more than 32 levels); "
                "fix the parameter or expand the term")
        self.family = family
        self.row = family.parameter_row()
        self.data = data

    @property
    def n_features(self) -> int:
        return self.data.n_cols

    @property
    def n_passes(self) -> int:
        return self.data.n_passes

    @property
    def sum_weights(self) -> float:
        return self.data.stats.sum_weights

    def evaluate(self, coef, theta) -> JointEvaluation:
        """Value, gradient and observed Hessian at ``(coef, theta)``: one pass."""
        coef = np.ascontiguousarray(coef, dtype=np.float64)
        flat = self.data.map_reduce(_parameter_chunk, self.row, coef, float(theta))
        flat = flat / self.data.stats.sum_weights
        q = self.n_features + 1
        value = float(flat[0])
        return JointEvaluation(value if np.isfinite(value) else np.inf,
                               flat[1:q + 1], flat[q + 1:].reshape(q, q))


def _parameter_chunk(X, y, offset, weights, row, coef, theta):
    if sp.issparse(X):
        value, grad, d_theta, gram, cross, d2_theta = _sparse_sums(
            X, y, offset, weights, row, coef, theta)
    else:
        value, grad, d_theta, gram, cross, d2_theta = _dense_sums(
            X, y, offset, weights, row, coef, theta)
    p = grad.shape[0]
    hessian = np.empty((p + 1, p + 1))
    hessian[:p, :p] = gram
    hessian[:p, p] = hessian[p, :p] = cross
    hessian[p, p] = d2_theta
    return np.concatenate([[value], grad, [d_theta], hessian.ravel()])


@functools.cache
def _dense_kernel(row):
    """The joint sweep of a dense chunk, compiled around one family's row."""
    block = _BLOCK

    @jit(error_model="python")
    def kernel(X, y, offset, weights, coef, theta):
        n, p = X.shape
        XT, H = _buffers(p)
        eta = np.empty(block)
        r = np.empty(block)
        h = np.empty(block)
        c = np.empty(block)
        grad = np.zeros(p)
        cross = np.zeros(p)
        value = d_theta = d2_theta = 0.0
        for start in range(0, n, block):
            m = min(n, start + block) - start
            _transpose(X, start, m, XT)
            _linear_predictor(XT, coef, m, p, eta)
            for i in range(m):
                k = start + i
                e = eta[i] + offset[k] if offset.shape[0] else eta[i]
                w = weights[k] if weights.shape[0] else 1.0
                nll, g, g2, t, t2, gt = row(y[k], e, theta)
                value += w * nll
                r[i] = w * g
                h[i] = w * g2
                c[i] = w * gt
                d_theta += w * t
                d2_theta += w * t2
            _add_moment(XT, r, m, p, grad)
            _add_moment(XT, c, m, p, cross)
            _accumulate_gram(XT, h, m, p, H)
        return value, grad, d_theta, _symmetric(H, p), cross, d2_theta
    return kernel


def _dense_sums(X, y, offset, weights, row, coef, theta):
    return timed_first_call("joint parameter pass", _dense_kernel(row),
                            np.asarray(X, dtype=np.float64), y,
                            _EMPTY if offset is None else offset,
                            _EMPTY if weights is None else weights, coef, theta)


@functools.cache
def _row_loop(row):
    @jit
    def loop(y, eta, theta, out):
        for i in range(y.shape[0]):
            nll, g, g2, t, t2, gt = row(y[i], eta[i], theta)
            out[0, i] = nll
            out[1, i] = g
            out[2, i] = g2
            out[3, i] = t
            out[4, i] = t2
            out[5, i] = gt
    return loop


def _sparse_sums(X, y, offset, weights, row, coef, theta):
    eta = np.asarray(X @ coef, dtype=np.float64).ravel()
    if offset is not None:
        eta = eta + offset
    parts = np.empty((6, eta.shape[0]))
    timed_first_call("joint parameter rows", _row_loop(row),
                     np.ascontiguousarray(y, dtype=np.float64), eta, theta, parts)
    if weights is not None:
        parts *= weights
    nll, g, g2, t, t2, gt = parts
    gram = np.asarray((X.T @ X.multiply(g2[:, None])).todense())
    return (nll.sum(), np.asarray(X.T @ g).ravel(), t.sum(), gram,
            np.asarray(X.T @ gt).ravel(), t2.sum())
