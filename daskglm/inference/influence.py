"""Leverage and influence of the rows of a fit (statsmodels' ``GLMInfluence``).

The hat matrix's diagonal ``h_i = w_i x_i' (X' W X)^{-1} x_i`` needs the
information matrix, which the statistics pass already made; every measure
here is then a function of one row at a time: a lazy dask array for dask
data, computed in one pass over the rows when asked (all the measures of
:class:`GLMInfluence` come from one per-chunk function, so computing
several together is still one pass).

As statsmodels: the weights ``w`` are the observed information's
(``observed=True``, the default; the Fisher weights for ``False``; the two
agree for a canonical link), the residual is Pearson's over the square
root of the scale, studentized by ``sqrt(1 - h)``, and Cook's distance is
``r_stud^2 h / (k (1 - h))`` with the F(k, df_resid) tail as its p-value.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
from scipy import stats

from ..passes.statistics import leverage, row_weights

__all__ = ["GLMInfluence", "influence_table", "INFLUENCE_COLUMNS"]

#: The per-row measures of one chunk, in the order of the table's columns.
INFLUENCE_COLUMNS = ("hat_matrix_diag", "resid_studentized", "cooks_distance")


def _influence_block(X_aug, y, offset, weights, side, family, coef, inverse, observed, scale,
                     k_vars):
    X, iw, _, vw, eta = row_weights(X_aug, offset, weights, side, coef)
    with np.errstate(all="ignore"):
        if observed:
            weight = family.observed_weights(y, eta)
        else:
            weight = family.derivatives(y, eta, hessian=True)[2]
        hat = leverage(X, iw * weight, inverse)
        mu = family.mean(eta)
        pearson = (y - mu) * np.sqrt(vw / family.variance(mu)) / np.sqrt(scale)
        studentized = pearson / np.sqrt(1.0 - hat)
        cooks = np.square(studentized) / k_vars * hat / (1.0 - hat)
    return np.column_stack([hat, studentized, cooks])


def influence_table(design, family, coef, information, *, observed=True, scale=1.0):
    """The columns :data:`INFLUENCE_COLUMNS` for every row of ``design``: an
    (n, 3) numpy array, or a lazy dask array chunked as the rows.

    ``information`` is the matrix whose inverse makes the hat matrix
    (observed or Fisher, matching ``observed``).
    """
    X_aug, side = design.augmented()
    args = (side, family, np.asarray(coef, dtype=float), np.linalg.inv(information),
            bool(observed), float(scale), design.n_features)
    if not design.is_dask:
        return _influence_block(X_aug, design.y, design.offset, design.weights, *args)
    row_arrays = []
    for values in (design.y, design.offset, design.weights):
        row_arrays += [None, None] if values is None else [values, "i"]
    constants = [item for value in args for item in (value, None)]
    return da.blockwise(_influence_block, "ik", X_aug, "ij", *row_arrays, *constants,
                        new_axes={"k": len(INFLUENCE_COLUMNS)}, concatenate=True,
                        dtype=float)


class GLMInfluence:
    """Influence measures of a fit, as statsmodels' ``GLMInfluence`` (the
    measures that need no refit).

    Made by :meth:`daskglm.GLMResults.get_influence`. The row-wise measures
    are numpy arrays for in-memory data, lazy dask arrays otherwise.

    Attributes
    ----------
    hat_matrix_diag : array
    resid_studentized : array
        Pearson residuals over ``sqrt(scale (1 - h))``.
    cooks_distance : tuple of arrays
        ``(distance, p-value)``.
    k_vars : int
    """

    def __init__(self, results, table):
        self.results = results
        self._table = table
        self.k_vars = len(results.params)
        self.df_resid = results.df_resid

    @property
    def hat_matrix_diag(self):
        return self._table[:, 0]

    @property
    def resid_studentized(self):
        return self._table[:, 1]

    @property
    def cooks_distance(self):
        distance = self._table[:, 2]
        return distance, _f_tail(distance, self.k_vars, self.df_resid)

    def summary_frame(self):
        """``cooks_d``, ``standard_resid``, ``hat_diag`` per row (statsmodels'
        names for the measures without refits): pandas, or dask for dask data."""
        import dask.dataframe as dd
        import pandas as pd

        columns = ["hat_diag", "standard_resid", "cooks_d"]
        if isinstance(self._table, da.Array):
            frame = dd.from_dask_array(self._table, columns=columns)
        else:
            frame = pd.DataFrame(self._table, columns=columns)
        return frame[["cooks_d", "standard_resid", "hat_diag"]]


def _f_tail(distance, k_vars, df_resid):
    if isinstance(distance, da.Array):
        return distance.map_blocks(stats.f.sf, k_vars, df_resid, dtype=float)
    return stats.f.sf(distance, k_vars, df_resid)
