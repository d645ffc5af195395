"""The result every solver returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SolverResult"]


@dataclass
class SolverResult:
    """What a solver found, in the spirit of scipy's ``OptimizeResult``.

    Attributes
    ----------
    coef : array of shape (n_features,)
        The coefficients.
    converged : bool
        Whether the solver's stopping rule was met.
    n_iter : int
        Iterations taken.
    n_passes : int
        Passes over the data (dask graphs over all chunks) made.
    objective : float
        Mean weighted negative log-likelihood plus penalty at ``coef``.
    history : list of dict
        One record per iteration: at least ``objective``, the stopping
        measure (``kkt_norm``, or ADMM's residuals), ``step`` where there is
        one, ``elapsed`` seconds and ``n_passes``.
    message : str
        Why the solver stopped.
    solver : str
        The solver's registry name.
    info : dict
        ``"persisted"``: whether dask data were held in memory (else streamed
        from their source every pass); solver-specific extras (e.g.
        ``"hessian"``: the Fisher Hessian at ``coef`` when the solver
        computed it there).
    """

    coef: np.ndarray
    converged: bool
    n_iter: int
    n_passes: int
    objective: float
    history: list = field(default_factory=list)
    message: str = ""
    solver: str = ""
    info: dict = field(default_factory=dict)

    def __repr__(self):
        return (
            f"SolverResult(solver={self.solver!r}, converged={self.converged}, "
            f"n_iter={self.n_iter}, n_passes={self.n_passes}, "
            f"objective={self.objective:.10g}, message={self.message!r})"
        )

    def history_array(self, key) -> np.ndarray:
        """One history field over the iterations, as an array."""
        return np.array([record.get(key, np.nan) for record in self.history], dtype=float)

    def plot(self, ax=None):
        """Plot the history (objective and stopping measures) with matplotlib."""
        from ..plotting import plot_history

        return plot_history(self, ax=ax)
