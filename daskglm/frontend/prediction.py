"""The one prediction path: linear predictor, offset and exposure, inverse link.

Every prediction of the package comes through here: :meth:`daskglm.GLM.predict`
and :meth:`daskglm.GLMResults.predict` (the fitted values of the training
rows, new arrays, new data frames through the stored formula),
:meth:`daskglm.frontend.saved.SavedFit.predict`, and the estimators'
``predict``, ``predict_proba`` and ``decision_function``. In order:

1. the linear predictor ``eta = X @ coef + intercept + offset + log(exposure)``
   (:func:`linear_predictor`: numpy, scipy.sparse or dask ``X``; for a data
   frame the design is built from the stored formula, per partition);
2. ``which="linear"`` returns ``eta``; ``which="mean"`` (statsmodels' names)
   returns the family's inverse link of it (:func:`inverse_link`).

Exposure is checked here only: with a log link only (:func:`check_exposure`),
values > 0 (:func:`log_exposure`). Results come back as numpy arrays for
in-memory input, dask arrays for dask arrays, a dask Series for a dask
DataFrame (NaN in rows with a missing value) and a pandas Series for a
pandas DataFrame.
"""

from __future__ import annotations

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..math.links import Log
from ..passes.coded import CodedMatrix
from .fast_design import build_coded_design, build_design_block
from .formula import as_dask_frame, attach_arrays
from .recipe import complete_rows, extra_values, in_task

__all__ = ["WHICH", "check_which", "check_exposure", "log_exposure", "linear_predictor",
           "coded_linear_predictor",
           "inverse_link", "predict", "predict_array", "predict_frame", "predict_partition"]

#: What a prediction can be: the mean (inverse link of eta) or eta itself.
WHICH = ("mean", "linear")


def check_which(which) -> str:
    """``which`` if it is one of :data:`WHICH`, else a ValueError naming them."""
    if not isinstance(which, str) or which not in WHICH:
        raise ValueError(f"which must be 'mean' or 'linear', got {which!r}")
    return which


def check_exposure(family, exposure) -> None:
    """Refuse an exposure for a family whose link is not the log link."""
    if exposure is not None and not isinstance(family.link, Log):
        raise ValueError(f"exposure can only be used with the log link; {family!r} has "
                         f"link {family.link!r}")


def log_exposure(exposure):
    """``log(exposure)``, refusing values <= 0 (lazily, per block, for a dask array)."""
    if isinstance(exposure, da.Array):
        return exposure.map_blocks(_log_positive, dtype=float)
    return _log_positive(np.asarray(exposure, dtype=float))


def _log_positive(values):
    nonpositive = np.count_nonzero(values <= 0)
    if nonpositive:
        raise ValueError(f"exposure must be positive; {nonpositive} value(s) are <= 0")
    return np.log(values)


def _as_rows(values):
    return values if isinstance(values, da.Array) else np.asarray(values, dtype=float)


def linear_predictor(X, coef, *, offset=None, exposure=None, intercept=0.0):
    """``X @ coef + intercept + offset + log(exposure)``, one value per row.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        numpy, scipy.sparse, or a dask array (of one column chunk or several).
    coef : array of shape (n_features,)
    offset, exposure : array of shape (n_samples,), optional
        Aligned with ``X``'s rows; exposure > 0.
    intercept : float
        Added to every row (the estimators keep their intercept apart).

    Returns
    -------
    numpy array, or a dask array chunked as ``X``'s rows.
    """
    coef = np.asarray(coef, dtype=float)
    if isinstance(X, da.Array):
        X = X.rechunk({1: -1}) if X.numblocks[1] > 1 else X
        eta = X.map_blocks(_eta_block, coef, intercept, drop_axis=1, dtype=float)
    else:
        eta = _eta_block(X, coef, intercept)
    if offset is not None:
        eta = eta + _as_rows(offset)
    if exposure is not None:
        eta = eta + log_exposure(_as_rows(exposure))
    return eta


def coded_linear_predictor(X, codes, coded, params, *, offset=None):
    """``eta`` of a design with coded terms: ``X @ b_dense + b_term[codes] + offset``.

    Parameters
    ----------
    X : array of shape (n_samples, n_dense)
        The dense columns (numpy or dask).
    codes : integer array of shape (n_samples, n_terms)
        The coded terms' columns (-1: none), chunked as ``X``'s rows.
    coded : CodedLayout
    params : array of shape (n_features,)
        Coefficients in patsy's order (``exog_names``).
    offset : array of shape (n_samples,), optional
    """
    coef = coded.to_layout(params)
    if isinstance(X, da.Array):
        eta = da.map_blocks(_coded_eta_block, X, codes, coded.n_levels, coef, drop_axis=1,
                            dtype=float)
    else:
        eta = _coded_eta_block(X, codes, coded.n_levels, coef)
    return eta if offset is None else eta + _as_rows(offset)


def _coded_eta_block(X, codes, n_levels, coef):
    return CodedMatrix(X, codes, n_levels).matvec(coef)


def _eta_block(X, coef, intercept):
    eta = np.asarray(X @ coef, dtype=float).reshape(-1)
    return eta + intercept if intercept else eta


def inverse_link(eta, family, which="mean"):
    """``eta`` for ``which="linear"``; the family's mean of it for ``"mean"``
    (block by block for a dask array)."""
    if check_which(which) == "linear":
        return eta
    if isinstance(eta, da.Array):
        return eta.map_blocks(_mean_block, family, dtype=float)
    return family.mean(eta)


