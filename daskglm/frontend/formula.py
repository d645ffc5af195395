"""Formulas over dask dataframes: patsy's design, learned over every partition.

A formula such as ``"y ~ x1 + np.log(x2) + C(g) + center(age)"`` becomes a
chunked design in three steps:

1. **Check** (client, no data): patsy parses the formula; every name a term
   uses must be a column of the data or defined where :func:`daskglm.glm`
   was called, else the error names it.
2. **Learn** (one pass over the partitions): each partition evaluates every
   factor of the formula and sends back only small things: the categorical
   levels it saw, the partial sums of stateful transforms (``center``,
   ``standardize``), how many columns numeric factors have, and how many of
   its rows are complete. No row leaves the workers.
3. **Build** (per partition, lazily): the merged knowledge becomes patsy
   ``DesignInfo`` objects (patsy itself lays out the columns, on a one-row
   prototype whose factors report the learned types), and every partition is
   turned into its block of the design exactly as ``patsy.build_design_matrices``
   would, by :func:`daskglm.fast_design.build_design_block` (whole columns at
   a time instead of patsy's per-row loop over categorical values).

Because the number of complete rows of every partition is known after step
2, the design is a dask array with known chunk sizes without another pass.
A partition that lacks some levels of a categorical still gets every column.

patsy's objects cannot be pickled, so what travels to workers is a
:class:`_Recipe` (the formula text, the names it needs from the caller's
scope, and what was learned) that rebuilds the ``DesignInfo`` where it runs.
"""

from __future__ import annotations

import ast
import builtins
import functools
import uuid
from dataclasses import dataclass, field

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import patsy
import patsy.builtins
from patsy import INTERCEPT, EvalEnvironment, ModelDesc, Term
from patsy.categorical import CategoricalSniffer, guess_categorical

from .fast_design import build_design_block
from .transforms import MERGEABLE, PATSY_TRANSFORMS, as_2d

__all__ = ["FormulaDesign", "learn_formula", "attach_arrays"]

#: The roles of per-row columns that travel with the design besides X and y.
EXTRA_ROLES = ("offset", "exposure", "freq_weights", "var_weights")
_PROTOTYPE = object()  # the stand-in "data" patsy lays out the columns on


# -- what one factor is, as learned ------------------------------------------
@dataclass
class _Learned:
    """What the data says about one factor (picklable: no patsy objects)."""

    kind: str                       # "numerical" or "categorical"
    n_columns: int = 1
    levels: tuple = ()
    explicit_levels: bool = False   # levels given by a Categorical / C(levels=)
    transforms: dict = field(default_factory=dict)


class _LearnedFactor:
    """A patsy factor that wraps an ``EvalFactor`` whose type, levels and
    stateful transforms are already known, so patsy needs no data to lay out
    the design (patsy's factor protocol)."""

    def __init__(self, factor, learned: _Learned, meta):
        self._factor = factor
        self._learned = learned
        self._meta = meta
        self.origin = factor.origin
        self.code = factor.code

    def name(self):
        return self._factor.name()

    def __repr__(self):
        return f"_LearnedFactor({self.code!r})"

    def __eq__(self, other):
        return isinstance(other, _LearnedFactor) and self.code == other.code

    def __hash__(self):
        return hash((_LearnedFactor, self.code))

    def memorize_passes_needed(self, state, eval_env):
        self._factor.memorize_passes_needed(state, eval_env)
        state["transforms"].update(self._learned.transforms)
        return 0

    def eval(self, state, data):
        if data is not _PROTOTYPE:
            return self._factor.eval(state, data)
        learned = self._learned
        if learned.kind == "numerical":
            return np.zeros((1, learned.n_columns))
        with np.errstate(all="ignore"):
            on_meta = self._factor.eval(state, self._meta)
        contrast = getattr(on_meta, "contrast", None)
        return patsy.builtins.C(np.array(learned.levels[:1], dtype=object), contrast, learned.levels)


