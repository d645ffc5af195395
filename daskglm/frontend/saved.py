"""Saved fits: a formula GLM's results as a versioned JSON document.

:func:`save_results` writes the results of a formula model (``daskglm.glm``)
to a file that :func:`load_fit` reads back in any later session (no pickle,
nothing but JSON), and that ``daskglm predict`` applies to new data. The
same document is what ``daskglm fit --output json`` prints
(:func:`fit_document`).

Format (version 1)
------------------
A JSON object::

    {
      "format": "daskglm-fit",              always this string
      "version": 1,                         the format's version
      "daskglm_version": "0.1.0",           the version that wrote it
      "formula": "claims ~ age + C(region)",
      "family": {"name": "poisson", "link": "log",
                 "params": {}, "link_params": {}},   parameters by name (a file
                                            without them, as written before, loads)
      "method": "newton",                   the solver
      "cov_type": "nonrobust",
      "penalty": null,                      or {"alpha": 0.01, "l1_ratio": 1.0} (alpha: a
                                            list, one per coefficient, in exog_names order)
      "endog_name": "claims",
      "exog_names": ["Intercept", "C(region)[T.R02]", ..., "age"],
      "params":  {"Intercept": -1.70, ...},  by column name, in design order
      "bse":     {...}, "tvalues": {...}, "pvalues": {...},
      "cov_params": [[...], ...],           rows and columns in exog_names order, or
                                            null when not saved (see below)
      "statistics": {"nobs": ..., "df_model": ..., "df_resid": ..., "llf": ...,
                     "llnull": ..., "deviance": ..., "null_deviance": ...,
                     "pearson_chi2": ..., "scale": ..., "aic": ..., "bic": ...,
                     "pseudo_rsquared": ...},
      "convergence": {"converged": true, "n_iter": 7, "n_passes": 8,
                      "objective": ..., "message": "...", "solver": "newton",
                      "elapsed_seconds": ...},
      "training": {"exposure": "years"},    data columns of offset, exposure, weights
      "design": {
        "namespace": {"np": "numpy"},       names the formula takes from Python
        "columns": {"age": {"dtype": "int16"},
                    "region": {"dtype": "category", "categories": ["R01", ...],
                               "ordered": false}},
        "factors": {"age": {"kind": "numerical", "n_columns": 1},
                    "C(region)": {"kind": "categorical", "levels": ["R01", ...],
                                  "explicit_levels": true},
                    "center(x)": {"kind": "numerical", "n_columns": 1,
                                  "transforms": {"<patsy's name>": {"type": "center",
                                                 "count": 1000, "total": [12.5]}}}},
        "drop": "first"                     or null: every level kept (glm(drop=None));
                                            absent in older files, read as "first"
      }
    }

Numbers that are not finite (the NaN standard errors of a penalized fit) are
written as ``null``. ``cov_params`` is saved when the fit has at most
``DENSE_COVARIANCE_LIMIT`` (5000) coefficients, or when asked
(``save_results(..., cov_params=True)``); a fit with large coded categorical
terms (20,000 levels, say) is saved without it (``null``): its params,
standard errors and levels are all its predictions need, and only
predictions with standard errors and intervals (``get_prediction``,
``daskglm predict --se``) need the matrix. ``design`` holds everything needed to build the design
of new data exactly as the model's: the columns the formula reads with their
types, every factor's kind, its categorical levels (learned over all the
training partitions) and the states of its stateful transforms (``center``,
``standardize``). The formula's namespace may hold numpy (as ``np`` or
``numpy``), ``math`` and daskglm's mergeable transforms only; a fit whose
formula calls other Python objects cannot be saved.

A saved fit's formula is evaluated by patsy, as Python code, when it is
loaded and when it predicts: load a file you do not trust with
``load_fit(path, safe=True)`` (``daskglm predict`` does), which refuses a
formula that holds more than column names, operators and the allowed
transforms. The loader checks everything else in the file before using it
(finite coefficients, lengths that agree, no more levels than coefficients).

A reader refuses a document whose ``format`` is not ``"daskglm-fit"`` or
whose ``version`` is newer than it knows. Later versions may add keys;
readers ignore keys they do not know.
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path

import numpy as np
import pandas as pd
import patsy

from ..inference.covariance import DENSE_COVARIANCE_LIMIT, CodedCovariance
from ..inference.prediction_results import PredictionResults
from ..math.families import get_family
from ..math.links import get_link
from ..messages import listing, shorten
from . import transforms as _transforms
from .formula import FormulaDesign
from .formula_safety import UnsafeFormulaError, check_formula_safe
from .prediction import check_exposure, check_which, linear_with_variance, predict
from .recipe import LearnedFactor, Recipe

__all__ = ["FORMAT", "VERSION", "SavedFit", "fit_document", "dumps", "save_results", "load_fit"]

FORMAT = "daskglm-fit"
VERSION = 1

#: Modules a saved formula may use, by the name written in the file.
_MODULES = {"numpy": np, "math": math}
#: daskglm's mergeable transforms, by the name written in the file.
_TRANSFORM_FUNCTIONS = {f"daskglm.transforms.{name}": func
                        for name, func in _transforms.MERGEABLE.items()}
#: Functions a saved formula may use by a bare name (``log(x)`` on the command line).
_FUNCTIONS = {**_TRANSFORM_FUNCTIONS, "numpy.log": np.log, "numpy.exp": np.exp,
              "numpy.sqrt": np.sqrt}
#: Stateful transform classes and the attributes that are their state.
_TRANSFORM_STATES = {"center": (_transforms.Center, ("count", "total")),
                     "standardize": (_transforms.Standardize, ("count", "mean", "m2"))}
_INTERNAL_PREFIX = "__daskglm_"      # columns glm() adds for arrays given as offset etc.


# -- writing ---------------------------------------------------------------------
def _number(value):
    """A JSON number (or null for NaN/inf) from a Python or numpy scalar."""
    value = float(value)
    return value if math.isfinite(value) else None


def _by_name(series):
    return {str(name): _number(value) for name, value in series.items()}


def _json_level(value, where):
    """A categorical level as a JSON scalar, refusing types JSON cannot hold."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bool, int)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise ValueError(f"cannot save the fit: {where} has the level {value!r} of type "
                     f"{type(value).__name__}; a saved fit holds str, bool, int and float levels")


