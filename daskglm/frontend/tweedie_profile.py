"""Choosing the Tweedie variance power by its profile log-likelihood over a grid."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..math.families import Tweedie

__all__ = ["TweedieProfile", "profile_tweedie_power"]


@dataclass(frozen=True)
class TweedieProfile:
    """The profile of the log-likelihood over Tweedie variance powers.

    Attributes
    ----------
    var_power : float
        The power of the grid with the largest log-likelihood.
    powers : ndarray of shape (n_powers,)
        The grid, in the order given.
    llf : ndarray of shape (n_powers,)
        The log-likelihood of the fit at each power (``GLMResults.llf``: at
        the fit's Pearson scale, as statsmodels reports it).
    results : GLMResults
        The fit at ``var_power``.
    """

    var_power: float
    powers: np.ndarray
    llf: np.ndarray
    results: object


def _check_powers(powers) -> np.ndarray:
    grid = np.asarray(powers, dtype=float)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"powers must be a non-empty 1-D sequence, got shape {grid.shape}")
    outside = grid[~((grid > 1.0) & (grid < 2.0))]
    if outside.size:
        raise ValueError(
            f"powers must lie strictly between 1 and 2, where the compound Poisson-Gamma "
            f"likelihood is defined and comparable; got {outside.tolist()}")
    return grid


def profile_tweedie_power(model, powers, **fit_options) -> TweedieProfile:
    """Fit ``model`` at every Tweedie variance power of ``powers`` and pick the
    one with the largest log-likelihood.

    Parameters
    ----------
    model : GLM
        A model whose family is :class:`~daskglm.families.Tweedie` with
        ``var_power >= 1`` (so that its data were checked to be >= 0); its
        link and ``eql`` are kept.
    powers : sequence of float
        The grid, each strictly between 1 and 2. Each fit starts from the
        previous one's coefficients, so an ordered grid costs fewer passes.
    **fit_options
        Passed to :meth:`GLM.fit` (``method``, ``tol``, ``max_iter``, ...;
        not ``start_params``).

    Returns
    -------
    TweedieProfile

    Notes
    -----
    Costs one fit per power (its passes, the statistics pass and the pass of
    the log-likelihood); the data are validated and persisted once. The
    log-likelihood is taken at the Pearson estimate of the scale, not at its
    maximum-likelihood estimate, so the profile is statsmodels' ``llf`` over
    the powers.
    """
    family = model.family
    if not isinstance(family, Tweedie) or family.var_power < 1.0:
        raise ValueError(f"the model's family must be Tweedie with var_power >= 1 (its data "
                         f"checked to be >= 0), got {family!r}")
    if "start_params" in fit_options:
        raise TypeError("start_params is chosen by the profile (the previous fit's "
                        "coefficients)")
    grid = _check_powers(powers)
    start, fits = None, []
    for power in grid:
        at_power = copy.copy(model)      # shares the prepared (validated, persisted) design
        at_power.family = Tweedie(link=family.link, var_power=float(power), eql=family.eql)
        fit = at_power.fit(start_params=start, **fit_options)
        start = fit.solver_result.coef
        fits.append(fit)
    llf = np.array([fit.llf for fit in fits])
    if not np.all(np.isfinite(llf)):
        bad = grid[~np.isfinite(llf)].tolist()
        raise ValueError(f"the log-likelihood is not finite at var_power {bad} (the extended "
                         "quasi-likelihood is +inf where y = 0); use eql=False")
    best = int(np.argmax(llf))
    return TweedieProfile(float(grid[best]), grid, llf, fits[best])
