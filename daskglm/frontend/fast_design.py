"""Design matrices exactly as patsy builds them, converting factors a column at a time.

``patsy.build_design_matrices`` turns a categorical factor into integer
codes by looking at one row at a time in Python (a NaN test and a dict
lookup per row), which dominates the cost of a formula fit: about 1.5 s
per 375,000 rows and categorical. Here patsy still decides everything
about the layout (the ``DesignInfo``: which columns, their order and names,
which contrast codes each factor in each interaction), and only the
conversion of values is done on whole columns:

* a **categorical** factor's distinct values are found by pandas (the codes
  of a pandas categorical, or ``pandas.factorize``), each distinct value is
  judged by patsy's own rules (``NAAction.is_categorical_NA`` and a lookup
  among the learned levels, with Python's equality, as patsy does), and the
  per-value answers are spread back to the rows;
* a **numerical** factor is evaluated by patsy's factor, as patsy does, and
  checked the way patsy checks it;
* each subterm's columns are products of the factors' proto-columns (rows
  of the contrast matrix for categorical factors), taken in patsy's order:
  factors left to right, the left-most factor's columns varying fastest,
  products accumulated left to right so that every value is bit-for-bit
  patsy's.

Whatever this module does not handle itself goes to
``patsy.build_design_matrices`` unchanged, so the result is always
patsy's, errors included. The cases that go to patsy:

* anything patsy answers with an error: a level not among the learned ones,
  levels that differ from the learned ones, a missing value with
  ``NA_action="raise"``, the wrong number of columns or rows, an index that
  differs from the data's, non-numeric values in a numerical factor;
* data that is not a pandas DataFrame, an ``NA_action`` that is not a
  plain ``patsy.NAAction`` (or its name), a ``DesignInfo`` without terms;
* factor values that are not a numpy array or pandas Series/DataFrame
  (lists, scalars), numerical values of a pandas extension dtype (nullable
  ``Int64``/``Float64``) or a non-real numpy dtype (complex, datetime),
  categorical values of a dtype other than bool, integer, float, unicode,
  object, pandas string or pandas categorical (e.g. nullable ``boolean``,
  datetimes), object values holding tuples or complex numbers (pandas and
  Python disagree on whether two NaN-holding ones are equal), and missing
  entries that patsy would not count as missing (``pd.NA``, ``NaT``: patsy
  raises on them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
from patsy.categorical import _CategoricalBox

from .formula_blocks import CodedContrast

__all__ = ["build_design_block", "build_coded_design", "categorical_codes"]

_CATEGORICAL_KINDS = frozenset("biufUO")
_BLOCK_BYTES = 4 << 20      # rows are combined into columns this many bytes at a time


class _Unsupported(Exception):
    """Raised by the column-wise builder for a case it leaves to patsy."""


def build_design_block(design_infos, data, NA_action="raise", n_trailing=0) -> np.ndarray:
    """The design matrices patsy builds for ``data``, side by side in one float array.

    Equal, value for value, to ``np.column_stack(patsy.build_design_matrices(
    design_infos, data, NA_action=NA_action))``, with ``n_trailing`` more
    columns left uninitialised for the caller to fill.

    Parameters
    ----------
    design_infos : list of patsy.DesignInfo
    data : pandas.DataFrame
    NA_action : {"raise", "drop"} or patsy.NAAction
    n_trailing : int

    Returns
    -------
    numpy.ndarray of shape (n_rows, total columns + n_trailing)
    """
    try:
        return _build_columnwise(design_infos, data, NA_action, n_trailing)
    except _Unsupported:
        pass
    matrices = patsy.build_design_matrices(design_infos, data, NA_action=NA_action,
                                           dtype=float)
    n_rows = matrices[0].shape[0] if matrices else len(data)
    block = np.empty((n_rows, sum(m.shape[1] for m in matrices) + n_trailing))
    start = 0
    for matrix in matrices:
        block[:, start:start + matrix.shape[1]] = matrix
        start += matrix.shape[1]
    return block


def build_coded_design(design_infos, data, layout, NA_action="raise", n_trailing=0):
    """``(block, codes)``: the design of ``data`` with the coded terms of
    ``layout`` (a :class:`~daskglm.frontend.formula_blocks.CodedLayout` of the
    last design info) as integer codes instead of columns.

    ``block`` is :func:`build_design_block` of the designs without the coded
    terms (their other columns in patsy's order); ``codes`` holds, per coded
    term, each row's column within the term (-1: none), as int32. ``data``
    must hold complete rows only.
    """
    *others, info = design_infos
    names = layout.term_names
    dense_info = info.subset([term for term in info.terms if term.name() not in names])
    block = build_design_block(others + [dense_info], data, NA_action, n_trailing)
    codes = np.empty((block.shape[0], len(layout.terms)), dtype=np.int32)
    by_code = {factor.code: factor_info for factor, factor_info in info.factor_infos.items()}
    for column, term in enumerate(layout.terms):
        levels = categorical_codes(by_code[term.factor_code], data, NA_action)
        if levels.shape[0] != block.shape[0] or (levels < 0).any():
            raise ValueError(f"the coded term {term.name} has a missing value in a row "
                             "the design keeps")
        codes[:, column] = term.code_map[levels]
    return block, codes


def categorical_codes(factor_info, data, NA_action="raise") -> np.ndarray:
    """A categorical factor's level index in every row of ``data`` (-1: missing),
    as patsy's ``categorical_to_int`` gives it."""
    value = factor_info.factor.eval(factor_info.state, data)
    try:
        na_action = _na_action(NA_action)
        return _categorical_codes(value, factor_info.categories, data, na_action)
    except _Unsupported:
        na_action = patsy.NAAction(NA_action) if isinstance(NA_action, str) else NA_action
        return np.asarray(patsy.categorical.categorical_to_int(
            value, factor_info.categories, na_action), dtype=np.intp)


def _build_columnwise(design_infos, data, NA_action, n_trailing):
    """:func:`build_design_block` without patsy's row loop; ``_Unsupported`` for
    what it leaves to patsy."""
    na_action = _na_action(NA_action)
    if not isinstance(data, pd.DataFrame):
        raise _Unsupported("data is not a pandas DataFrame")
    if any(info.term_codings is None for info in design_infos):
        raise _Unsupported("a DesignInfo without terms")
    evaluated = _evaluate_factors(design_infos, data, na_action)
    n_rows = len(data)
    if evaluated:
        missing = np.zeros(n_rows, dtype=bool)
        for _, is_missing in evaluated.values():
            missing |= is_missing
        if missing.any():
            if na_action.on_NA != "drop":
                raise _Unsupported("missing values: patsy raises")
            keep = ~missing
            evaluated = {key: (values[keep], None) for key, (values, _) in evaluated.items()}
            n_rows = int(keep.sum())
    widths = [len(info.column_names) for info in design_infos]
    block = np.empty((n_rows, sum(widths) + n_trailing))
    start = 0
    for info, width in zip(design_infos, widths):
        values = {factor: evaluated[id(factor_info)][0]
                  for factor, factor_info in info.factor_infos.items()}
        target = block[:, start:start + width]
        for rows in _row_ranges(n_rows, info):
            _fill_design(info, {factor: value[rows] for factor, value in values.items()},
                         target[rows])
        start += width
    return block


def _row_ranges(n_rows, design_info):
    """Slices of rows whose widest subterm takes about ``_BLOCK_BYTES``: the
    products of proto-columns then stay in cache and reuse one allocation
    instead of page-faulting a fresh row-sized temporary per subterm."""
    widest = max((subterm.num_columns for subterms in design_info.term_codings.values()
                  for subterm in subterms), default=1)
    step = max(512, _BLOCK_BYTES // (8 * widest))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def _na_action(NA_action):
    if isinstance(NA_action, str):
        return patsy.NAAction(NA_action)
    if type(NA_action) is not patsy.NAAction:
        raise _Unsupported("NA_action is not a plain patsy.NAAction")
    return NA_action


# -- evaluating factors -------------------------------------------------------
def _evaluate_factors(design_infos, data, na_action):
    """``{id(factor_info): (values, missing-row mask)}`` over all designs: 2-D
    numeric arrays for numerical factors, integer codes (-1: missing) for
    categorical ones."""
    evaluated = {}
    for info in design_infos:
        for factor_info in info.factor_infos.values():
            if id(factor_info) in evaluated:
                continue
            value = factor_info.factor.eval(factor_info.state, data)
            if factor_info.type == "numerical":
                values = _numerical_values(value, factor_info.num_columns, data)
                is_missing = np.asarray(na_action.is_numerical_NA(values), dtype=bool)
            else:
                values = _categorical_codes(value, factor_info.categories, data, na_action)
                is_missing = values < 0
            evaluated[id(factor_info)] = values, is_missing
    return evaluated


def _check_rows(value, data):
    """patsy requires every factor's value to have the data's rows (and index)."""
    if len(value) != len(data):
        raise _Unsupported("a factor's rows differ from the data's: patsy raises")
    if isinstance(value, (pd.Series, pd.DataFrame)) and not value.index.equals(data.index):
        raise _Unsupported("a factor's index differs from the data's: patsy raises")


def _numerical_values(value, n_columns, data):
    """A numerical factor's value as the 2-D array patsy multiplies into the design."""
    if isinstance(value, pd.Series):
        dtypes = [value.dtype]
    elif isinstance(value, pd.DataFrame):
        dtypes = list(value.dtypes)
    elif isinstance(value, np.ndarray):
        dtypes = [value.dtype]
    else:
        raise _Unsupported(f"a numerical value of type {type(value).__name__}")
    if not all(isinstance(dtype, np.dtype) and dtype.kind in "iuf" for dtype in dtypes):
        raise _Unsupported("a numerical value that is not real numpy numbers")
    if value.ndim not in (1, 2):
        raise _Unsupported("a numerical value with more than 2 dimensions: patsy raises")
    _check_rows(value, data)
    values = np.asarray(value)
    if values.ndim == 1:
        values = values[:, None]
    if values.shape[1] != n_columns:
        raise _Unsupported("a numerical value with other columns than learned: patsy raises")
    return values


def _categorical_codes(value, levels, data, na_action):
    """Integer codes of a categorical factor's value among ``levels`` (-1: missing),
    as ``patsy.categorical.categorical_to_int`` gives them."""
    if _is_pandas_categorical(value):
        # patsy trusts a bare pandas categorical's own codes once its categories match
        codes, categories = _categorical_parts(value)
        if tuple(categories) != levels:
            raise _Unsupported("categories that differ from the learned levels: patsy raises")
        _check_rows(value, data)
        return codes
    if isinstance(value, _CategoricalBox):
        if value.levels is not None and tuple(value.levels) != levels:
            raise _Unsupported("C(levels=) that differ from the learned levels: patsy raises")
        value = value.data
    if not isinstance(value, (np.ndarray, pd.Series, pd.Categorical)) or value.ndim != 1:
        raise _Unsupported(f"a categorical value of type {type(value).__name__}")
    _check_rows(value, data)
    try:
        level_codes = dict(zip(levels, range(len(levels))))
    except TypeError:
        raise _Unsupported("unhashable levels: patsy raises") from None
    row_codes, distinct = _distinct_values(value, level_codes)
    lookup = np.empty(len(distinct) + 1, dtype=np.intp)
    lookup[-1] = -1                   # the rows pandas sees as missing (code -1)
    for position, level in enumerate(distinct):
        lookup[position] = _level_code(level, level_codes, na_action)
    if row_codes.size and row_codes.min() < 0:
        _check_missing_entries(value, np.flatnonzero(row_codes < 0), na_action)
    return lookup[row_codes]


def _is_pandas_categorical(value):
    return isinstance(value, pd.Categorical) or (
        isinstance(value, pd.Series) and isinstance(value.dtype, pd.CategoricalDtype))


def _categorical_parts(value):
    """``(codes, categories)`` of a pandas Categorical or categorical Series."""
    categorical = value.array if isinstance(value, pd.Series) else value
    return np.asarray(categorical.codes, dtype=np.intp), categorical.categories


def _distinct_values(value, level_codes):
    """``(per-row index into distinct values or -1 where pandas sees a missing
    value, distinct values)`` of a 1-D array or Series."""
    if _is_pandas_categorical(value):
        # patsy iterates over the values: the categories, by code
        codes, categories = _categorical_parts(value)
        return codes, list(categories)
    dtype = value.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind not in _CATEGORICAL_KINDS:
            raise _Unsupported(f"categorical values of dtype {dtype}")
        if dtype.kind == "b":
            # patsy's fast path for booleans looks up both levels, even if unused
            if False not in level_codes or True not in level_codes:
                raise _Unsupported("boolean values without both levels: patsy raises")
            return np.asarray(value).view(np.uint8).astype(np.intp), [False, True]
    elif not isinstance(dtype, pd.StringDtype):
        raise _Unsupported(f"categorical values of dtype {dtype}")
    try:
        row_codes, distinct = pd.factorize(value, use_na_sentinel=True)
    except TypeError:
        raise _Unsupported("unhashable values: patsy raises") from None
    distinct = list(distinct)
    if dtype.kind == "O" and any(isinstance(level, (tuple, complex)) for level in distinct):
        raise _Unsupported("tuples or complex numbers as categorical values")
    return np.asarray(row_codes, dtype=np.intp), distinct


def _level_code(level, level_codes, na_action):
    """patsy's code of one value: -1 if missing, else its level's position."""
    if na_action.is_categorical_NA(level):
        return -1
    try:
        return level_codes[level]
    except (KeyError, TypeError):
        raise _Unsupported("a value outside the learned levels: patsy raises") from None


def _check_missing_entries(value, rows, na_action):
    """The entries pandas sees as missing must be missing for patsy too.

    Entries are read by iterating, as patsy reads them. Outside object arrays
    all missing entries of one array are the same kind of value (NaN, or the
    dtype's missing value), so one stands for all.
    """
    if value.dtype != object:
        rows = rows[:1]
    subset = value.iloc[rows] if isinstance(value, pd.Series) else value[rows]
    if not all(na_action.is_categorical_NA(entry) for entry in subset):
        raise _Unsupported("a missing value patsy does not count as missing: patsy raises")


# -- combining factors into columns -------------------------------------------
def _fill_design(design_info, values, out):
    """Write ``design_info``'s columns for the evaluated factor ``values`` into ``out``."""
    start = 0
    for subterms in design_info.term_codings.values():
        for subterm in subterms:
            stop = start + subterm.num_columns
            out[:, start:stop] = _subterm_columns(subterm, values, out.shape[0])
            start = stop
    if start != out.shape[1]:
        raise RuntimeError(f"the design has {out.shape[1]} columns but its terms gave {start}")


def _subterm_columns(subterm, values, n_rows):
    """One subterm's columns: elementwise products of its factors' proto-columns.

    Columns run over every combination of the factors' proto-columns with
    the left-most factor's index varying fastest; each product is taken
    left to right starting from that factor, in float64, as patsy does.
    """
    if not subterm.factors:
        return np.ones((n_rows, 1))
    columns = None
    for factor in subterm.factors:
        if factor in subterm.contrast_matrices:
            if isinstance(subterm.contrast_matrices[factor], CodedContrast):
                raise RuntimeError("a coded term's contrast was used for dense columns")
            matrix = np.asarray(subterm.contrast_matrices[factor].matrix, dtype=np.float64)
            proto = matrix[values[factor]]
        else:
            proto = values[factor]
        if columns is None:
            columns = np.asarray(proto, dtype=np.float64)
        else:
            columns = (proto[:, :, None] * columns[:, None, :]).reshape(n_rows, -1)
    return columns
