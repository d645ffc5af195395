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
      "penalty": null,                      or {"alpha": 0.01, "l1_ratio": 1.0}
      "endog_name": "claims",
      "exog_names": ["Intercept", "C(region)[T.R02]", ..., "age"],
      "params":  {"Intercept": -1.70, ...},  by column name, in design order
      "bse":     {...}, "tvalues": {...}, "pvalues": {...},
      "cov_params": [[...], ...],           rows and columns in exog_names order
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
                                                 "count": 1000, "total": [12.5]}}}}
      }
    }

Numbers that are not finite (the NaN standard errors of a penalized fit) are
written as ``null``. ``design`` holds everything needed to build the design
of new data exactly as the model's: the columns the formula reads with their
types, every factor's kind, its categorical levels (learned over all the
training partitions) and the states of its stateful transforms (``center``,
``standardize``). The formula's namespace may hold numpy (as ``np`` or
``numpy``), ``math`` and daskglm's mergeable transforms only; a fit whose
formula calls other Python objects cannot be saved.

A saved fit's formula is evaluated by patsy, as Python code, when it
predicts: load only files you trust.

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

from ..math.families import get_family
from . import transforms as _transforms
from .formula import FormulaDesign
from .prediction import predict
from .recipe import LearnedFactor, Recipe
from ..math.links import get_link

__all__ = ["FORMAT", "VERSION", "SavedFit", "fit_document", "dumps", "save_results", "load_fit"]

FORMAT = "daskglm-fit"
VERSION = 1

#: Modules a saved formula may use, by the name written in the file.
_MODULES = {"numpy": np, "math": math}
#: daskglm's mergeable transforms, by the name written in the file.
_TRANSFORM_FUNCTIONS = {f"daskglm.transforms.{name}": func
                        for name, func in _transforms.MERGEABLE.items()}
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
    for key, func in _TRANSFORM_FUNCTIONS.items():
        functions.setdefault(id(func), key)     # scale is standardize: keep the first name
    for key, module in _MODULES.items():
        modules.setdefault(id(module), key)
    for name, value in namespace.items():
        key = modules.get(id(value), functions.get(id(value)))
        if key is None:
            raise ValueError(
                f"cannot save the fit: its formula uses {name!r} from the Python session; a "
                "saved fit may use numpy (np), math and patsy's and daskglm's transforms only")
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


def fit_document(results) -> dict:
    """The saved-fit document (a dict of JSON values) of formula-model results.

    Parameters
    ----------
    results : GLMResults
        From :func:`daskglm.glm` ``(...).fit()`` or ``.fit_regularized()``.

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
        "penalty": None if penalty is None else {"alpha": penalty.alpha,
                                                  "l1_ratio": penalty.l1_ratio},
        "endog_name": formula.endog_name,
        "exog_names": list(results.params.index),
        "params": _by_name(results.params),
        "bse": _by_name(results.bse),
        "tvalues": _by_name(results.tvalues),
        "pvalues": _by_name(results.pvalues),
        "cov_params": [[_number(v) for v in row] for row in results.cov_params().to_numpy()],
        "statistics": _statistics(results),
        "convergence": _convergence(results),
        "training": {role: column for role, column in recipe.extras.items()
                     if not column.startswith(_INTERNAL_PREFIX)},
        "design": _design_document(recipe),
    }


def save_results(results, path) -> Path:
    """Write formula-model results to ``path`` as a saved-fit JSON file.

    Parameters
    ----------
    results : GLMResults
        Results of a formula model (:func:`daskglm.glm`).
    path : str or path-like

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
    path.write_text(dumps(fit_document(results)))
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
    if link_params:
        link = type(link)(**link_params)
    family = get_family(name, link=link)
    return type(family)(link=link, **params) if params else family


