"""Learning a formula over the partitions of a dask dataframe, in one pass.

Before the pass (client, no data) :func:`resolve_names` checks that every
name a term uses is a column of the data or defined where
:func:`daskglm.glm` was called, and :func:`check_factor_passes` that every
stateful transform can be learned by merging partial results.

In the pass each partition evaluates every factor of the formula and sends
back only small things (:func:`learn_partition`): the categorical levels it
saw, the partial sums of stateful transforms (``center``, ``standardize``),
how many columns numeric factors have, and how many of its rows are
complete. No row leaves the workers.

After it, :func:`merge_factor` and :func:`merge_categories` merge the
partitions' reports into one :class:`~daskglm.frontend.recipe.LearnedFactor`
per factor, and :func:`check_missing` refuses missing values (unless they
are dropped) and non-positive exposures.
"""

from __future__ import annotations

import builtins

import numpy as np
import pandas as pd
import patsy
import patsy.builtins
from patsy.categorical import CategoricalSniffer, guess_categorical

from ..messages import listing
from .recipe import (
    LearnedFactor,
    categorical_missing,
    extra_values,
    in_task,
    names_in,
    numerical_missing,
)
from .transforms import MERGEABLE, PATSY_TRANSFORMS, as_2d

__all__ = ["learn_partition", "merge_factor", "merge_categories", "check_missing",
           "resolve_names", "check_factor_passes"]


# -- what one partition learns ---------------------------------------------------
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
    missing (:func:`categorical_missing`), and some of them (``pd.NA``,
    ``NaT``) are not missing to patsy's sniffer.
    """
    if isinstance(data, (pd.Series, np.ndarray)) and data.ndim == 1:
        distinct = pd.unique(data)
        return np.asarray(distinct[~pd.isna(distinct)], dtype=object)
    return pd.unique(pd.Series(np.asarray(data, dtype=object).ravel()))


def _learn_factor(factor, value):
    """``(LearnedFactor, missing-row mask)`` for one factor's value on one partition."""
    if not guess_categorical(value):
        values = np.asarray(value)
        if values.ndim > 2:
            raise ValueError(f"the term {factor.code!r} gives a {values.ndim}-dimensional value")
        learned = LearnedFactor("numerical", n_columns=as_2d(values).shape[1])
        return learned, numerical_missing(values)
    sniffer = CategoricalSniffer(patsy.NAAction(), factor.origin)
    explicit = _has_explicit_levels(value)
    if explicit:
        sniffer.sniff(value)
    else:
        data = value.data if isinstance(value, patsy.categorical._CategoricalBox) else value
        sniffer.sniff(_distinct_values(data))
    levels, _ = sniffer.levels_contrast()
    return LearnedFactor("categorical", levels=levels, explicit_levels=explicit), \
        categorical_missing(value)


@in_task
def learn_partition(df, recipe):
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
        values = extra_values(df, column)
        missing = np.isnan(values)
        report["missing"][role] = int(missing.sum())
        if role == "exposure":
            report["nonpositive_exposure"] = int(np.count_nonzero(values[~missing] <= 0))
        complete &= ~missing
    for column in recipe.categories:
        report["categories"][column] = tuple(df[column].cat.categories)
    report["n_complete"] = int(complete.sum())
    return report


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


def merge_factor(code, parts):
    kinds = {p.kind for p in parts}
    if len(kinds) > 1:
        raise ValueError(f"the term {code!r} is numeric in some partitions and "
                         "categorical in others; wrap it in C() or convert its column")
    kind = kinds.pop()
    merged = LearnedFactor(kind)
    if kind == "numerical":
        counts = {p.n_columns for p in parts}
        if len(counts) > 1:
            raise ValueError(f"the term {code!r} has {sorted(counts)} columns in different "
                             "partitions")
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


def merge_categories(data, reports):
    """Categories of each categorical column: dask's when it knows them, else the
    sorted union of the partitions' (see :func:`_merge_levels`)."""
    merged = {}
    for column in reports[0]["categories"] if reports else ():
        if data[column].cat.known:
            merged[column] = tuple(data[column].dtype.categories)
        else:
            merged[column] = _sorted_union(r["categories"][column] for r in reports)
    return merged


def check_missing(reports, missing):
    totals = {}
    for report in reports:
        for name, count in report["missing"].items():
            totals[name] = totals.get(name, 0) + count
    bad = {name: count for name, count in totals.items() if count}
    if bad and missing != "drop":
        shown = listing(bad.items(), render=lambda item: f"{item[0]!r} ({item[1]} rows)",
                        brackets=False, hint=f"{len(bad)} terms in all")
        raise ValueError(f"missing values in {shown}; pass missing='drop' to drop those rows")
    nonpositive = sum(r["nonpositive_exposure"] for r in reports)
    if nonpositive:
        raise ValueError(f"exposure must be positive; {nonpositive} row(s) have exposure <= 0")


# -- checks before the pass -------------------------------------------------------
def resolve_names(text, factors, columns, env_namespace):
    """The namespace a formula needs from the caller, checking every name exists."""
    namespace = {}
    for factor in factors:
        names, quoted = names_in(factor.code)
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


def check_factor_passes(recipe):
    """Refuse stateful transforms that cannot be learned in one pass by merging."""
    _, factors = recipe.parsed()
    for factor in factors:
        state = {}
        passes = factor.memorize_passes_needed(state, recipe.eval_env)
        if passes > 1:
            raise ValueError(f"the term {factor.code!r} nests stateful transforms, which "
                             "needs several passes over the data; daskglm learns a formula "
                             "in one pass")
        for transform in state["transforms"].values():
            if not all(hasattr(transform, m) for m in ("merge", "neutral", "is_defined")):
                raise ValueError(
                    f"the stateful transform {type(transform).__name__} in {factor.code!r} "
                    "cannot be learned over partitions; daskglm supports center, "
                    "standardize and scale (splines need all rows at once)")