# -- the picklable description of a formula ----------------------------------
class _Recipe:
    """The formula, the names it needs from the caller's scope, what the data
    taught about its factors, and the categories of categorical columns.

    Picklable and cheap to tokenize; the patsy objects are rebuilt (and
    cached) in whatever process uses them.
    """

    def __init__(self, text, namespace, meta, learned=None, categories=None, extras=None):
        self.text = text
        self.namespace = namespace
        self.meta = meta
        self.learned = learned or {}
        self.categories = categories or {}
        self.extras = extras or {}          # role -> column name in the data
        self._token = uuid.uuid4().hex
        self._cache = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __dask_tokenize__(self):
        return ("daskglm.formula._Recipe", self._token)

    def with_learned(self, learned, categories):
        return _Recipe(self.text, self.namespace, self.meta, learned, categories, self.extras)

    def with_extras(self, extras):
        return _Recipe(self.text, self.namespace, self.meta, self.learned, self.categories, extras)

    @property
    def eval_env(self):
        return EvalEnvironment([self.namespace])

    def parsed(self):
        """``(ModelDesc, factors in order of appearance)``."""
        if "parsed" not in self._cache:
            desc = ModelDesc.from_formula(self.text)
            factors = []
            for term in desc.lhs_termlist + desc.rhs_termlist:
                factors.extend(f for f in term.factors if f not in factors)
            self._cache["parsed"] = desc, factors
        return self._cache["parsed"]

    def design_infos(self):
        """patsy ``DesignInfo`` of the response and of the regressors."""
        if "infos" not in self._cache:
            desc, _ = self.parsed()
            wrapped = {}

            def wrap(termlist):
                return [Term([wrapped.setdefault(f.code, _LearnedFactor(
                    f, self.learned[f.code], self.meta)) for f in term.factors])
                    for term in termlist]

            infos = patsy.design_matrix_builders(
                [wrap(desc.lhs_termlist), wrap(desc.rhs_termlist)],
                lambda: iter([_PROTOTYPE]), self.eval_env, "drop")
            self._cache["infos"] = tuple(infos)
        return self._cache["infos"]

    def factor_states(self, rhs_only=False):
        """``[(factor, state, kind)]`` of the designs, for evaluating rows."""
        key = ("states", rhs_only)
        if key not in self._cache:
            infos = self.design_infos()[1:] if rhs_only else self.design_infos()
            seen = {}
            for info in infos:
                for factor, factor_info in info.factor_infos.items():
                    seen[factor.code] = (factor, factor_info.state, factor_info.type)
            self._cache[key] = list(seen.values())
        return self._cache[key]

    def prepare(self, df):
        """The partition with a fresh index and categorical columns carrying
        exactly the learned categories (a value outside them is an error)."""
        df = df.reset_index(drop=True)
        for column, categories in self.categories.items():
            if column not in df.columns:
                continue
            values = df[column]
            if not isinstance(values.dtype, pd.CategoricalDtype):
                continue
            if tuple(values.cat.categories) != categories:
                unseen = set(values.dropna().unique()) - set(categories)
                if unseen:
                    raise ValueError(
                        f"column {column!r} has level(s) {sorted(map(str, unseen))} "
                        f"not seen when the model was built (levels: {list(categories)})")
                df[column] = values.cat.set_categories(categories)
        return df