def _namespace_document(namespace):
    named = {}
    functions, modules = {}, {}
    for key, func in _FUNCTIONS.items():
        functions.setdefault(id(func), key)     # scale is standardize: keep the first name
    for key, module in _MODULES.items():
        modules.setdefault(id(module), key)
    for name, value in namespace.items():
        key = modules.get(id(value), functions.get(id(value)))
        if key is None:
            raise ValueError(
                f"cannot save the fit: its formula uses {name!r} from the Python session; a "
                "saved fit may use numpy (np), math, numpy's log, exp and sqrt, and patsy's and "
                "daskglm's transforms only")
        named[name] = key
    return named


def _column_document(name, dtype, categories):
    if isinstance(dtype, pd.CategoricalDtype):
        levels = categories.get(name, tuple(dtype.categories) if dtype.categories is not None
                                else ())
        return {"dtype": "category", "ordered": bool(dtype.ordered),
                "categories": [_json_level(v, f"the column {name!r}") for v in levels]}
    text = str(dtype)
    try:
        same = pd.api.types.pandas_dtype(text) == dtype
    except TypeError:
        same = False
    if not same:
        raise ValueError(f"cannot save the fit: the column {name!r} has dtype {dtype}, which "
                         "cannot be written by name")
    return {"dtype": text}


