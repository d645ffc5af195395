"""Formulas over dask dataframes: patsy's design, learned over every partition.

A formula such as ``"y ~ x1 + np.log(x2) + C(g) + center(age)"`` becomes a
chunked design in three steps:

1. **Check** (client, no data): patsy parses the formula; every name a term
   uses must be a column of the data or defined where :func:`daskglm.glm`
   was called, else the error names it.
2. **Learn** (one pass over the partitions, :mod:`.formula_learning`): each
   partition sends back only small things: the categorical levels it saw,
   the partial sums of stateful transforms, how many columns numeric
   factors have, and how many of its rows are complete. No row leaves the
   workers.
3. **Build** (per partition, lazily; this module): the merged knowledge, a
   :class:`~daskglm.frontend.recipe.Recipe`, becomes patsy ``DesignInfo``
   objects (patsy itself lays out the columns, on a one-row prototype whose
   factors report the learned types), and every partition is turned into
   its block of the design exactly as ``patsy.build_design_matrices``
   would, by :func:`daskglm.frontend.fast_design.build_design_block` (whole
   columns at a time instead of patsy's per-row loop over categorical values).

Because the number of complete rows of every partition is known after step
2, the design is a dask array with known chunk sizes without another pass.
A partition that lacks some levels of a categorical still gets every column.
Predictions on new data from the same recipe are
:func:`daskglm.frontend.prediction.predict_frame`.
"""

from __future__ import annotations

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from patsy import INTERCEPT, EvalEnvironment

from .fast_design import build_coded_design, build_design_block
from .formula_blocks import coded_layout
from .formula_learning import (
    check_factor_passes,
    check_missing,
    learn_partition,
    merge_categories,
    merge_factor,
    resolve_names,
)
from .recipe import Recipe, complete_rows, extra_values, in_task

__all__ = ["FormulaDesign", "learn_formula", "attach_arrays", "as_dask_frame", "EXTRA_ROLES"]

#: The roles of per-row columns that travel with the design besides X and y.
EXTRA_ROLES = ("offset", "exposure", "freq_weights", "var_weights")