# -- evaluating factors on one partition --------------------------------------
def _in_task(func):
    """Run a per-partition task, turning patsy's errors into ``ValueError``.

    patsy's errors hold formula origins that do not pickle, so a worker could
    not send them back; the message travels alone, with no patsy error in its
    context.
    """
    @functools.wraps(func)
    def task(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except patsy.PatsyError as error:
            problem = str(error)
        raise ValueError(problem)

    return task


def _categorical_missing(value):
    data = value.data if isinstance(value, patsy.categorical._CategoricalBox) else value
    if isinstance(data, (pd.Series, pd.Categorical)):
        return np.asarray(pd.isna(data))
    data = np.asarray(data)
    if data.dtype.kind == "b":
        return np.zeros(data.shape[0], dtype=bool)
    return np.asarray(pd.isna(data.astype(object)))


def _numerical_missing(value):
    return np.isnan(as_2d(value)).any(axis=1)


def _missing(value, kind):
    return _categorical_missing(value) if kind == "categorical" else _numerical_missing(value)


def _has_explicit_levels(value):
    if isinstance(value, patsy.categorical._CategoricalBox):
        if value.levels is not None:
            return True
        value = value.data
    return isinstance(value, pd.Categorical) or isinstance(
        getattr(value, "dtype", None), pd.CategoricalDtype)


def _distinct_values(data):
    """A categorical factor's distinct values, as Python objects for patsy's sniffer.

    A 1-D array or Series is reduced by pandas in its own dtype (converting
    every row to a Python object first costs more than finding the levels).
    Values pandas counts as missing are left out: their rows are dropped as
    missing (:func:`_categorical_missing`), and some of them (``pd.NA``,
    ``NaT``) are not missing to patsy's sniffer.
    """
    if isinstance(data, (pd.Series, np.ndarray)) and data.ndim == 1:
        distinct = pd.unique(data)
        return np.asarray(distinct[~pd.isna(distinct)], dtype=object)
    return pd.unique(pd.Series(np.asarray(data, dtype=object).ravel()))


def _learn_factor(factor, value):
    """``(_Learned, missing-row mask)`` for one factor's value on one partition."""
    if not guess_categorical(value):
        values = np.asarray(value)
        if values.ndim > 2:
            raise ValueError(f"the term {factor.code!r} gives a {values.ndim}-dimensional value")
        learned = _Learned("numerical", n_columns=as_2d(values).shape[1])
        return learned, _numerical_missing(values)
    sniffer = CategoricalSniffer(patsy.NAAction(), factor.origin)
    explicit = _has_explicit_levels(value)
    if explicit:
        sniffer.sniff(value)
    else:
        data = value.data if isinstance(value, patsy.categorical._CategoricalBox) else value
        sniffer.sniff(_distinct_values(data))
    levels, _ = sniffer.levels_contrast()
    return _Learned("categorical", levels=levels, explicit_levels=explicit), \
        _categorical_missing(value)


def _extra_values(df, column):
    values = df[column]
    if not pd.api.types.is_numeric_dtype(values.dtype):
        raise TypeError(f"column {column!r} must be numeric, got dtype {values.dtype}")
    return values.to_numpy(dtype=float, na_value=np.nan)


@_in_task
def _learn_partition(df, recipe):
    """One partition's report: levels, transform sums, column counts, missing rows."""
    _, factors = recipe.parsed()
    env = recipe.eval_env
    report = {"n_rows": len(df), "learned": {}, "missing": {}, "nonpositive_exposure": 0,
              "categories": {}}
    complete = np.ones(len(df), dtype=bool)
    for factor in factors:
        state = {}
        if factor.memorize_passes_needed(state, env):
            factor.memorize_chunk(state, 0, df)
            factor.memorize_finish(state, 0)
        partial = dict(state["transforms"])
        # evaluate with finite stand-ins: the value's type and missing rows do not
        # depend on the summaries, which may be undefined on this partition alone
        state["transforms"] = {name: t.neutral() for name, t in partial.items()}
        with np.errstate(all="ignore"):
            value = factor.eval(state, df)
        learned, missing = _learn_factor(factor, value)
        learned.transforms = partial
        report["learned"][factor.code] = learned
        report["missing"][factor.code] = int(missing.sum())
        complete &= ~missing
    for role, column in recipe.extras.items():
        values = _extra_values(df, column)
        missing = np.isnan(values)
        report["missing"][role] = int(missing.sum())
        if role == "exposure":
            report["nonpositive_exposure"] = int(np.count_nonzero(values[~missing] <= 0))
        complete &= ~missing
    for column in recipe.categories:
        report["categories"][column] = tuple(df[column].cat.categories)
    report["n_complete"] = int(complete.sum())
    return report


def _complete_rows(df, recipe, rhs_only=False):
    """Mask of the rows with no missing value in any factor or extra column."""
    complete = np.ones(len(df), dtype=bool)
    with np.errstate(all="ignore"):
        for factor, state, kind in recipe.factor_states(rhs_only):
            complete &= ~_missing(factor.eval(state, df), kind)
    for column in recipe.extras.values():
        complete &= ~np.isnan(_extra_values(df, column))
    return complete


# -- merging what the partitions learned --------------------------------------
def _sorted_union(groups):
    """Levels of several partitions, sorted as patsy sorts levels it finds."""
    sniffer = CategoricalSniffer(patsy.NAAction())
    sniffer.sniff([level for group in groups for level in group])
    return sniffer.levels_contrast()[0]


def _merge_levels(parts):
    """A categorical factor's levels over all partitions.

    Levels given explicitly (a pandas Categorical, ``C(x, levels=...)``) keep
    their order when every partition agrees (categories dask knows); partitions
    that disagree (categories dask does not know) and levels found in the
    values are merged and sorted, as patsy sorts the levels it finds.
    """
    explicit = all(p.explicit_levels for p in parts)
    if explicit and len({p.levels for p in parts}) == 1:
        return parts[0].levels, True
    return _sorted_union(p.levels for p in parts), explicit


def _merge_factor(code, parts):
    kinds = {p.kind for p in parts}
    if len(kinds) > 1:
        raise ValueError(f"the term {code!r} is numeric in some partitions and "
                         "categorical in others; wrap it in C() or convert its column")
    kind = kinds.pop()
    merged = _Learned(kind)
    if kind == "numerical":
        counts = {p.n_columns for p in parts}
        if len(counts) > 1:
            raise ValueError(f"the term {code!r} has {sorted(counts)} columns in different partitions")
        merged.n_columns = counts.pop()
    else:
        merged.levels, merged.explicit_levels = _merge_levels(parts)
        if not merged.levels:
            raise ValueError(f"the categorical term {code!r} has no non-missing value in the data")
    for name in parts[0].transforms:
        transform = type(parts[0].transforms[name]).merge([p.transforms[name] for p in parts])
        if not transform.is_defined():
            raise ValueError(
                f"the stateful transform in the term {code!r} is undefined: its input has "
                "missing or infinite values (or no rows), so its mean/scale cannot be "
                "learned; drop those rows from the data first")
        merged.transforms[name] = transform
    return merged


def _merge_categories(data, reports):
    """Categories of each categorical column: dask's when it knows them, else the
    sorted union of the partitions' (see :func:`_merge_levels`)."""
    merged = {}
    for column in reports[0]["categories"] if reports else ():
        if data[column].cat.known:
            merged[column] = tuple(data[column].dtype.categories)
        else:
            merged[column] = _sorted_union(r["categories"][column] for r in reports)
    return merged


def _check_missing(reports, missing):
    totals = {}
    for report in reports:
        for name, count in report["missing"].items():
            totals[name] = totals.get(name, 0) + count
    bad = {name: count for name, count in totals.items() if count}
    if bad and missing != "drop":
        listing = ", ".join(f"{name!r} ({count} rows)" for name, count in bad.items())
        raise ValueError(f"missing values in {listing}; pass missing='drop' to drop those rows")
    nonpositive = sum(r["nonpositive_exposure"] for r in reports)
    if nonpositive:
        raise ValueError(f"exposure must be positive; {nonpositive} row(s) have exposure <= 0")


# -- the user-facing result ---------------------------------------------------
class FormulaDesign:
    """A formula learned over every partition of a dask dataframe.

    Build it with :func:`learn_formula`. It lays out the design of the data
    it was learned on (:meth:`design`) and predicts on new data (:meth:`predict`).

    Attributes
    ----------
    formula : str
    endog_name : str
        The response's name (patsy's column name of the left-hand side).
    exog_names : list of str
        The design's column names, as patsy and statsmodels name them.
    design_info : patsy.DesignInfo
        The right-hand side's design info (statsmodels' ``model.data.design_info``).
    intercept_index : int or None
        The column of the intercept, if the formula has one.
    """

    def __init__(self, recipe: _Recipe, partitions, row_counts):
        self._recipe = recipe
        # The learned partitions themselves (Delayed), so the design is cut
        # exactly as the counts were taken (dask may otherwise plan a frame's
        # partitions anew, e.g. fusing small parquet files).
        self._partitions = list(partitions)
        self.row_counts = tuple(row_counts)
        lhs, rhs = recipe.design_infos()
        if len(lhs.column_names) != 1 or any(
                info.type != "numerical" for info in lhs.factor_infos.values()):
            raise ValueError(
                f"the response of {recipe.text!r} must be one numeric column; it gives "
                f"{lhs.column_names} (convert a boolean or categorical response to 0/1 floats)")
        self.formula = recipe.text
        self.endog_name = lhs.column_names[0]
        self.design_info = rhs
        self.exog_names = list(rhs.column_names)
        self.intercept_index = None
        for term, columns in rhs.term_slices.items():
            if term == INTERCEPT:
                self.intercept_index = columns.start

    def __repr__(self):
        return f"FormulaDesign({self.formula!r}, {len(self.exog_names)} columns)"

    @property
    def recipe(self) -> _Recipe:
        """The picklable recipe: formula text, namespace and what was learned
        (read by :mod:`daskglm.saved`; ``FormulaDesign(recipe, [], [])``
        rebuilds a design that predicts)."""
        return self._recipe

    @property
    def extras(self) -> dict:
        """Roles (offset, exposure, freq_weights, var_weights) read from data columns."""
        return dict(self._recipe.extras)

    def design(self) -> dict:
        """The design of the data the formula was learned on, lazily.

        Returns a dict of dask arrays with known chunk sizes (one chunk per
        partition, complete rows only): ``"y"``, ``"X"`` and one entry per
        extra role.
        """
        roles = list(self._recipe.extras)
        width = 1 + len(self.exog_names) + len(roles)
        build = dask.delayed(_design_partition, pure=True)
        blocks = [da.from_delayed(build(part, self._recipe, count), shape=(count, width),
                                  dtype=float)
                  for part, count in zip(self._partitions, self.row_counts)]
        array = da.concatenate(blocks, axis=0)
        p = len(self.exog_names)
        out = {"y": array[:, 0], "X": array[:, 1:1 + p]}
        for i, role in enumerate(roles):
            out[role] = array[:, 1 + p + i]
        return out

    def predict(self, data, coef, family, which="mean", offset=None, exposure=None):
        """Predictions on new data, lazily: a dask Series aligned with ``data``.

        The design of every partition is built from the stored design info;
        a categorical level not seen in the training data is an error, and
        rows with a missing value get NaN.

        Parameters
        ----------
        data : dask or pandas DataFrame
        coef : array of shape (n_features,)
        family : Family
        which : {"mean", "linear"}
        offset, exposure : str (column of ``data``) or array aligned with its rows, optional
        """
        data = _as_dask_frame(data)
        given = {role: values for role, values in (("offset", offset), ("exposure", exposure))
                 if values is not None}
        data, attached = attach_arrays(
            data, {r: v for r, v in given.items() if not isinstance(v, str)})
        extras = {r: v for r, v in given.items() if isinstance(v, str)}
        extras.update(attached)
        for role, column in extras.items():
            if column not in data.columns:
                raise ValueError(f"{role}={column!r} is not a column of the new data")
        columns = _referenced_columns(self._recipe, rhs_only=True)
        absent = [c for c in columns if c not in data.columns]
        if absent:
            raise ValueError(f"the new data lacks column(s) {absent} that the formula uses")
        recipe = self._recipe.with_extras(extras)
        columns += [c for c in extras.values() if c not in columns]
        return data[columns].map_partitions(
            predict_partition, recipe, np.asarray(coef, dtype=float), family, which,
            meta=pd.Series(np.empty(0), name="predicted"), enforce_metadata=False)


@_in_task
def _design_partition(df, recipe, expected):
    """One partition's block ``[y | X | extras]`` (complete rows only)."""
    df = recipe.prepare(df)
    complete = _complete_rows(df, recipe)
    rows = df.iloc[np.flatnonzero(complete)] if not complete.all() else df
    lhs_info, rhs_info = recipe.design_infos()
    width = 1 + len(rhs_info.column_names) + len(recipe.extras)
    if len(rows) == 0:
        block = np.empty((0, width))
    else:
        block = build_design_block([lhs_info, rhs_info], rows, NA_action="raise",
                                   n_trailing=len(recipe.extras))
        first = width - len(recipe.extras)
        for offset, (role, column) in enumerate(recipe.extras.items()):
            values = _extra_values(rows, column)
            block[:, first + offset] = np.log(values) if role == "exposure" else values
    if block.shape[0] != expected:
        raise RuntimeError(
            f"a partition gave {block.shape[0]} complete rows but {expected} were counted "
            "when the formula was learned; did the data change in between?")
    return block


@_in_task
def predict_partition(df, recipe, coef, family, which):
    """Predictions for one partition of new data: NaN where a value is missing."""
    index = df.index
    df = recipe.prepare(df)
    complete = _complete_rows(df, recipe, rhs_only=True)
    out = np.full(len(df), np.nan)
    rows = df.iloc[np.flatnonzero(complete)] if not complete.all() else df
    if len(rows):
        rhs = build_design_block([recipe.design_infos()[1]], rows, NA_action="raise")
        eta = rhs @ coef
        if "offset" in recipe.extras:
            eta = eta + _extra_values(rows, recipe.extras["offset"])
        if "exposure" in recipe.extras:
            exposure = _extra_values(rows, recipe.extras["exposure"])
            if np.any(exposure <= 0):
                raise ValueError("exposure must be positive; the new data has exposure <= 0")
            eta = eta + np.log(exposure)
        out[complete] = eta if which == "linear" else family.mean(eta)
    return pd.Series(out, index=index, name="predicted")


# -- learning ---------------------------------------------------------------
def _names_in(code):
    """Variable names a factor's code reads, and columns it names through Q()."""
    tree = ast.parse(code.strip(), mode="eval")
    names, quoted = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "Q" and node.args
                and isinstance(node.args[0], ast.Constant)):
            quoted.add(node.args[0].value)
    return names, quoted