def _transform_document(transform, where):
    for type_name, (cls, fields) in _TRANSFORM_STATES.items():
        if type(transform) is cls:
            state = {"type": type_name}
            for field in fields:
                value = getattr(transform, field)
                state[field] = int(value) if field == "count" else \
                    [_number(v) for v in np.ravel(value)]
            return state
    raise ValueError(f"cannot save the fit: {where} uses the stateful transform "
                     f"{type(transform).__name__}, which a saved fit cannot hold")


def _factor_document(code, learned):
    factor = {"kind": learned.kind}
    if learned.kind == "numerical":
        factor["n_columns"] = int(learned.n_columns)
    else:
        factor["levels"] = [_json_level(v, f"the term {code!r}") for v in learned.levels]
        factor["explicit_levels"] = bool(learned.explicit_levels)
    if learned.transforms:
        factor["transforms"] = {name: _transform_document(t, f"the term {code!r}")
                                for name, t in learned.transforms.items()}
    return factor


def _design_document(recipe):
    meta = recipe.meta
    return {
        "namespace": _namespace_document(recipe.namespace),
        "columns": {str(name): _column_document(name, meta[name].dtype, recipe.categories)
                    for name in meta.columns if not str(name).startswith(_INTERNAL_PREFIX)},
        "factors": {code: _factor_document(code, learned)
                    for code, learned in recipe.learned.items()},
        "drop": recipe.drop,
    }


def _statistics(results):
    try:
        pseudo_r2 = results.pseudo_rsquared()
    except (ValueError, FloatingPointError, ZeroDivisionError):
        pseudo_r2 = float("nan")
    values = {"nobs": int(results.nobs), "df_model": results.df_model,
              "df_resid": results.df_resid}
    for name in ("llf", "llnull", "deviance", "null_deviance", "pearson_chi2", "scale",
                 "aic", "bic"):
        values[name] = getattr(results, name)
    values["pseudo_rsquared"] = pseudo_r2
    return {name: (value if isinstance(value, int) else _number(value))
            for name, value in values.items()}


def _convergence(results):
    solver = results.solver_result
    elapsed = solver.history[-1].get("elapsed") if solver.history else None
    return {"converged": bool(solver.converged), "n_iter": int(solver.n_iter),
            "n_passes": int(solver.n_passes), "objective": _number(solver.objective),
            "message": str(solver.message), "solver": str(solver.solver),
            "elapsed_seconds": None if elapsed is None else _number(elapsed)}


def _covariance_document(results, cov_params):
    """The rows of ``cov_params`` to save, or None (see :func:`fit_document`)."""
    if cov_params == "auto":
        cov_params = len(results.params) <= DENSE_COVARIANCE_LIMIT
    elif not isinstance(cov_params, bool):
        raise ValueError(f"cov_params must be 'auto', True or False, got {cov_params!r}")
    if not cov_params:
        return None
    return [[_number(v) for v in row] for row in results.cov_params().to_numpy()]


def fit_document(results, cov_params="auto") -> dict:
    """The saved-fit document (a dict of JSON values) of formula-model results.

    Parameters
    ----------
    results : GLMResults
        From :func:`daskglm.glm` ``(...).fit()`` or ``.fit_regularized()``.
    cov_params : {"auto", True, False}
        Save the covariance matrix: "auto" up to ``DENSE_COVARIANCE_LIMIT``
        coefficients (the matrix of a fit with large coded terms is not
        built above that), True always (an error where it cannot be built),
        False never (``null``).

    Returns
    -------
    dict
        See the module's description of the format.

    Raises
    ------
    ValueError
        For results of an array model (``daskglm.GLM``), which have no formula
        to rebuild the design of new data from, and for a formula that uses
        Python objects or levels a JSON file cannot hold.
    """
    formula = results.model.formula
    if formula is None:
        raise ValueError("only the results of a formula model (daskglm.glm) can be saved: "
                         "an array model has no design to rebuild for new data")
    recipe = formula.recipe
    family = results.family
    penalty = results.regularizer
    from .. import __version__

    return {
        "format": FORMAT,
        "version": VERSION,
        "daskglm_version": __version__,
        "formula": formula.formula,
        "family": _family_document(family),
        "method": str(results.method),
        "cov_type": results.cov_type,
        "penalty": None if penalty is None else {"alpha": np.asarray(penalty.alpha).tolist(),
                                                  "l1_ratio": penalty.l1_ratio},
        "endog_name": formula.endog_name,
        "exog_names": list(results.params.index),
        "params": _by_name(results.params),
        "bse": _by_name(results.bse),
        "tvalues": _by_name(results.tvalues),
        "pvalues": _by_name(results.pvalues),
        "cov_params": _covariance_document(results, cov_params),
        "statistics": _statistics(results),
        "convergence": _convergence(results),
        "training": {role: column for role, column in recipe.extras.items()
                     if not column.startswith(_INTERNAL_PREFIX)},
        "design": _design_document(recipe),
    }


