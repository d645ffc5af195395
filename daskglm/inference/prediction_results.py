"""Predictions with standard errors and intervals (statsmodels' ``get_prediction``).

The model's prediction path (:meth:`daskglm.GLM.linear_with_variance`)
sweeps the rows once and returns, per row, the linear predictor ``eta`` and
its variance ``x' C x`` under the fit's covariance (of its ``cov_type``).
Everything else is a row-wise function of those two columns, made here:

- ``which="linear"``: ``eta``, ``se = sqrt(x' C x)`` and a normal interval;
- ``which="mean"``: ``mu = g^{-1}(eta)``, its delta-method standard error
  ``|d mu / d eta| se(eta)``, and by default the interval of ``eta``
  mapped through the inverse link (statsmodels' ``"endpoint"`` method;
  ``method="delta"`` gives ``mu -/+ z se``).

For dask input nothing is computed until asked: the columns are dask
arrays or Series, :meth:`PredictionResults.summary_frame` a dask DataFrame,
and computing one costs one pass over the new data.
"""

from __future__ import annotations

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["PredictionResults", "SUMMARY_COLUMNS"]

#: The columns of :meth:`PredictionResults.summary_frame` (statsmodels' names).
SUMMARY_COLUMNS = ("predicted", "se", "ci_lower", "ci_upper")


def _prediction_table(linear, variance, family, which, quantile, method):
    """Every column of a prediction from ``eta`` and its variance (numpy, 1-D)."""
    linpred_se = np.sqrt(variance)
    if which == "linear":
        predicted, se = linear, linpred_se
        lower, upper = linear - quantile * se, linear + quantile * se
    else:
        with np.errstate(all="ignore"):
            predicted = family.mean(linear)
            se = np.abs(family.link.inverse_deriv(linear)) * linpred_se
            if method == "delta":
                lower, upper = predicted - quantile * se, predicted + quantile * se
            else:
                ends = family.mean(np.stack([linear - quantile * linpred_se,
                                             linear + quantile * linpred_se]))
                lower, upper = np.minimum(ends[0], ends[1]), np.maximum(ends[0], ends[1])
    return {"predicted": predicted, "se": se, "ci_lower": lower, "ci_upper": upper,
            "linpred": linear, "linpred_se": linpred_se}


def _table_block(block, family, which, quantile, method, columns):
    """:func:`_prediction_table` of one block of the two-column table."""
    if isinstance(block, pd.DataFrame):
        table = _prediction_table(block.iloc[:, 0].to_numpy(), block.iloc[:, 1].to_numpy(),
                                  family, which, quantile, method)
        return pd.DataFrame({name: table[name] for name in columns}, index=block.index)
    table = _prediction_table(block[:, 0], block[:, 1], family, which, quantile, method)
    return np.column_stack([table[name] for name in columns])


class PredictionResults:
    """Predictions of a GLM with their standard errors and confidence intervals.

    Made by :meth:`daskglm.GLMResults.get_prediction`. Its names are
    statsmodels' (``PredictionResultsMonotonic`` for ``which="mean"``, with
    the older ``predicted_mean`` / ``se_mean`` names as aliases).

    Attributes
    ----------
    predicted, predicted_mean : array or Series
        ``mu`` (``which="mean"``) or ``eta`` (``which="linear"``) per row.
    se, se_mean : array or Series
        Their standard errors (delta method for the mean).
    var_pred : array or Series
        ``se ** 2``.
    linpred, linpred_se : array or Series
        The linear predictor and its standard error.
    which : str
    dist : scipy distribution
        The normal (statsmodels' GLM uses z intervals).

    Numpy or pandas for in-memory input; dask arrays (array input) or dask
    Series (frame input) otherwise, lazily.
    """

    def __init__(self, table, family, which="mean"):
        self._table = table
        self.family = family
        self.which = which
        self.dist = stats.norm
        self.dist_args = ()

    # -- the row-wise columns ---------------------------------------------------
    def _columns(self, columns, alpha=0.05, method="endpoint"):
        """The named columns for every row: a (pandas or dask) DataFrame for
        frame input, else an array of one column per name."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        if method not in ("endpoint", "delta"):
            raise ValueError(f"method must be 'endpoint' or 'delta', got {method!r}")
        quantile = self.dist.ppf(1.0 - alpha / 2.0)
        args = (self.family, self.which, quantile, method, tuple(columns))
        table = self._table
        if isinstance(table, dd.DataFrame):
            meta = pd.DataFrame({name: np.empty(0) for name in columns})
            return table.map_partitions(_table_block, *args, meta=meta)
        if isinstance(table, da.Array):
            return table.map_blocks(_table_block, *args, chunks=(table.chunks[0], len(columns)),
                                    dtype=float)
        return _table_block(table, *args)

    def _column(self, name):
        out = self._columns((name,))
        return out.iloc[:, 0] if isinstance(out, (pd.DataFrame, dd.DataFrame)) else out[:, 0]

    @property
    def predicted(self):
        return self._column("predicted")

    predicted_mean = predicted

    @property
    def se(self):
        return self._column("se")

    se_mean = se

    @property
    def var_pred(self):
        return self.se ** 2

    @property
    def linpred(self):
        return self._column("linpred")

    @property
    def linpred_se(self):
        return self._column("linpred_se")

    @property
    def tvalues(self):
        return self.predicted / self.se

    def conf_int(self, method="endpoint", alpha=0.05):
        """Confidence intervals, one row per prediction: (lower, upper).

        Parameters
        ----------
        method : {"endpoint", "delta"}
            For the mean: the interval of the linear predictor mapped through
            the inverse link (statsmodels' default), or ``mu -/+ z se``.
        alpha : float
            1 - the coverage.

        Returns
        -------
        ndarray of shape (n, 2), or a dask array for dask input.
        """
        out = self._columns(("ci_lower", "ci_upper"), alpha=alpha, method=method)
        if isinstance(out, dd.DataFrame):
            return out.to_dask_array()
        return out.to_numpy() if isinstance(out, pd.DataFrame) else out

    def summary_frame(self, alpha=0.05, method="endpoint"):
        """``predicted``, ``se``, ``ci_lower``, ``ci_upper`` per row: a pandas
        DataFrame, or a dask DataFrame (lazy) for dask input."""
        out = self._columns(SUMMARY_COLUMNS, alpha=alpha, method=method)
        if isinstance(out, da.Array):
            return dd.from_dask_array(out, columns=list(SUMMARY_COLUMNS))
        if isinstance(out, np.ndarray):
            return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))
        return out

    def __repr__(self):
        kind = "dask" if isinstance(self._table, (dd.DataFrame, da.Array)) else "in memory"
        return f"<PredictionResults which={self.which!r}, {kind}>"