def _referenced_columns(recipe, rhs_only=False):
    desc, factors = recipe.parsed()
    if rhs_only:
        factors = [f for term in desc.rhs_termlist for f in term.factors]
    columns = []
    for factor in factors:
        names, quoted = _names_in(factor.code)
        for name in sorted(names | quoted, key=str):
            if name in recipe.meta.columns and name not in columns:
                columns.append(name)
    return columns


def _resolve_names(text, factors, columns, env_namespace):
    """The namespace a formula needs from the caller, checking every name exists."""
    namespace = {}
    for factor in factors:
        names, quoted = _names_in(factor.code)
        for column in quoted:
            if column not in columns:
                raise ValueError(f"the formula {text!r} refers to the column {column!r} "
                                 f"(in {factor.code!r}), which the data does not have")
        for name in names - set(columns):
            if name in env_namespace:
                value = env_namespace[name]
                namespace[name] = PATSY_TRANSFORMS.get(id(value), value)
            elif name in MERGEABLE:
                namespace[name] = MERGEABLE[name]
            elif not (hasattr(patsy.builtins, name) or hasattr(builtins, name)):
                shown = ", ".join(map(str, list(columns)[:20]))
                raise ValueError(
                    f"the formula {text!r} refers to {name!r} (in {factor.code!r}), which is "
                    f"neither a column of the data nor defined where glm() was called; "
                    f"columns: {shown}")
    return namespace