def save_results(results, path, cov_params="auto") -> Path:
    """Write formula-model results to ``path`` as a saved-fit JSON file.

    Parameters
    ----------
    results : GLMResults
        Results of a formula model (:func:`daskglm.glm`).
    path : str or path-like
    cov_params : {"auto", True, False}
        Whether the covariance matrix is saved (see :func:`fit_document`):
        by default when the fit has at most 5000 coefficients.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> save_results(result, "claims-fit.json")          # doctest: +SKIP
    >>> load_fit("claims-fit.json").predict(new_policies)  # doctest: +SKIP
    """
    path = Path(path)
    path.write_text(dumps(fit_document(results, cov_params=cov_params)))
    return path


def dumps(document) -> str:
    """The document as JSON text: one key per line, ``cov_params`` one row per line."""
    members = []
    for key, value in document.items():
        if key == "cov_params" and value:
            rows = ",\n  ".join(json.dumps(row, allow_nan=False) for row in value)
            text = "[\n  " + rows + "\n ]"
        else:
            text = json.dumps(value, indent=1, allow_nan=False).replace("\n", "\n ")
        members.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(members) + "\n}\n"


# -- reading ---------------------------------------------------------------------
def _family_document(family):
    """The family's name, its link's name and both one's parameters, by name."""
    link = family.link
    return {"name": family.name.lower(), "link": link.name,
            "params": dict(zip(family.param_names, family.params)),
            "link_params": dict(zip(link.param_names, link.params))}


def _family_from(document):
    """The family :func:`_family_document` describes, parameters restored."""
    where = "the saved family"
    name = _require(document, "name", str, where)
    link = get_link(_require(document, "link", str, where))
    params = document.get("params", {})
    link_params = document.get("link_params", {})
    for key, value in (("params", params), ("link_params", link_params)):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    try:
        if link_params:
            link = type(link)(**link_params)
        family = get_family(name, link=link)
        return type(family)(link=link, **params) if params else family
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where} cannot be rebuilt: {error}") from None


def _require(document, key, kinds, where="the saved fit"):
    if not isinstance(document, dict) or key not in document:
        raise ValueError(f"{where} lacks the key {key!r}")
    value = document[key]
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _floats(values, where, finite=False):
    """A float array of JSON numbers (null is NaN unless ``finite``), refusing anything else."""
    if not isinstance(values, list):
        raise ValueError(f"{where} is not a list of numbers")
    result = np.empty(len(values))
    for position, value in enumerate(values):
        if value is None and not finite:
            result[position] = np.nan
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where} holds {shorten(repr(value))}, not a number")
        try:
            result[position] = float(value)
        except OverflowError:
            raise ValueError(f"{where} holds a number too large for a float") from None
        if finite and not math.isfinite(result[position]):
            raise ValueError(f"{where} holds {shorten(repr(value))}, not a finite number")
    return result


