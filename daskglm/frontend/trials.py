"""A binomial response given as two columns: (successes, failures).

statsmodels' ``GLM`` accepts, for the Binomial family, an ``endog`` of two
columns (an array, or a formula's left-hand side such as
``"NABOVE + NBELOW ~ ..."``) and fits the proportion ``successes / n`` of
``n = successes + failures`` trials, with ``n`` acting as a variance weight
(``Binomial.initialize``). :func:`split_trials` does the same to a numpy or
dask array, row block by row block, and refuses counts no binomial response
can have: negative ones, and rows with no trials at all (statsmodels would
divide 0 by 0 there), naming the column and the rows.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

__all__ = ["split_trials", "response_names"]

_ROLES = ("successes", "failures")


def response_names(names, n_columns):
    """The response's column names: ``names`` (a DataFrame's), else statsmodels'
    ``y1, y2, ...`` for an unnamed array of several columns."""
    if names is not None:
        return [str(name) for name in names]
    return [f"y{i}" for i in range(1, n_columns + 1)]


def split_trials(endog, names, family):
    """``(y, n_trials)`` of a response with one column or two.

    Parameters
    ----------
    endog : numpy or dask array of shape (n_samples,) or (n_samples, k)
        The response as given (one row per observation).
    names : list of str
        Its columns' names (for the messages).
    family : Family
        A two-column response needs a family with ``takes_trials`` (Binomial).

    Returns
    -------
    y : array of shape (n_samples,)
        The response, or the proportion of successes for two columns.
    n_trials : array of shape (n_samples,) or None
        ``successes + failures`` for two columns, else None.

    Raises
    ------
    ValueError
        For more than two columns, two columns with a family that takes none,
        and (for dask arrays: when computed, in the first pass) negative
        counts or rows whose counts are both 0.
    """
    if endog.ndim == 1:
        return endog, None
    n_columns = int(endog.shape[1])
    if n_columns == 1:
        return endog[:, 0], None
    listed = ", ".join(repr(name) for name in names)
    if n_columns > 2:
        raise ValueError(
            f"endog has {n_columns} columns ({listed}); the response is one column, or for "
            "the Binomial family two: (successes, failures)")
    if not family.takes_trials:
        raise ValueError(
            f"endog has two columns ({listed}): a (successes, failures) response needs the "
            f"Binomial family, not {family.name}; give {family.name} one column")
    names = tuple(str(name) for name in names)
    if isinstance(endog, da.Array):
        y = endog.map_blocks(_proportions, names, drop_axis=1, dtype=float)
    else:
        y = _proportions(endog, names)
    return y, endog[:, 0] + endog[:, 1]


def _proportions(counts, names, block_info=None):
    """``successes / (successes + failures)`` of one block, refusing bad counts;
    ``block_info`` (from dask) gives the block's first row for the messages."""
    first = 0 if block_info is None else block_info[0]["array-location"][0][0]
    for column, role, values in zip(names, _ROLES, counts.T):
        negative = np.flatnonzero(values < 0)
        if negative.size:
            raise ValueError(
                f"the binomial response's {role} column {column!r} has negative counts, in "
                f"row(s) {_rows(negative, first)}; counts must be >= 0")
    trials = counts[:, 0] + counts[:, 1]
    empty = np.flatnonzero(trials == 0)
    if empty.size:
        raise ValueError(
            f"the binomial response has no trials ({names[0]!r} + {names[1]!r} == 0) in "
            f"row(s) {_rows(empty, first)}: the proportion of successes is undefined there; "
            "drop those rows")
    with np.errstate(invalid="ignore"):       # NaN counts stay NaN: refused as missing
        return counts[:, 0] / trials


def _rows(indices, first, limit=5):
    shown = ", ".join(str(int(i) + first) for i in indices[:limit])
    return shown + (" ..." if indices.size > limit else "")
