"""The units every solver's stopping rule measures the optimality residual in.

A gradient of the mean negative log-likelihood has the units of its column
times those of ``d nll / d eta``: multiply column j of X by ``c_j`` and the
j-th gradient entry grows by ``c_j``; for the Normal family multiply y by
``c_y`` and every entry grows by ``c_y`` (more for a non-identity link). An
absolute rule such as ``|gradient|_inf <= tol`` therefore never stops on
columns of size 1e5 and stops at once on columns of size 1e-150.

The stopping rule divides the residual's entry j by

    u_j = rms(x_j) * s,    s = sd(y) * sqrt(W(eta_y) / V(mean(y)))

with ``rms(x_j)`` the weighted root mean square of column j. For a family
that estimates a scale (Normal, Gamma, ...: y has units of its own), ``sd(y)``
is the weighted standard deviation of y, ``V`` the family's variance
function and ``W`` its Fisher weight at the linear predictor ``eta_y =
g(mean(y))``: ``s`` is the size of ``d nll / d eta`` for a row whose y is one
standard deviation from the mean (``sd(y)`` for the canonical link). For a
family whose scale is fixed (Binomial, Poisson) ``s = 1``: its likelihood
already fixes the unit of y. So ``r_j / u_j`` is the residual the fit would
have with every column (and a Normal y) scaled to unit spread: on
standardised data it is the plain gradient, elsewhere it is invariant to
rescaling any column and, where the family allows it, the response.
"""

from __future__ import annotations

import numpy as np

__all__ = ["response_unit", "kkt_units", "coefficient_units", "scaled_norm"]

# y whose standard deviation is below this part of its root mean square is
# taken as constant (the variance is a difference of sums: below this it is
# rounding).
_CONSTANT_Y = 1e-4


def _at_mean(family, mean_y, var_y):
    """``(sd(y), V(mean), W(g(mean)))``, sd(y) floored for a constant y."""
    spread = max(float(np.sqrt(max(var_y, 0.0))),
                 _CONSTANT_Y * float(np.sqrt(max(var_y, 0.0) + mean_y ** 2)))
    mean = np.array([float(mean_y)])
    with np.errstate(all="ignore"):
        variance = family.variance(mean)[0]
        weight = family.fisher_weights(family.link.link(mean))[0]
    return spread, variance, weight


def _usable(value) -> bool:
    return bool(np.isfinite(value) and value > 0)


def response_unit(family, mean_y, var_y) -> float:
    """``s``: the size of ``d nll / d eta`` for y one standard deviation away.

    1.0 for a family whose scale is fixed (Binomial, Poisson: their
    likelihood fixes the unit of y, so ``d nll / d eta`` is unit-free
    already), and where the family's variance or Fisher weight is not usable
    at ``mean_y`` (y on the edge of its range, a single value of y): such
    fits are refused or warned about elsewhere, and the rule is then
    absolute in y.
    """
    if not family.estimates_scale:
        return 1.0
    spread, variance, weight = _at_mean(family, mean_y, var_y)
    with np.errstate(all="ignore"):
        unit = spread * np.sqrt(weight / variance)
    return float(unit) if _usable(unit) else 1.0


def kkt_units(family, column_mean_squares, mean_y, var_y) -> np.ndarray:
    """``u``: the unit of each entry of a gradient or KKT residual (see the module)."""
    rms = np.sqrt(np.asarray(column_mean_squares, dtype=float))
    rms = np.where(np.isfinite(rms) & (rms > 0), rms, 1.0)   # an all-zero column
    return rms * response_unit(family, mean_y, var_y)


def coefficient_units(family, column_mean_squares, mean_y, var_y) -> np.ndarray:
    """The unit of each coefficient that goes with :func:`kkt_units`.

    ``sd(y) / (mu'(eta_y) rms(x_j))``: the change in coefficient j that moves
    the mean of a typical row by one standard deviation of y (the
    standardised coefficient's unit for the Normal family); ``1 / rms(x_j)``
    for a family whose scale is fixed. Tolerances on
    coefficients (ADMM's residuals, its local solves) are measured in it.
    """
    unit = 1.0
    if family.estimates_scale:
        spread, variance, weight = _at_mean(family, mean_y, var_y)
        with np.errstate(all="ignore"):
            unit = spread / np.sqrt(weight * variance)      # mu' = sqrt(W V)
    rms = np.sqrt(np.asarray(column_mean_squares, dtype=float))
    rms = np.where(np.isfinite(rms) & (rms > 0), rms, 1.0)
    return (float(unit) if _usable(unit) else 1.0) / rms


def scaled_norm(residual, units) -> float:
    """``max_j |residual_j| / units_j``: the stopping measure."""
    return float(np.max(np.abs(np.asarray(residual, dtype=float) / units), initial=0.0))