def _require(document, key, kinds, where="the saved fit"):
    if not isinstance(document, dict) or key not in document:
        raise ValueError(f"{where} lacks the key {key!r}")
    value = document[key]
    if not isinstance(value, kinds):
        raise ValueError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _floats(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _meta_frame(columns):
    frame = {}
    for name, column in columns.items():
        dtype = _require(column, "dtype", str, f"the saved column {name!r}")
        if dtype == "category":
            dtype = pd.CategoricalDtype(column.get("categories", []),
                                        ordered=bool(column.get("ordered", False)))
        else:
            try:
                dtype = pd.api.types.pandas_dtype(dtype)
            except TypeError as error:
                raise ValueError(f"the saved column {name!r} has an unknown dtype {dtype!r}") \
                    from error
        frame[name] = pd.Series([], dtype=dtype)
    return pd.DataFrame(frame)


def _transform_from(state, where):
    type_name = _require(state, "type", str, where)
    if type_name not in _TRANSFORM_STATES:
        raise ValueError(f"{where}: unknown stateful transform {type_name!r}")
    cls, fields = _TRANSFORM_STATES[type_name]
    transform = cls()
    for field in fields:
        value = _require(state, field, (int, list), where)
        setattr(transform, field, int(value) if field == "count" else _floats(value))
    return transform


def _learned_from(code, factor):
    where = f"the saved term {code!r}"
    kind = _require(factor, "kind", str, where)
    if kind not in ("numerical", "categorical"):
        raise ValueError(f"{where}: unknown kind {kind!r}")
    transforms = {name: _transform_from(state, where)
                  for name, state in factor.get("transforms", {}).items()}
    if kind == "numerical":
        return LearnedFactor(kind, n_columns=int(_require(factor, "n_columns", int, where)),
                             transforms=transforms)
    levels = tuple(_require(factor, "levels", list, where))
    return LearnedFactor(kind, levels=levels,
                         explicit_levels=bool(factor.get("explicit_levels")),
                         transforms=transforms)


def _recipe_from(formula, design):
    namespace = {}
    for name, key in _require(design, "namespace", dict, "the saved design").items():
        if key in _MODULES:
            namespace[name] = _MODULES[key]
        elif key in _TRANSFORM_FUNCTIONS:
            namespace[name] = _TRANSFORM_FUNCTIONS[key]
        else:
            raise ValueError(f"the saved design's namespace names {key!r} for {name!r}, "
                             "which daskglm does not know")
    columns = _require(design, "columns", dict, "the saved design")
    meta = _meta_frame(columns)
    categories = {name: tuple(column["categories"]) for name, column in columns.items()
                  if column.get("dtype") == "category"}
    learned = {code: _learned_from(code, factor)
               for code, factor in _require(design, "factors", dict, "the saved design").items()}
    return Recipe(formula, namespace, meta, learned, categories)


class SavedFit:
    """A fit read back from a saved-fit file (see :func:`load_fit`).

    Attributes
    ----------
    formula : str
    family : Family
    params, bse, tvalues, pvalues : pandas.Series
        By column name (NaN where the file holds null).
    statistics, convergence : dict
        As in the file.
    exog_names : list of str
    document : dict
        The whole document as read.
    """

    def __init__(self, document):
        self.document = document
        self.formula = _require(document, "formula", str)
        self.family = _family_from(_require(document, "family", dict))
        self.exog_names = [str(n) for n in _require(document, "exog_names", list)]
        for key in ("params", "bse", "tvalues", "pvalues"):
            values = _require(document, key, dict)
            missing = [n for n in self.exog_names if n not in values]
            if missing:
                raise ValueError(f"the saved fit's {key!r} lacks {missing}")
            setattr(self, key, pd.Series(_floats([values[n] for n in self.exog_names]),
                                         index=self.exog_names))
        self.statistics = dict(_require(document, "statistics", dict))
        self.convergence = dict(_require(document, "convergence", dict))
        recipe = _recipe_from(self.formula, _require(document, "design", dict))
        self.design = FormulaDesign(recipe, [], [])
        if self.design.exog_names != self.exog_names:
            raise ValueError(
                f"the saved design builds the columns {self.design.exog_names} but the saved "
                f"coefficients are for {self.exog_names}; the file is inconsistent")

    def __repr__(self):
        return f"<SavedFit {self.formula!r}, {self.family!r}>"

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates, as saved (NaN for a penalized fit)."""
        rows = _require(self.document, "cov_params", list)
        names = self.exog_names
        values = np.array([_floats(row) for row in rows], dtype=float)
        if values.shape != (len(names), len(names)):
            raise ValueError(f"the saved cov_params has shape {values.shape}, "
                             f"expected {(len(names), len(names))}")
        return pd.DataFrame(values, index=names, columns=names)

    def predict(self, new_data, which="mean", offset=None, exposure=None):
        """Predictions on new data, as :meth:`daskglm.GLMResults.predict` makes them.

        Parameters
        ----------
        new_data : dask or pandas DataFrame
            With the columns the formula's right-hand side reads.
        which : {"mean", "linear"}
        offset, exposure : str (a column of ``new_data``) or array aligned with its rows
            As in statsmodels, new data get no offset unless one is given.

        Returns
        -------
        dask Series for a dask DataFrame (NaN where a row has a missing value),
        pandas Series for a pandas DataFrame.
        """
        return predict(new_data, self.params.to_numpy(), self.family, which=which,
                       offset=offset, exposure=exposure, formula=self.design)


def load_fit(path) -> SavedFit:
    """Read a saved-fit file written by :func:`save_results` or ``daskglm fit --save``.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not JSON, not a daskglm saved fit, of a newer format
        version, or inconsistent.
    """
    path = Path(path)
    text = path.read_text()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a daskglm saved fit: not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a daskglm saved fit (no \"format\": \"{FORMAT}\")")
    version = document.get("version")
    if not isinstance(version, numbers.Integral) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path} has an invalid format version {version!r}")
    if version > VERSION:
        raise ValueError(f"{path} was saved in format version {version}; this daskglm reads "
                         f"version {VERSION} and older: upgrade daskglm")
    return SavedFit(document)