def _levels(values, where):
    """A list of distinct JSON scalars (str, bool, int, finite float)."""
    if not isinstance(values, list):
        raise ValueError(f"{where} is not a list of levels")
    for value in values:
        if not isinstance(value, (str, bool, int, float)) or \
                (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"{where} holds the level {shorten(repr(value))}, which is not "
                             "a string or a finite number")
    if len(set(map(repr, values))) != len(values):
        raise ValueError(f"{where} lists a level twice")
    return tuple(values)


def _meta_frame(columns):
    frame = {}
    for name, column in columns.items():
        where = f"the saved column {shorten(name)!r}"
        dtype = _require(column, "dtype", str, where)
        if dtype == "category":
            dtype = pd.CategoricalDtype(_levels(column.get("categories", []), where),
                                        ordered=bool(column.get("ordered", False)))
        else:
            try:
                dtype = pd.api.types.pandas_dtype(dtype)
            except TypeError:
                raise ValueError(f"{where} has an unknown dtype {shorten(dtype)!r}") from None
        frame[name] = pd.Series([], dtype=dtype)
    return pd.DataFrame(frame)


def _transform_from(state, where):
    type_name = _require(state, "type", str, where)
    if type_name not in _TRANSFORM_STATES:
        raise ValueError(f"{where}: unknown stateful transform {shorten(type_name)!r}")
    cls, fields = _TRANSFORM_STATES[type_name]
    transform = cls()
    for field in fields:
        if field == "count":
            value = int(_require(state, field, int, where))
        else:
            value = _floats(_require(state, field, list, where), f"{where}'s {field!r}")
        setattr(transform, field, value)
    return transform


def _learned_from(code, factor, n_coefficients):
    where = f"the saved term {shorten(code)!r}"
    kind = _require(factor, "kind", str, where)
    if kind not in ("numerical", "categorical"):
        raise ValueError(f"{where}: unknown kind {shorten(kind)!r}")
    transforms = {name: _transform_from(state, where)
                  for name, state in _require(factor, "transforms", dict, where).items()} \
        if "transforms" in factor else {}
    if kind == "numerical":
        n_columns = _require(factor, "n_columns", int, where)
        if not 1 <= n_columns <= max(n_coefficients, 1):
            raise ValueError(f"{where} has {n_columns} columns, but the fit has "
                             f"{n_coefficients} coefficients")
        return LearnedFactor(kind, n_columns=n_columns, transforms=transforms)
    levels = _levels(_require(factor, "levels", list, where), f"{where}'s levels")
    if len(levels) > n_coefficients + 1:
        # each term of a factor with L levels has at least L - 1 coefficients;
        # more levels than that would only make patsy allocate a levels x levels contrast
        raise ValueError(f"{where} lists {len(levels):,} levels, but the fit has only "
                         f"{n_coefficients} coefficients; the file is inconsistent")
    return LearnedFactor(kind, levels=levels,
                         explicit_levels=bool(factor.get("explicit_levels")),
                         transforms=transforms)


def _recipe_from(formula, design, n_coefficients):
    namespace = {}
    for name, key in _require(design, "namespace", dict, "the saved design").items():
        if isinstance(key, str) and key in _MODULES:
            namespace[name] = _MODULES[key]
        elif isinstance(key, str) and key in _FUNCTIONS:
            namespace[name] = _FUNCTIONS[key]
        else:
            raise ValueError(f"the saved design's namespace names {shorten(repr(key))} for "
                             f"{shorten(name)!r}, which daskglm does not know")
    columns = _require(design, "columns", dict, "the saved design")
    meta = _meta_frame(columns)
    categories = {name: tuple(meta[name].dtype.categories) for name, column in columns.items()
                  if column.get("dtype") == "category"}
    learned = {code: _learned_from(code, factor, n_coefficients)
               for code, factor in _require(design, "factors", dict, "the saved design").items()}
    drop = design.get("drop", "first")        # files written before drop= have "first"
    if drop not in ("first", None):
        raise ValueError(f"the saved design's drop is {shorten(repr(drop))}; expected "
                         "'first' or null")
    return Recipe(formula, namespace, meta, learned, categories, drop=drop)