def _mean_block(eta, family):
    return family.mean(eta)


def predict(exog, coef, family, *, which="mean", offset=None, exposure=None, formula=None):
    """Predictions of a GLM at ``coef`` on ``exog``: the dispatcher of this module.

    Parameters
    ----------
    exog : array, DataFrame
        With ``formula``: a pandas or dask DataFrame holding the columns the
        formula reads. Without: the design itself (numpy, scipy.sparse, dask
        array, or a pandas/dask DataFrame of its columns).
    coef : array of shape (n_features,)
    family : Family
    which : {"mean", "linear"}
    offset, exposure : array aligned with the rows, or (with ``formula``) a column name
    formula : FormulaDesign, optional
        The formula whose design is rebuilt for ``exog``.
    """
    check_which(which)
    check_exposure(family, exposure)
    if formula is None:
        return predict_array(exog, coef, family, which=which, offset=offset, exposure=exposure)
    if not isinstance(exog, (pd.DataFrame, dd.DataFrame)):
        raise TypeError("a formula model predicts from a DataFrame with the formula's "
                        f"columns, got {type(exog).__name__}")
    out = predict_frame(formula, exog, coef, family, which=which, offset=offset,
                        exposure=exposure)
    return out.compute() if isinstance(exog, pd.DataFrame) else out


def predict_array(exog, coef, family, *, which="mean", offset=None, exposure=None):
    """Predictions on a design given as an array (or a frame of its columns).

    A pandas DataFrame gives a pandas Series on its index; a 1-D ``exog`` is
    one row (or, for a one-coefficient model, one column).
    """
    coef = np.asarray(coef, dtype=float)
    index = exog.index if isinstance(exog, pd.DataFrame) else None
    if isinstance(exog, dd.DataFrame):
        X = exog.to_dask_array(lengths=True)
    elif isinstance(exog, pd.DataFrame):
        X = exog.to_numpy(dtype=float)
    elif isinstance(exog, da.Array) or sp.issparse(exog):
        X = exog
    else:
        X = np.asarray(exog, dtype=float)
    if X.ndim == 1:
        X = X[:, None] if coef.size == 1 else X[None, :]
    if X.ndim != 2 or X.shape[1] != coef.size:
        raise ValueError(f"exog has {X.shape[-1]} columns but the model has {coef.size}")
    eta = linear_predictor(X, coef, offset=offset, exposure=exposure)
    out = inverse_link(eta, family, which)
    return out if index is None else pd.Series(out, index=index)


def predict_frame(formula, data, coef, family, *, which="mean", offset=None, exposure=None):
    """Predictions on new data through a learned formula, lazily: a dask Series
    aligned with ``data``.

    The design of every partition is built from the formula's recipe; a
    categorical level not seen in the training data is an error, and rows
    with a missing value get NaN.

    Parameters
    ----------
    formula : FormulaDesign
    data : dask or pandas DataFrame
    coef : array of shape (n_features,)
    family : Family
    which : {"mean", "linear"}
    offset, exposure : str (column of ``data``) or array aligned with its rows, optional
    """
    data = as_dask_frame(data)
    given = {role: values for role, values in (("offset", offset), ("exposure", exposure))
             if values is not None}
    data, attached = attach_arrays(
        data, {r: v for r, v in given.items() if not isinstance(v, str)})
    extras = {r: v for r, v in given.items() if isinstance(v, str)}
    extras.update(attached)
    for role, column in extras.items():
        if column not in data.columns:
            raise ValueError(f"{role}={column!r} is not a column of the new data")
    recipe = formula.recipe
    columns = recipe.referenced_columns(rhs_only=True)
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise ValueError(f"the new data lacks column(s) {absent} that the formula uses")
    recipe = recipe.with_extras(extras)
    columns += [c for c in extras.values() if c not in columns]
    return data[columns].map_partitions(
        predict_partition, recipe, np.asarray(coef, dtype=float), family, which, formula.coded,
        meta=pd.Series(np.empty(0), name="predicted"), enforce_metadata=False)


@in_task
def predict_partition(df, recipe, coef, family, which, coded=None):
    """Predictions for one partition of new data: NaN where a value is missing
    (coded terms, a CodedLayout, are read as codes, never as dummy columns)."""
    index = df.index
    df = recipe.prepare(df)
    complete = complete_rows(df, recipe, rhs_only=True)
    out = np.full(len(df), np.nan)
    rows = df.iloc[np.flatnonzero(complete)] if not complete.all() else df
    if len(rows):
        side = {role: extra_values(rows, column) for role, column in recipe.extras.items()}
        if coded is None:
            X = build_design_block([recipe.design_infos()[1]], rows, NA_action="raise")
            eta = linear_predictor(X, coef, offset=side.get("offset"),
                                   exposure=side.get("exposure"))
        else:
            X, codes = build_coded_design([recipe.design_infos()[1]], rows, coded,
                                          NA_action="raise")
            eta = coded_linear_predictor(X, codes, coded, coef, offset=side.get("offset"))
            if side.get("exposure") is not None:
                eta = eta + log_exposure(side["exposure"])
        out[complete] = inverse_link(eta, family, which)
    return pd.Series(out, index=index, name="predicted")
