"""Penalties on the coefficients: value, gradient where smooth, proximal operator.

All penalties are the elastic net in DESIGN.md's scaling,

    alpha * ( l1_ratio * ||b||_1 + (1 - l1_ratio) / 2 * ||b||_2^2 ),

added to the weighted mean negative log-likelihood. ``L1`` is
``l1_ratio = 1`` and ``L2`` is ``l1_ratio = 0``. Every method takes an
optional boolean ``penalized`` mask; coefficients where it is False (the
intercept, columns the caller marks unpenalized) are never touched.

``alpha`` is one number, or one number per coefficient (statsmodels'
``fit_regularized(alpha=<array>)``): then each coefficient ``b_j`` is
penalized by ``alpha_j * (l1_ratio |b_j| + (1 - l1_ratio) / 2 b_j^2)``, and
every method works elementwise (a ridge per categorical term is an ``L2``
whose ``alpha`` is that term's strength on its columns, 0 elsewhere).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["Regularizer", "ElasticNet", "L1", "L2", "get_regularizer", "penalized_mask"]


def _masked(values, penalized):
    return values if penalized is None else np.where(penalized, values, 0.0)


class ElasticNet:
    """Elastic-net penalty ``alpha * (l1_ratio * |b|_1 + (1 - l1_ratio)/2 * |b|_2^2)``.

    Parameters
    ----------
    alpha : float, >= 0
        Overall strength, in the scaling of glmnet and of statsmodels'
        ``fit_regularized(alpha, L1_wt)``.
    l1_ratio : float in [0, 1]
        Share of the L1 part (statsmodels' ``L1_wt``).

    Notes
    -----
    The proximal operator with step ``t`` (a scalar or one step per
    coefficient) soft-thresholds by ``t * alpha * l1_ratio`` and then shrinks
    by ``1 / (1 + t * alpha * (1 - l1_ratio))``.
    """

    name = "elastic_net"

    def __init__(self, alpha=1.0, l1_ratio=0.5):
        self.alpha = _check_alpha(alpha)
        if not isinstance(l1_ratio, numbers.Real) or not 0.0 <= float(l1_ratio) <= 1.0:
            raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}")
        self.l1_ratio = float(l1_ratio)

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self._alpha_text()}, l1_ratio={self.l1_ratio!r})"

    def _alpha_text(self):
        if self.per_coefficient:
            return f"<{self.alpha.size} values in [{self.alpha.min():g}, {self.alpha.max():g}]>"
        return repr(self.alpha)

    def __eq__(self, other):
        return (
            isinstance(other, ElasticNet)
            and np.shape(self.alpha) == np.shape(other.alpha)
            and bool(np.all(self.alpha == other.alpha))
            and self.l1_ratio == other.l1_ratio
        )

    def __hash__(self):
        return hash((np.asarray(self.alpha).tobytes(), self.l1_ratio))

    @property
    def per_coefficient(self) -> bool:
        """True when ``alpha`` holds one value per coefficient."""
        return isinstance(self.alpha, np.ndarray)

    @property
    def is_zero(self) -> bool:
        """True when the penalty is zero everywhere (``alpha`` all 0)."""
        return not np.any(self.alpha)

    def take(self, order):
        """This penalty with a per-coefficient ``alpha`` taken at ``order``
        (itself for a scalar ``alpha``): the penalty of reordered coefficients."""
        if not self.per_coefficient:
            return self
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__, alpha=_read_only(self.alpha[np.asarray(order)]))
        return copy

    @property
    def l1(self):
        """The weight of ``|b|_1``: ``alpha * l1_ratio`` (the float 0 without an L1 part)."""
        return 0.0 if self.l1_ratio == 0.0 else self.alpha * self.l1_ratio

    @property
    def l2(self):
        """The weight of ``|b|_2^2 / 2``: ``alpha * (1 - l1_ratio)`` (the float 0
        without an L2 part)."""
        return 0.0 if self.l1_ratio == 1.0 else self.alpha * (1.0 - self.l1_ratio)

    @property
    def is_smooth(self) -> bool:
        """True when the penalty has no L1 part (it is differentiable)."""
        return not np.any(self.l1)

    def value(self, coef, penalized=None) -> float:
        coef = _masked(np.asarray(coef, dtype=float), penalized)
        l1, l2 = _along(self.l1, coef), _along(self.l2, coef)
        return float(np.sum(l1 * np.abs(coef)) + 0.5 * np.sum(l2 * coef * coef))

    def gradient(self, coef, penalized=None):
        """Gradient, defined where the penalty is smooth (``sign(0)`` is 0)."""
        coef = np.asarray(coef, dtype=float)
        l1, l2 = _along(self.l1, coef), _along(self.l2, coef)
        return _masked(l1 * np.sign(coef) + l2 * coef, penalized)

    def hessian_diagonal(self, n_coef, penalized=None):
        return _masked(np.broadcast_to(self.l2, (n_coef,)).copy(), penalized)

    def prox(self, v, step, penalized=None):
        """``argmin_x |x - v|^2 / 2 + step * penalty(x)``, elementwise.

        ``step`` is a scalar or an array shaped like ``v`` (a diagonal metric).
        """
        v = np.asarray(v, dtype=float)
        step = np.asarray(step, dtype=float)
        l1, l2 = _along(self.l1, v), _along(self.l2, v)
        shrunk = np.sign(v) * np.maximum(np.abs(v) - step * l1, 0.0)
        shrunk = shrunk / (1.0 + step * l2)
        return shrunk if penalized is None else np.where(penalized, shrunk, v)

    def kkt_residual(self, coef, grad, penalized=None):
        """The smallest-norm element of grad + subgradient of the penalty.

        Zero exactly at an optimum of smooth loss + penalty; its largest
        absolute value is the stopping measure of every solver.
        """
        coef = np.asarray(coef, dtype=float)
        grad = np.asarray(grad, dtype=float)
        l1, l2 = _along(self.l1, coef), _along(self.l2, coef)
        smooth = grad + l2 * coef
        at_zero = np.sign(smooth) * np.maximum(np.abs(smooth) - l1, 0.0)
        nonzero = smooth + l1 * np.sign(coef)
        residual = np.where(coef == 0.0, at_zero, nonzero)
        return residual if penalized is None else np.where(penalized, residual, grad)


Regularizer = ElasticNet


def _check_alpha(alpha):
    """``alpha`` as a float, or as a read-only 1-D float array (one per coefficient)."""
    if isinstance(alpha, numbers.Real):
        if not np.isfinite(float(alpha)) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
        return float(alpha)
    if isinstance(alpha, (str, bytes)) or not hasattr(alpha, "__len__"):
        raise ValueError(f"alpha must be a finite number >= 0 or one per coefficient, "
                         f"got {alpha!r}")
    values = np.asarray(alpha, dtype=float)
    if values.ndim != 1 or not values.size or not np.isfinite(values).all() \
            or (values < 0).any():
        raise ValueError("alpha as one value per coefficient must be a non-empty 1-D array "
                         "of finite numbers >= 0")
    return _read_only(values.copy())


def _along(weight, values):
    """A weight (scalar, or one per coefficient) shaped to multiply ``values``,
    whose first axis runs over the coefficients (columns: several points)."""
    if np.ndim(weight) == 0 or np.ndim(values) <= 1:
        return weight
    return np.reshape(weight, (-1,) + (1,) * (np.ndim(values) - 1))


def _read_only(values):
    values.flags.writeable = False
    return values


class L1(ElasticNet):
    """Lasso penalty ``alpha * |b|_1`` (``ElasticNet(alpha, l1_ratio=1)``)."""

    name = "l1"

    def __init__(self, alpha=1.0):
        super().__init__(alpha, 1.0)

    def __repr__(self):
        return f"L1(alpha={self._alpha_text()})"


class L2(ElasticNet):
    """Ridge penalty ``alpha / 2 * |b|_2^2`` (``ElasticNet(alpha, l1_ratio=0)``)."""

    name = "l2"

    def __init__(self, alpha=1.0):
        super().__init__(alpha, 0.0)

    def __repr__(self):
        return f"L2(alpha={self._alpha_text()})"


REGULARIZERS = {"l1": L1, "l2": L2, "elastic_net": ElasticNet, "elasticnet": ElasticNet}


def get_regularizer(regularizer, alpha=None, l1_ratio=None):
    """Return a penalty (or None) from a penalty, its name with ``alpha=``, or None.

    ``get_regularizer("l1", alpha=0.1)`` is ``L1(0.1)``;
    ``get_regularizer("elastic_net", alpha=0.1, l1_ratio=0.3)`` an elastic net.
    A penalty with ``alpha == 0`` is kept (it costs nothing); ``None`` means none.
    """
    if regularizer is None:
        if alpha not in (None, 0, 0.0):
            raise ValueError("alpha was given without a regularizer")
        return None
    if isinstance(regularizer, ElasticNet):
        if alpha is not None or l1_ratio is not None:
            raise ValueError("alpha/l1_ratio are given by the regularizer instance already")
        return regularizer
    if isinstance(regularizer, str):
        key = regularizer.lower()
        if key not in REGULARIZERS:
            known = ", ".join(sorted(set(REGULARIZERS) - {"elasticnet"}))
            raise ValueError(f"unknown regularizer {regularizer!r}; known: {known}")
        if alpha is None:
            raise ValueError(f"regularizer {regularizer!r} needs alpha=")
        cls = REGULARIZERS[key]
        if cls is ElasticNet:
            return ElasticNet(alpha, 0.5 if l1_ratio is None else l1_ratio)
        if l1_ratio is not None:
            raise ValueError(f"l1_ratio does not apply to regularizer {regularizer!r}")
        return cls(alpha)
    raise TypeError(
        f"regularizer must be L1, L2, ElasticNet, one of their names or None; got {regularizer!r}"
    )


def penalized_mask(unpenalized, n_features):
    """Boolean mask of the coefficients a penalty applies to: all but the
    columns ``unpenalized`` lists (indices, or a boolean mask of them)."""
    mask = np.ones(n_features, dtype=bool)
    if unpenalized is None:
        return mask
    index = np.asarray(unpenalized)
    if index.dtype == bool:
        if index.shape != (n_features,):
            raise ValueError(
                f"unpenalized as a boolean mask needs {n_features} entries, got {index.shape}"
            )
        return ~index
    index = np.atleast_1d(index)
    if index.size and (index.dtype.kind not in "iu" or index.min() < -n_features
                       or index.max() >= n_features):
        raise ValueError(
            f"unpenalized must list column indices in [0, {n_features}), got {unpenalized!r}"
        )
    mask[index.astype(int)] = False
    return mask