class SavedFit:
    """A fit read back from a saved-fit file (see :func:`load_fit`).

    Attributes
    ----------
    formula : str
    family : Family
    params, bse, tvalues, pvalues : pandas.Series
        By column name (NaN where the file holds null; params are always finite).
    statistics, convergence : dict
        As in the file.
    exog_names : list of str
    document : dict
        The whole document as read.
    """

    def __init__(self, document, safe=False):
        self.document = document
        self.formula = _require(document, "formula", str)
        self.family = _family_from(_require(document, "family", dict))
        self.exog_names = _exog_names(document)
        for key in ("params", "bse", "tvalues", "pvalues"):
            setattr(self, key, self._by_name(key, finite=key == "params"))
        self._cov_params = self._covariance()
        self.statistics = dict(_require(document, "statistics", dict))
        self.convergence = dict(_require(document, "convergence", dict))
        design = _require(document, "design", dict)
        if safe:
            check_formula_safe(self.formula, columns=_require(design, "columns", dict,
                                                              "the saved design"),
                               opt_out="safe=False (--allow-python-formula)")
        recipe = _recipe_from(self.formula, design, len(self.exog_names))
        try:
            self.design = FormulaDesign(recipe, [], [])
            built = self.design.exog_names
        except (patsy.PatsyError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"the saved design does not fit its formula "
                             f"{shorten(self.formula)!r}: {shorten(error, 200)}") from None
        if built != self.exog_names:
            raise ValueError(
                f"the saved design builds the columns {listing(built)} but the saved "
                f"coefficients are for {listing(self.exog_names)}; the file is inconsistent")

    def __repr__(self):
        return f"<SavedFit {self.formula!r}, {self.family!r}>"

    def _by_name(self, key, finite):
        values = _require(self.document, key, dict)
        missing = [n for n in self.exog_names if n not in values]
        if missing:
            raise ValueError(f"the saved fit's {key!r} lacks {listing(missing)}")
        if len(values) != len(self.exog_names):
            raise ValueError(f"the saved fit's {key!r} has {len(values)} values for "
                             f"{len(self.exog_names)} coefficients")
        return pd.Series(_floats([values[n] for n in self.exog_names],
                                 f"the saved fit's {key!r}", finite=finite),
                         index=self.exog_names)

    def _covariance(self):
        """The saved matrix, or None where the file holds ``null``."""
        if self.document.get("cov_params", []) is None:
            return None
        rows = _require(self.document, "cov_params", list)
        size = len(self.exog_names)
        if len(rows) != size or not all(isinstance(row, list) and len(row) == size
                                        for row in rows):
            raise ValueError(f"the saved cov_params is not {size} x {size} (one row and "
                             "column per coefficient)")
        return np.array([_floats(row, "the saved cov_params") for row in rows],
                        dtype=float).reshape(size, size)

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates, as saved (NaN for a penalized fit).

        Raises
        ------
        ValueError
            When the fit was saved without it.
        """
        if self._cov_params is None:
            raise ValueError(
                f"this saved fit holds no covariance matrix (cov_params is null): a fit of "
                f"{len(self.exog_names)} coefficients is saved without it unless "
                f"save_results(..., cov_params=True) asks for it (up to "
                f"{DENSE_COVARIANCE_LIMIT} coefficients by default); standard errors and "
                "intervals of predictions need it")
        names = self.exog_names
        return pd.DataFrame(self._cov_params.copy(), index=names, columns=names)

    def get_prediction(self, new_data, which="mean", offset=None, exposure=None,
                       unseen="error"):
        """Predictions with standard errors and intervals, as
        :meth:`daskglm.GLMResults.get_prediction` makes them on new data, from
        the saved covariance (lazy for a dask DataFrame: one pass when computed).

        Parameters as :meth:`predict`.

        Returns
        -------
        PredictionResults

        Raises
        ------
        ValueError
            For a fit saved without its covariance matrix (:meth:`cov_params`).
        """
        check_which(which)
        check_exposure(self.family, exposure)
        cov = self.cov_params().to_numpy()
        coded = self.design.coded
        if coded is not None:               # rows from their codes, the matrix in the fit's layout
            cov = CodedCovariance(matrix=cov[np.ix_(coded.order, coded.order)])
        table = linear_with_variance(new_data, self.params.to_numpy(), cov, offset=offset,
                                     exposure=exposure, formula=self.design, unseen=unseen)
        return PredictionResults(table, self.family, which)

    def predict(self, new_data, which="mean", offset=None, exposure=None, unseen="error"):
        """Predictions on new data, as :meth:`daskglm.GLMResults.predict` makes them.

        Parameters
        ----------
        new_data : dask or pandas DataFrame
            With the columns the formula's right-hand side reads.
        which : {"mean", "linear"}
        offset, exposure : str (a column of ``new_data``) or array aligned with its rows
            As in statsmodels, new data get no offset unless one is given.
        unseen : {"error", "reference", "nan"}
            A categorical value not seen in training: an error (default), the
            reference level, or NaN (:mod:`daskglm.frontend.unseen`).

        Returns
        -------
        dask Series for a dask DataFrame (NaN where a row has a missing value),
        pandas Series for a pandas DataFrame.
        """
        return predict(new_data, self.params.to_numpy(), self.family, which=which,
                       offset=offset, exposure=exposure, formula=self.design, unseen=unseen)


def _exog_names(document):
    names = _require(document, "exog_names", list)
    if not names or not all(isinstance(name, str) for name in names):
        raise ValueError("the saved fit's 'exog_names' must be a non-empty list of names")
    if len(set(names)) != len(names):
        raise ValueError("the saved fit's 'exog_names' names a column twice")
    return names


def _reject_constant(name):
    raise ValueError(f"it holds {name}, which is not JSON")


def _read_document(path):
    """The JSON object in ``path``, refusing what is not a daskglm saved fit."""
    try:
        text = path.read_bytes().decode("utf-8")
        document = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a daskglm saved fit: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a daskglm saved fit: not JSON ({error}; a "
                         "truncated file?)") from None
    except RecursionError:
        raise ValueError(f"{path} is not a daskglm saved fit: nested too deeply") from None
    except ValueError as error:
        raise ValueError(f"{path} is not a daskglm saved fit: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a daskglm saved fit (no \"format\": \"{FORMAT}\")")
    version = document.get("version")
    if not isinstance(version, numbers.Integral) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path} has an invalid format version {shorten(repr(version))}")
    if version > VERSION:
        raise ValueError(f"{path} was saved in format version {version}; this daskglm reads "
                         f"version {VERSION} and older: upgrade daskglm")
    return document


def load_fit(path, safe=False) -> SavedFit:
    """Read a saved-fit file written by :func:`save_results` or ``daskglm fit --save``.

    Everything in the file is checked before it is used: every coefficient
    must be a finite number, every list must have one entry per coefficient,
    and no factor may list more levels than the coefficients could hold.

    Parameters
    ----------
    path : str or path-like
    safe : bool
        Refuse a formula that holds more than column names, operators and the
        allowed transforms (:mod:`daskglm.frontend.formula_safety`). The
        formula is evaluated by patsy, as Python, already while loading: pass
        True for a file from an untrusted source (``daskglm predict`` does).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not JSON, not a daskglm saved fit, of a newer format
        version, or inconsistent; the message names the file.
    UnsafeFormulaError
        With ``safe=True``, for a formula outside the allow-list.
    """
    path = Path(path)
    document = _read_document(path)
    try:
        return SavedFit(document, safe=safe)
    except UnsafeFormulaError as error:
        raise UnsafeFormulaError(f"{path}: {error}") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
