"""A family parameter estimated with the coefficients: its estimate, the joint
covariance, and the pieces of the results that count it.

When :func:`daskglm.solvers.newton` estimates a family's parameter
(``NegativeBinomial(alpha="estimate")``), its last pass left the observed
Hessian of the mean objective in ``(b, theta)``, ``theta`` the parameter's
log. statsmodels' discrete ``NegativeBinomial`` reports the covariance of
``(b, alpha)`` as the inverse of the observed Hessian in alpha itself, so
the Hessian is carried over exactly (chain rule, with the gradient's term):

    d2/dalpha2 = (d2/dtheta2 - d/dtheta) / alpha^2,
    d2/db dalpha = d2/db dtheta / alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["EstimatedParameter", "estimated_parameter"]


@dataclass
class EstimatedParameter:
    """The estimated family parameter of a fit.

    Attributes
    ----------
    name : str
        The parameter's name (``"alpha"``).
    value : float
    covariance : array of shape (n_features + 1, n_features + 1)
        Of ``(b, parameter)``: the inverse observed information.
    """

    name: str
    value: float
    covariance: np.ndarray

    @property
    def bse(self) -> float:
        return float(np.sqrt(self.covariance[-1, -1]))

    def frame(self, names) -> pd.DataFrame:
        """The covariance as a DataFrame over ``names`` and the parameter."""
        labels = [*names, self.name]
        return pd.DataFrame(self.covariance, index=labels, columns=labels)


def estimated_parameter(solver_result, to_patsy=None):
    """The :class:`EstimatedParameter` of a joint fit, or None for a fit without one.

    Parameters
    ----------
    solver_result : SolverResult
        With ``info["joint_hessian"]``, ``info["joint_gradient"]`` (of the
        mean objective in ``(b, log parameter)``), ``info["sum_weights"]``
        (the sum of the weights the mean was taken over) and
        ``info["parameter"]``.
    to_patsy : callable, optional
        Reorders a coefficient vector into the names' order.
    """
    info = solver_result.info
    if "joint_hessian" not in info:
        return None
    value = float(info["parameter"])
    sum_weights = float(info["sum_weights"])
    hessian = np.array(info["joint_hessian"], dtype=float) * sum_weights
    d_theta = float(info["joint_gradient"][-1]) * sum_weights
    hessian[-1, -1] = (hessian[-1, -1] - d_theta) / value ** 2
    hessian[:-1, -1] /= value
    hessian[-1, :-1] /= value
    try:
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        covariance = np.full_like(hessian, np.nan)
    if to_patsy is not None:
        order = np.append(to_patsy(np.arange(hessian.shape[0] - 1)), hessian.shape[0] - 1)
        covariance = covariance[np.ix_(order, order)]
    return EstimatedParameter(info["parameter_name"], value, covariance)