# -- the user-facing result ---------------------------------------------------
class FormulaDesign:
    """A formula learned over every partition of a dask dataframe.

    Build it with :func:`learn_formula`. It lays out the design of the data
    it was learned on (:meth:`design`); :func:`daskglm.frontend.prediction.predict_frame`
    predicts on new data with it.

    Attributes
    ----------
    formula : str
    endog_name : str
        The response's name (patsy's column name of the left-hand side; for
        two columns, their list as statsmodels shows it).
    endog_names : list of str
        The left-hand side's columns (two: a binomial (successes, failures)).
    exog_names : list of str
        The design's column names, as patsy and statsmodels name them.
    design_info : patsy.DesignInfo
        The right-hand side's design info (statsmodels' ``model.data.design_info``).
    intercept_index : int or None
        The column of the intercept, if the formula has one.
    coded : CodedLayout or None
        The categorical terms kept as integer codes rather than dummy
        columns (:mod:`daskglm.frontend.formula_blocks`).
    """

    def __init__(self, recipe: Recipe, partitions, row_counts):
        self._recipe = recipe
        # The learned partitions themselves (Delayed), so the design is cut
        # exactly as the counts were taken (dask may otherwise plan a frame's
        # partitions anew, e.g. fusing small parquet files).
        self._partitions = list(partitions)
        self.row_counts = tuple(row_counts)
        lhs, rhs = recipe.design_infos()
        if len(lhs.column_names) not in (1, 2) or any(
                info.type != "numerical" for info in lhs.factor_infos.values()):
            raise ValueError(
                f"the response of {recipe.text!r} must be one numeric column (or two, "
                f"successes and failures, for the Binomial family); it gives "
                f"{lhs.column_names} (convert a boolean or categorical response to 0/1 floats)")
        self.formula = recipe.text
        self.endog_names = list(lhs.column_names)
        self.endog_name = self.endog_names[0] if len(self.endog_names) == 1 else \
            str(self.endog_names)
        self.design_info = rhs
        self.exog_names = list(rhs.column_names)
        self.intercept_index = None
        for term, columns in rhs.term_slices.items():
            if term == INTERCEPT:
                self.intercept_index = columns.start
        self.coded = coded_layout(rhs)

    def __repr__(self):
        return f"FormulaDesign({self.formula!r}, {len(self.exog_names)} columns)"

    def __reduce__(self):
        # patsy's design infos refuse pickling: rebuild them from the recipe
        return type(self), (self._recipe, self._partitions, self.row_counts)

    @property
    def recipe(self) -> Recipe:
        """The picklable recipe: formula text, namespace and what was learned
        (read by :mod:`daskglm.frontend.saved`; ``FormulaDesign(recipe, [], [])``
        rebuilds a design that predicts)."""
        return self._recipe

    @property
    def extras(self) -> dict:
        """Roles (offset, exposure, freq_weights, var_weights) read from data columns."""
        return dict(self._recipe.extras)

    def design(self) -> dict:
        """The design of the data the formula was learned on, lazily.

        Returns a dict of dask arrays with known chunk sizes (one chunk per
        partition, complete rows only): ``"y"`` (two-dimensional for a
        two-column left-hand side), ``"X"`` and one entry per
        extra role; with coded terms, ``"X"`` holds the dense columns and
        ``"codes"`` the terms' codes (int32, one column per term).
        """
        roles = list(self._recipe.extras)
        coded = self.coded
        p = len(self.exog_names) if coded is None else len(coded.dense_columns)
        k = len(self.endog_names)
        width = k + p + len(roles)
        build = dask.delayed(design_partition, pure=True, nout=2 if coded else None)
        parts = [build(part, self._recipe, count, coded)
                 for part, count in zip(self._partitions, self.row_counts)]
        blocks = [da.from_delayed(part[0] if coded else part, shape=(count, width),
                                  dtype=float)
                  for part, count in zip(parts, self.row_counts)]
        array = da.concatenate(blocks, axis=0)
        out = {"y": array[:, 0] if k == 1 else array[:, :k], "X": array[:, k:k + p]}
        if coded is not None:
            out["codes"] = da.concatenate(
                [da.from_delayed(part[1], shape=(count, len(coded.terms)), dtype=np.int32)
                 for part, count in zip(parts, self.row_counts)], axis=0)
        for i, role in enumerate(roles):
            out[role] = array[:, k + p + i]
        return out


@in_task
def design_partition(df, recipe, expected, coded=None):
    """One partition's block ``[y | X | extras]`` (complete rows only; ``y`` is
    one column per left-hand side column); with a
    :class:`~daskglm.frontend.formula_blocks.CodedLayout`, ``(block, codes)``
    with the coded terms' columns left out of X."""
    df = recipe.prepare(df)
    complete = complete_rows(df, recipe)
    rows = df.iloc[np.flatnonzero(complete)] if not complete.all() else df
    lhs_info, rhs_info = recipe.design_infos()
    p = len(rhs_info.column_names) if coded is None else len(coded.dense_columns)
    width = len(lhs_info.column_names) + p + len(recipe.extras)
    codes = None if coded is None else np.empty((len(rows), len(coded.terms)), np.int32)
    if len(rows) == 0:
        block = np.empty((0, width))
    elif coded is not None:
        block, codes = build_coded_design([lhs_info, rhs_info], rows, coded, NA_action="raise",
                                          n_trailing=len(recipe.extras))
    else:
        block = build_design_block([lhs_info, rhs_info], rows, NA_action="raise",
                                   n_trailing=len(recipe.extras))
    if len(rows):
        first = width - len(recipe.extras)
        for offset, (role, column) in enumerate(recipe.extras.items()):
            values = extra_values(rows, column)
            block[:, first + offset] = np.log(values) if role == "exposure" else values
    if block.shape[0] != expected:
        raise RuntimeError(
            f"a partition gave {block.shape[0]} complete rows but {expected} were counted "
            "when the formula was learned; did the data change in between?")
    return block if coded is None else (block, codes)


# -- learning ---------------------------------------------------------------
def _capture_env(eval_env):
    """The environment ``eval_env`` frames above the caller of learn_formula."""
    if isinstance(eval_env, EvalEnvironment):
        return eval_env
    return EvalEnvironment.capture(eval_env + 2)


