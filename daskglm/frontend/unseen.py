"""Categorical levels that new data holds and the training data did not.

patsy (and so statsmodels) refuses a row whose categorical value is not
among the levels learned when the model was built. That is the default here
too, with a message naming the column, how many rows hold such values and
the first few of them. Two other choices, ``unseen=`` on every prediction
(:meth:`daskglm.GLMResults.predict`, ``get_prediction``,
:meth:`daskglm.frontend.saved.SavedFit.predict`, ``daskglm predict
--unseen``):

* ``"reference"``: the value is read as the factor's reference level, the
  level Treatment coding gives no column (the first level unless
  ``Treatment(reference=...)`` names another; the first level for other
  contrasts), so the row gets the term's baseline;
* ``"nan"``: the value is read as missing, so the row's prediction is NaN
  (as for any row with a missing value).

Both rewrite the one column the categorical reads (in a copy of the
partition) before its design is built, so expanded (patsy) and coded
categoricals are handled alike; a categorical computed from several columns
cannot be rewritten and is refused with ``"reference"`` or ``"nan"``.
For a dask DataFrame the check runs per partition, when the predictions are
computed, and the count in the message is that partition's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from patsy.categorical import _CategoricalBox

from ..messages import listing, shorten
from .formula_blocks import CodedContrast
from .recipe import categorical_missing, names_in

__all__ = ["UNSEEN", "check_unseen", "resolve_unseen", "reference_level"]

#: What a prediction does with a categorical value not seen in training.
UNSEEN = ("error", "reference", "nan")


def check_unseen(unseen) -> str:
    """``unseen`` if it is one of :data:`UNSEEN`, else a ValueError naming them."""
    if not isinstance(unseen, str) or unseen not in UNSEEN:
        raise ValueError(f"unseen must be one of {listing(UNSEEN)}, got {unseen!r}")
    return unseen


def reference_level(design_info, factor, levels):
    """The level of ``factor`` that its Treatment coding gives no column in
    ``design_info`` (the first level when no contrast leaves one out)."""
    for subterms in design_info.term_codings.values():
        for subterm in subterms:
            contrast = subterm.contrast_matrices.get(factor)
            if contrast is None:
                continue
            if isinstance(contrast, CodedContrast):
                rows = np.flatnonzero(contrast.code_map < 0)
            else:
                rows = np.flatnonzero(~np.asarray(contrast.matrix, dtype=float).any(axis=1))
            if rows.size == 1:
                return levels[int(rows[0])]
    return levels[0]


def resolve_unseen(df, recipe, unseen="error"):
    """``df`` (one partition, fresh index) with every categorical value outside
    the learned levels handled as ``unseen`` says (module docstring).

    Returns the partition unchanged when no value is unseen; raises a
    ValueError naming the column, the count of rows and the first unseen
    levels for ``unseen="error"``.
    """
    check_unseen(unseen)
    info = recipe.design_infos()[1]
    for factor, state, kind in recipe.factor_states(rhs_only=True):
        if kind != "categorical":
            continue
        levels = recipe.learned[factor.code].levels
        rows, values = _unseen_rows(factor.eval(state, df), levels)
        if not rows.size:
            continue
        column = _source_column(factor, df)
        if unseen == "error":
            where = f"column {column!r}" if column is not None else f"factor {factor.name()}"
            distinct = _distinct(values)
            raise ValueError(     # patsy's (and statsmodels') words for the first one, too
                f"{where} has {rows.size:,} row(s) with level(s) {listing(distinct)} not seen "
                f"when the model was built: observation with value {shorten(distinct[0])!r} "
                f"does not match any of the expected levels (levels: {listing(levels)}); pass "
                "unseen='reference' to read them as the reference level or unseen='nan' to "
                "predict NaN for them")
        if column is None:
            raise ValueError(f"unseen={unseen!r} rewrites the one column a categorical reads, "
                             f"but {factor.name()} reads {listing(names_in(factor.code)[0])}")
        df = _rewritten(df, column, rows, reference_level(info, factor, levels)
                        if unseen == "reference" else None)
        _check_rewritten(factor.eval(state, df), rows, levels, unseen, factor)
    return df


def _unseen_rows(value, levels):
    """``(rows, values)``: the rows whose categorical value is neither missing
    nor among ``levels``, and those values (each distinct value is looked up
    once, with Python's equality, as patsy does)."""
    data = value.data if isinstance(value, _CategoricalBox) else value
    if not isinstance(data, (pd.Series, pd.Categorical)):
        data = pd.Series(np.asarray(data).reshape(-1))
    codes, distinct = pd.factorize(data, use_na_sentinel=True)   # -1: missing
    known = {level for level in levels if _hashable(level)}
    outside = np.array([not _among(v, known, levels) for v in distinct] + [False], dtype=bool)
    if not outside.any():
        return np.empty(0, dtype=np.intp), None
    rows = np.flatnonzero(outside[codes])
    return rows, np.asarray(data, dtype=object)[rows]


def _hashable(value):
    try:
        hash(value)
    except TypeError:                # an unhashable level: compared by equality in _among
        return False
    return True


def _among(value, known, levels):
    try:
        return value in known
    except TypeError:
        return any(value == level for level in levels)


def _distinct(values):
    return list(dict.fromkeys(values.tolist()))


def _source_column(factor, df):
    """The one column of ``df`` the factor reads, else None."""
    names, quoted = names_in(factor.code)
    columns = [c for c in sorted(names | quoted, key=str) if c in df.columns]
    return columns[0] if len(columns) == 1 else None


def _rewritten(df, column, rows, value):
    """A copy of ``df`` whose ``column`` holds ``value`` (None: missing) in ``rows``."""
    df = df.copy()
    values = df[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        if value is not None and value not in values.cat.categories:
            values = values.cat.add_categories([value])
        values = values.copy()
    elif value is None and values.dtype.kind in "biu":
        values = values.astype(float)
    elif value is not None and values.dtype.kind in "biuf" and not isinstance(value, (int, float)):
        values = values.astype(object)
    else:
        values = values.copy()
    values.iloc[rows] = np.nan if value is None else value
    df[column] = values
    return df


def _check_rewritten(value, rows, levels, unseen, factor):
    """The rewritten rows must now be missing (``"nan"``) or a learned level."""
    left, _ = _unseen_rows(value, levels)
    missing = categorical_missing(value)[rows]
    if left.size or (unseen == "nan" and not missing.all()) or \
            (unseen == "reference" and missing.any()):
        raise ValueError(f"unseen={unseen!r}: rewriting the column of {factor.name()} did not "
                         "give its reference level (or a missing value); the categorical "
                         "transforms its column")
