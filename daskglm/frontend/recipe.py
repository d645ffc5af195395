"""The recipe of a formula: what travels to the workers that build its design.

patsy's objects cannot be pickled, so a learned formula is held as a
:class:`Recipe`: the formula text, the names it needs from the caller's
scope, and what the data taught about each factor (a :class:`LearnedFactor`:
its kind, categorical levels, number of columns, stateful transforms). A
recipe rebuilds patsy's ``DesignInfo`` wherever it runs, without data: its
factors report the learned types to patsy on a one-row prototype.

Learning a recipe over the partitions is :mod:`daskglm.frontend.formula_learning`;
laying out the design of the training data is :mod:`daskglm.frontend.formula`;
predicting on new data is :mod:`daskglm.frontend.prediction`; saving one to
JSON is :mod:`daskglm.frontend.saved`. This module also holds what they all
do to one partition: find the complete rows, read an extra column, and turn
patsy's errors into ones a worker can send back.
"""

from __future__ import annotations

import ast
import functools
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy
import patsy.builtins
from patsy import EvalEnvironment, ModelDesc, Term

from ..messages import listing
from .formula_blocks import DROPS, LAZY_LEVELS, AllLevels, CodedTreatment
from .transforms import as_2d

__all__ = ["LearnedFactor", "Recipe", "complete_rows", "extra_values", "in_task", "names_in",
           "categorical_missing", "numerical_missing"]

PROTOTYPE = object()  # the stand-in "data" patsy lays out the columns on


# -- what one factor is, as learned ------------------------------------------
@dataclass
class LearnedFactor:
    """What the data says about one factor of a formula (picklable: no patsy objects).

    Attributes
    ----------
    kind : {"numerical", "categorical"}
    n_columns : int
        Columns of a numerical factor's value.
    levels : tuple
        A categorical factor's levels, over all partitions.
    explicit_levels : bool
        Whether the levels were given (a pandas Categorical, ``C(x, levels=...)``)
        rather than found in the values.
    transforms : dict
        patsy's name of each stateful transform the factor calls -> its learned state.
    """

    kind: str                       # "numerical" or "categorical"
    n_columns: int = 1
    levels: tuple = ()
    explicit_levels: bool = False   # levels given by a Categorical / C(levels=)
    transforms: dict = field(default_factory=dict)


class _PatsyFactor:
    """A patsy factor that wraps an ``EvalFactor`` whose type, levels and
    stateful transforms are already known, so patsy needs no data to lay out
    the design (patsy's factor protocol)."""

    def __init__(self, factor, learned: LearnedFactor, meta, drop="first"):
        self._factor = factor
        self._learned = learned
        self._meta = meta
        self._drop = drop
        self.origin = factor.origin
        self.code = factor.code

    def name(self):
        return self._factor.name()

    def __repr__(self):
        return f"_PatsyFactor({self.code!r})"

    def __eq__(self, other):
        return isinstance(other, _PatsyFactor) and self.code == other.code

    def __hash__(self):
        return hash((_PatsyFactor, self.code))

    def memorize_passes_needed(self, state, eval_env):
        self._factor.memorize_passes_needed(state, eval_env)
        state["transforms"].update(self._learned.transforms)
        return 0

    def eval(self, state, data):
        if data is not PROTOTYPE:
            return self._factor.eval(state, data)
        learned = self._learned
        if learned.kind == "numerical":
            return np.zeros((1, learned.n_columns))
        with np.errstate(all="ignore"):
            on_meta = self._factor.eval(state, self._meta)
        contrast = getattr(on_meta, "contrast", None)
        lazy = len(learned.levels) >= LAZY_LEVELS     # no levels x levels identity
        if self._drop is None:
            contrast = AllLevels.replacing(contrast, lazy) or contrast
        elif lazy:
            contrast = CodedTreatment.replacing(contrast) or contrast
        first = np.array(learned.levels[:1], dtype=object)
        return patsy.builtins.C(first, contrast, learned.levels)