def _check_factor_passes(recipe):
    """Refuse stateful transforms that cannot be learned in one pass by merging."""
    _, factors = recipe.parsed()
    for factor in factors:
        state = {}
        passes = factor.memorize_passes_needed(state, recipe.eval_env)
        if passes > 1:
            raise ValueError(f"the term {factor.code!r} nests stateful transforms, which "
                             "needs several passes over the data; daskglm learns a formula "
                             "in one pass")
        for name, transform in state["transforms"].items():
            if not all(hasattr(transform, m) for m in ("merge", "neutral", "is_defined")):
                raise ValueError(
                    f"the stateful transform {type(transform).__name__} in {factor.code!r} "
                    "cannot be learned over partitions; daskglm supports center, "
                    "standardize and scale (splines need all rows at once)")


def _capture_env(eval_env):
    """The environment ``eval_env`` frames above the caller of learn_formula."""
    if isinstance(eval_env, EvalEnvironment):
        return eval_env
    return EvalEnvironment.capture(eval_env + 2)


def learn_formula(formula, data, *, extras=None, missing="drop", eval_env=0) -> FormulaDesign:
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

    Returns
    -------
    FormulaDesign
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, got {type(formula).__name__}")
    if missing not in ("drop", "raise", "none"):
        raise ValueError(f"missing must be 'drop', 'raise' or 'none', got {missing!r}")
    data = _as_dask_frame(data)
    extras = dict(extras or {})
    env = _capture_env(eval_env)
    columns = list(data.columns)
    for role, column in extras.items():
        if column not in columns:
            raise ValueError(f"{role}={column!r} is not a column of the data")
        if not pd.api.types.is_numeric_dtype(data._meta[column].dtype):
            raise TypeError(f"{role}={column!r} must be a numeric column, "
                            f"got dtype {data._meta[column].dtype}")
    draft = _Recipe(formula, {}, data._meta)
    _, factors = draft.parsed()
    namespace = _resolve_names(formula, factors, columns, env.namespace)
    used = _referenced_columns(draft)
    used += [c for c in extras.values() if c not in used]
    placeholders = {c: () for c in used if isinstance(data._meta[c].dtype, pd.CategoricalDtype)}
    recipe = _Recipe(formula, namespace, data._meta[used], categories=placeholders, extras=extras)
    _check_factor_passes(recipe)
    frame = data[used]
    partitions = frame.to_delayed()
    learn = dask.delayed(_learn_partition, pure=True)
    reports = dask.compute(*[learn(part, recipe) for part in partitions])
    _check_missing(reports, missing)
    learned = {factor.code: _merge_factor(factor.code, [r["learned"][factor.code] for r in reports])
               for factor in factors}
    final = recipe.with_learned(learned, _merge_categories(frame, reports))
    return FormulaDesign(final, partitions, [r["n_complete"] for r in reports])


def _as_dask_frame(data):
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