def learn_formula(formula, data, *, extras=None, missing="drop", eval_env=0,
                  drop="first") -> FormulaDesign:
    """Learn a formula over every partition of ``data`` in one pass.

    Parameters
    ----------
    formula : str
        A patsy formula, ``"y ~ x1 + C(g) + center(x2)"``.
    data : dask or pandas DataFrame
    extras : dict, optional
        ``{role: column}`` for the per-row columns that travel with the design
        (roles: offset, exposure, freq_weights, var_weights).
    missing : {"drop", "raise", "none"}
        ``"drop"`` drops rows with a missing value in any term or extra column;
        otherwise such rows are an error ("none" is "raise", as in statsmodels).
    eval_env : int or patsy.EvalEnvironment
        Where names that are not columns are looked up: a frame depth relative
        to the caller of this function (0: the caller), or an environment.
    drop : {"first", None}
        Treatment-coded categoricals drop their reference level ("first",
        patsy's coding) or keep every level (None: only a penalized fit is
        identifiable).

    Returns
    -------
    FormulaDesign
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, got {type(formula).__name__}")
    if missing not in ("drop", "raise", "none"):
        raise ValueError(f"missing must be 'drop', 'raise' or 'none', got {missing!r}")
    data = as_dask_frame(data)
    extras = dict(extras or {})
    env = _capture_env(eval_env)
    columns = list(data.columns)
    for role, column in extras.items():
        if column not in columns:
            raise ValueError(f"{role}={column!r} is not a column of the data")
        if not pd.api.types.is_numeric_dtype(data._meta[column].dtype):
            raise TypeError(f"{role}={column!r} must be a numeric column, "
                            f"got dtype {data._meta[column].dtype}")
    draft = Recipe(formula, {}, data._meta)
    _, factors = draft.parsed()
    namespace = resolve_names(formula, factors, columns, env.namespace)
    used = draft.referenced_columns()
    used += [c for c in extras.values() if c not in used]
    placeholders = {c: () for c in used if isinstance(data._meta[c].dtype, pd.CategoricalDtype)}
    recipe = Recipe(formula, namespace, data._meta[used], categories=placeholders, extras=extras,
                    drop=drop)
    check_factor_passes(recipe)
    frame = data[used]
    partitions = frame.to_delayed()
    learn = dask.delayed(learn_partition, pure=True)
    reports = dask.compute(*[learn(part, recipe) for part in partitions])
    check_missing(reports, missing)
    learned = {factor.code: merge_factor(factor.code, [r["learned"][factor.code] for r in reports])
               for factor in factors}
    final = recipe.with_learned(learned, merge_categories(frame, reports))
    return FormulaDesign(final, partitions, [r["n_complete"] for r in reports])


def as_dask_frame(data):
    if isinstance(data, dd.DataFrame):
        return data
    if isinstance(data, pd.DataFrame):
        return dd.from_pandas(data, npartitions=1, sort=False)
    raise TypeError(f"data must be a pandas or dask DataFrame, got {type(data).__name__}")


def attach_arrays(data, arrays):
    """``data`` with row-aligned arrays added as columns; returns ``(data, names)``.

    ``arrays`` maps a role to a dask Series (same partitions as ``data``), a
    dask array, or an in-memory array (numpy, pandas, list), aligned by
    position with ``data``'s rows.
    """
    names = {}
    lengths = None
    for role, values in arrays.items():
        column = f"__daskglm_{role}__"
        if isinstance(values, dd.Series):
            data = data.assign(**{column: values})
        else:
            if lengths is None:
                lengths = tuple(int(n) for n in data.map_partitions(len).compute())
            values = values if isinstance(values, da.Array) else np.asarray(values, dtype=float)
            if values.ndim != 1 or values.shape[0] != sum(lengths):
                raise ValueError(f"{role} has shape {values.shape} but the data has "
                                 f"{sum(lengths)} rows; pass one value per row")
            if isinstance(values, da.Array):
                values = values.rechunk((lengths,))
            else:
                values = da.from_array(values, chunks=(lengths,))
            data = data.assign(**{column: values})
        names[role] = column
    return data, names