# -- the picklable description of a formula ----------------------------------
class Recipe:
    """The formula, the names it needs from the caller's scope, what the data
    taught about its factors, and the categories of categorical columns.

    Picklable and cheap to tokenize; the patsy objects are rebuilt (and
    cached) in whatever process uses them.
    """

    def __init__(self, text, namespace, meta, learned=None, categories=None, extras=None,
                 drop="first"):
        if drop not in DROPS:
            raise ValueError(f"drop must be 'first' or None, got {drop!r}")
        self.drop = drop
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
        return ("daskglm.frontend.recipe.Recipe", self._token)

    def with_learned(self, learned, categories):
        return Recipe(self.text, self.namespace, self.meta, learned, categories, self.extras,
                      self.drop)

    def with_extras(self, extras):
        return Recipe(self.text, self.namespace, self.meta, self.learned, self.categories, extras,
                      self.drop)

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
                return [Term([wrapped.setdefault(f.code, _PatsyFactor(
                    f, self.learned[f.code], self.meta, self.drop)) for f in term.factors])
                    for term in termlist]

            try:
                infos = patsy.design_matrix_builders(
                    [wrap(desc.lhs_termlist), wrap(desc.rhs_termlist)],
                    lambda: iter([PROTOTYPE]), self.eval_env, "drop")
            except ValueError as error:
                if "mismatch between column_names" not in str(error):
                    raise
                # patsy's DesignInfo indexes columns by name: two that print alike
                raise ValueError(
                    f"the design of {self.text!r} would have two columns with one name: two "
                    "levels of a categorical (or a level and another column) print alike, as "
                    "1 and '1' do; make them distinct (e.g. cast the values to str)") from None
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

    def referenced_columns(self, rhs_only=False) -> list:
        """The data columns the formula (or only its right-hand side) reads."""
        desc, factors = self.parsed()
        if rhs_only:
            factors = [f for term in desc.rhs_termlist for f in term.factors]
        columns = []
        for factor in factors:
            names, quoted = names_in(factor.code)
            for name in sorted(names | quoted, key=str):
                if name in self.meta.columns and name not in columns:
                    columns.append(name)
        return columns

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
                        f"column {column!r} has level(s) {listing(sorted(map(str, unseen)))} "
                        f"not seen when the model was built (levels: {listing(categories)})")
                df[column] = values.cat.set_categories(categories)
        return df


# -- evaluating factors on one partition --------------------------------------
def in_task(func):
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


def categorical_missing(value):
    data = value.data if isinstance(value, patsy.categorical._CategoricalBox) else value
    if isinstance(data, (pd.Series, pd.Categorical)):
        return np.asarray(pd.isna(data))
    data = np.asarray(data)
    if data.dtype.kind == "b":
        return np.zeros(data.shape[0], dtype=bool)
    return np.asarray(pd.isna(data.astype(object)))


def numerical_missing(value):
    return np.isnan(as_2d(value)).any(axis=1)


def _missing(value, kind):
    return categorical_missing(value) if kind == "categorical" else numerical_missing(value)


def extra_values(df, column):
    values = df[column]
    if not pd.api.types.is_numeric_dtype(values.dtype):
        raise TypeError(f"column {column!r} must be numeric, got dtype {values.dtype}")
    return values.to_numpy(dtype=float, na_value=np.nan)


def complete_rows(df, recipe, rhs_only=False):
    """Mask of the rows with no missing value in any factor or extra column."""
    complete = np.ones(len(df), dtype=bool)
    with np.errstate(all="ignore"):
        for factor, state, kind in recipe.factor_states(rhs_only):
            complete &= ~_missing(factor.eval(state, df), kind)
    for column in recipe.extras.values():
        complete &= ~np.isnan(extra_values(df, column))
    return complete


def names_in(code):
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
