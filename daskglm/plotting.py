"""Convergence plots from a solver's history (matplotlib, an optional extra)."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_history", "plot_path"]

# history keys drawn on the log-scale panel, with their labels
_MEASURES = {
    "kkt_norm": "KKT residual (in column and response units)",
    "primal_residual": "primal residual",
    "dual_residual": "dual residual",
}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib; install it with `pip install daskglm[plot]`"
        ) from error
    return plt


def plot_history(result, ax=None):
    """Draw a solver's convergence: objective and stopping measures per iteration.

    Parameters
    ----------
    result : SolverResult
        Any solver's result; ADMM's primal and dual residuals are drawn when
        its history holds them.
    ax : sequence of two matplotlib Axes, optional
        Where to draw (objective, measures); a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    else:
        fig = ax[0].figure
    iterations = result.history_array("iteration")
    objective = result.history_array("objective")
    gap = objective - np.nanmin(objective)
    positive = gap > 0
    ax[0].semilogy(iterations[positive], gap[positive], marker=".")
    ax[0].set_xlabel("iteration")
    ax[0].set_ylabel("objective - best objective")
    ax[0].set_title(f"{result.solver}: objective")
    for key, label in _MEASURES.items():
        values = result.history_array(key)
        shown = np.isfinite(values) & (values > 0)
        if shown.any():
            ax[1].semilogy(iterations[shown], values[shown], marker=".", label=label)
    ax[1].set_xlabel("iteration")
    ax[1].set_title(f"{result.solver}: stopping measures")
    ax[1].legend()
    return fig


def plot_path(fitted, ax=None, log_alpha=True, names=None):
    """Draw a regularization path: each coefficient against alpha.

    Parameters
    ----------
    fitted : RegularizationPath
        From :func:`daskglm.solvers.path` or ``GLM.fit_regularized(alpha=[...])``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    log_alpha : bool
        A logarithmic alpha axis (alphas span decades), large alphas left.
    names : sequence of str, optional
        Labels of the coefficients (default: the path's ``names``, if any);
        columns that stay zero along the whole path are not drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    else:
        fig = ax.figure
    names = names if names is not None else fitted.names
    coefs = np.asarray(fitted.coefs)
    for j in np.flatnonzero(np.any(coefs != 0, axis=0)):
        label = None if names is None else str(names[j])
        ax.plot(fitted.alphas, coefs[:, j], label=label)
    if log_alpha:
        ax.set_xscale("log")
    ax.invert_xaxis()
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_xlabel("alpha")
    ax.set_ylabel("coefficient")
    ax.set_title(f"regularization path (l1_ratio={fitted.l1_ratio:g})")
    if names is not None and coefs.shape[1] <= 20:
        ax.legend(fontsize="small")
    return fig
