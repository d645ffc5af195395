"""In-memory solves of the p x p penalised quadratic model used by ``newton``.

    minimise_x  g'(x - b) + (x - b)' H (x - b) / 2 + penalty(x)

Without an L1 part this is one linear solve; with one it is cyclic
coordinate descent on the quadratic (as glmnet and glum do), compiled with
numba. Neither touches the data: H and g come from one pass. A structured
Hessian (:class:`daskglm.passes.block_hessian.BlockHessian`, of a coded
design) is asked to solve; it is never inverted here.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from numba import njit

__all__ = ["minimise_quadratic"]


def minimise_quadratic(hessian, grad, coef, penalty, penalized, *, tol=1e-13, max_sweeps=10_000):
    """The minimiser x of the penalised quadratic model around ``coef``.

    Returns ``(x, exact)`` where ``exact`` is False when coordinate descent
    ran out of sweeps or the Hessian was singular and a least-squares
    direction was used.
    """
    l2 = np.where(penalized, penalty.l2, 0.0)
    if hasattr(hessian, "solve"):       # a structured Hessian solves for itself
        if not penalty.is_smooth:
            raise ValueError("newton's L1 step needs a dense Hessian; a design with coded "
                             "categorical terms takes an L1 penalty with proximal_grad")
        return coef - hessian.with_ridge(l2).solve(grad + l2 * coef), True
    if penalty.is_smooth:
        return _solve_smooth(hessian + np.diag(l2), grad + l2 * coef, coef)
    c = hessian @ coef - grad
    x, sweeps = _coordinate_descent(
        np.ascontiguousarray(hessian), c, coef.copy(), _per_coefficient(penalty.l1, coef),
        _per_coefficient(penalty.l2, coef), penalized, max_sweeps, tol,
    )
    return x, sweeps <= max_sweeps


def _per_coefficient(weight, coef):
    """A penalty weight (a scalar or one per coefficient) as one float per coefficient."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(weight, dtype=float), coef.shape))


def _solve_smooth(hessian, grad, coef):
    try:
        factor = scipy.linalg.cho_factor(hessian, check_finite=True)
        return coef - scipy.linalg.cho_solve(factor, grad), True
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        step = np.linalg.lstsq(hessian, grad, rcond=None)[0]
        return coef - step, False


@njit(cache=True, nogil=True)
def _coordinate_descent(H, c, x, l1, l2, penalized, max_sweeps, tol):
    """Cyclic CD for 1/2 x'Hx - c'x + sum_j [l1_j |x_j| + l2_j x_j^2 / 2] (penalized j).

    Stops when no coordinate moves by more than ``tol`` in the H-norm
    (``|delta_j| * sqrt(H_jj)``, relative to the size of the problem).
    """
    p = x.shape[0]
    Hx = H @ x
    scale = 1.0
    for j in range(p):
        scale = max(scale, abs(c[j]))
    sweep = 0
    while sweep < max_sweeps:
        sweep += 1
        largest = 0.0
        for j in range(p):
            hjj = H[j, j]
            if hjj <= 0.0:
                continue
            rho = c[j] - Hx[j] + hjj * x[j]
            if penalized[j]:
                magnitude = abs(rho) - l1[j]
                new = 0.0 if magnitude <= 0.0 else np.sign(rho) * magnitude / (hjj + l2[j])
            else:
                new = rho / hjj
            delta = new - x[j]
            if delta != 0.0:
                for k in range(p):
                    Hx[k] += delta * H[k, j]
                x[j] = new
                largest = max(largest, abs(delta) * np.sqrt(hjj))
        if largest <= tol * scale:
            return x, sweep
    return x, max_sweeps + 1
