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
from ..messages import listing
from ..passes.coded import CodedMatrix
from .fast_design import build_coded_design, build_design_block
from .formula import as_dask_frame, attach_arrays
from .recipe import complete_rows, extra_values, in_task
from .unseen import check_unseen, resolve_unseen

__all__ = ["WHICH", "LINEAR_COLUMNS", "check_which", "check_exposure", "log_exposure",
           "linear_predictor", "coded_linear_predictor", "inverse_link", "predict",
           "predict_array", "predict_frame", "predict_partition", "design_matrix",
           "linear_with_variance", "linear_variance_partition", "coded_linear_with_variance"]

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


def predict(exog, coef, family, *, which="mean", offset=None, exposure=None, formula=None,
            unseen="error"):
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
    unseen : {"error", "reference", "nan"}
        With ``formula``: what a categorical value not seen in training gives
        (:mod:`daskglm.frontend.unseen`).
    """
    check_which(which)
    check_exposure(family, exposure)
    if check_unseen(unseen) != "error" and formula is None:
        raise ValueError(f"unseen={unseen!r} applies to a formula model's categoricals; "
                         "this model has no formula")
    if formula is None:
        return predict_array(exog, coef, family, which=which, offset=offset, exposure=exposure)
    if not isinstance(exog, (pd.DataFrame, dd.DataFrame)):
        raise TypeError("a formula model predicts from a DataFrame with the formula's "
                        f"columns, got {type(exog).__name__}")
    out = predict_frame(formula, exog, coef, family, which=which, offset=offset,
                        exposure=exposure, unseen=unseen)
    return out.compute() if isinstance(exog, pd.DataFrame) else out


def predict_array(exog, coef, family, *, which="mean", offset=None, exposure=None):
    """Predictions on a design given as an array (or a frame of its columns).

    A pandas DataFrame gives a pandas Series on its index; a 1-D ``exog`` is
    one row (or, for a one-coefficient model, one column).
    """
    coef = np.asarray(coef, dtype=float)
    X, index = design_matrix(exog, coef.size)
    eta = linear_predictor(X, coef, offset=offset, exposure=exposure)
    out = inverse_link(eta, family, which)
    return out if index is None else pd.Series(out, index=index)


def design_matrix(exog, n_features):
    """``(X, index)``: a design given as an array or a frame of its columns, as a
    2-D numpy, sparse or dask array of ``n_features`` columns, and the pandas
    index of a pandas ``exog`` (else None)."""
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
        X = X[:, None] if n_features == 1 else X[None, :]
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"exog has {X.shape[-1]} columns but the model has {n_features}")
    return X, index


def predict_frame(formula, data, coef, family, *, which="mean", offset=None, exposure=None,
                  unseen="error"):
    """Predictions on new data through a learned formula, lazily: a dask Series
    aligned with ``data``.

    The design of every partition is built from the formula's recipe; a
    categorical level not seen in the training data is an error, the
    reference level or a missing value as ``unseen`` says, and rows with a
    missing value get NaN.

    Parameters
    ----------
    formula : FormulaDesign
    data : dask or pandas DataFrame
    coef : array of shape (n_features,)
    family : Family
    which : {"mean", "linear"}
    offset, exposure : str (column of ``data``) or array aligned with its rows, optional
    unseen : {"error", "reference", "nan"}
    """
    data, recipe, columns = _frame_recipe(formula, data, offset, exposure)
    return data[columns].map_partitions(
        predict_partition, recipe, np.asarray(coef, dtype=float), family, which, formula.coded,
        check_unseen(unseen), meta=pd.Series(np.empty(0), name="predicted"), enforce_metadata=False)


def _frame_recipe(formula, data, offset, exposure):
    """``(data, recipe, columns)``: new data as a dask frame with the offset and
    exposure attached, the formula's recipe reading them, and the columns it reads."""
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
        raise ValueError(f"the new data lacks column(s) {listing(absent)} that the formula "
                         "uses")
    _check_numeric_columns(recipe.meta, data, columns)
    recipe = recipe.with_extras(extras)
    columns += [c for c in extras.values() if c not in columns]
    return data, recipe, columns


def _check_numeric_columns(training, data, columns):
    """Refuse a column that was numeric when the model was built and arrives
    as text (or any other non-numeric dtype), from the frames' dtypes alone."""
    for column in columns:
        was, now = training[column].dtype, data[column].dtype
        if pd.api.types.is_numeric_dtype(was) and not pd.api.types.is_numeric_dtype(now):
            raise TypeError(f"column {column!r} of the new data must be numeric as when the "
                            f"model was built (dtype {was}), got dtype {now}")


def _partition_design(df, recipe, coded=None, unseen="error"):
    """``(complete, X, codes, side)`` of one partition: the mask of its rows
    with no missing value, their design (with ``coded``, a CodedLayout, the
    dense block and the coded terms' codes; else ``codes`` is None) and their
    offset/exposure values (X is None when no row is complete). Categorical
    values not seen in training are handled as ``unseen`` says first."""
    df = recipe.prepare(resolve_unseen(df.reset_index(drop=True), recipe, unseen))
    complete = complete_rows(df, recipe, rhs_only=True)
    rows = df.iloc[np.flatnonzero(complete)] if not complete.all() else df
    if not len(rows):
        return complete, None, None, {}
    side = {role: extra_values(rows, column) for role, column in recipe.extras.items()}
    if coded is None:
        X = build_design_block([recipe.design_infos()[1]], rows, NA_action="raise")
        return complete, X, None, side
    X, codes = build_coded_design([recipe.design_infos()[1]], rows, coded, NA_action="raise")
    return complete, X, codes, side


def _partition_eta(X, codes, coded, coef, side):
    """The linear predictor of a partition's complete rows (from codes with ``codes``)."""
    if codes is None:
        return linear_predictor(X, coef, offset=side.get("offset"),
                                exposure=side.get("exposure"))
    eta = coded_linear_predictor(X, codes, coded, coef, offset=side.get("offset"))
    if side.get("exposure") is not None:
        eta = eta + log_exposure(side["exposure"])
    return eta


@in_task
def predict_partition(df, recipe, coef, family, which, coded=None, unseen="error"):
    """Predictions for one partition of new data: NaN where a value is missing
    (coded terms are read as codes, never as dummy columns)."""
    complete, X, codes, side = _partition_design(df, recipe, coded, unseen)
    out = np.full(len(df), np.nan)
    if X is not None:
        out[complete] = inverse_link(_partition_eta(X, codes, coded, coef, side), family, which)
    return pd.Series(out, index=df.index, name="predicted")


# -- the linear predictor with its variance (for intervals) ------------------------
LINEAR_COLUMNS = ("linear", "variance")


def linear_with_variance(exog, coef, cov, *, offset=None, exposure=None, formula=None,
                         unseen="error"):
    """The linear predictor ``eta = x' b (+ offset)`` and its variance ``x' C x``
    for every row, in one sweep of ``exog``.

    Parameters
    ----------
    exog, offset, exposure, formula, unseen
        As for :func:`predict`.
    coef : array of shape (n_features,)
    cov : array of shape (n_features, n_features), or CodedCovariance
        The covariance of ``coef``; for a formula with coded terms, an object
        whose ``row_variance(CodedMatrix)`` gives ``x' C x`` from the rows'
        codes (:class:`daskglm.inference.covariance.CodedCovariance`).

    Returns
    -------
    Two columns, ``eta`` and its variance: a pandas or dask DataFrame (columns
    :data:`LINEAR_COLUMNS`, NaN in rows with a missing value) for frame input
    through a formula or a pandas frame of design columns; otherwise a numpy
    or dask array of shape (n_samples, 2), chunked as ``exog``'s rows.
    """
    coef = np.asarray(coef, dtype=float)
    if check_unseen(unseen) != "error" and formula is None:
        raise ValueError(f"unseen={unseen!r} applies to a formula model's categoricals; "
                         "this model has no formula")
    if not hasattr(cov, "row_variance"):
        cov = np.asarray(cov, dtype=float)
    if formula is None:
        X, index = design_matrix(exog, coef.size)
        eta = linear_predictor(X, coef, offset=offset, exposure=exposure)
        if isinstance(X, da.Array):
            X = X.rechunk({1: -1}) if X.numblocks[1] > 1 else X
            variance = X.map_blocks(_quadratic_form, cov, drop_axis=1, dtype=float)
            return da.stack([eta, variance], axis=1).rechunk({1: -1})
        table = np.column_stack([eta, _quadratic_form(X, cov)])
        return table if index is None else pd.DataFrame(table, index=index,
                                                        columns=list(LINEAR_COLUMNS))
    if not isinstance(exog, (pd.DataFrame, dd.DataFrame)):
        raise TypeError("a formula model predicts from a DataFrame with the formula's "
                        f"columns, got {type(exog).__name__}")
    data, recipe, columns = _frame_recipe(formula, exog, offset, exposure)
    meta = pd.DataFrame({name: np.empty(0) for name in LINEAR_COLUMNS})
    out = data[columns].map_partitions(linear_variance_partition, recipe, coef, cov,
                                       formula.coded, unseen, meta=meta,
                                       enforce_metadata=False)
    return out.compute() if isinstance(exog, pd.DataFrame) else out


def coded_linear_with_variance(X, codes, coded, params, cov, *, offset=None):
    """``eta`` and its variance (an (n, 2) array, dask for dask rows) of rows with
    coded terms: the dense block ``X``, the terms' ``codes``, ``coded`` their
    CodedLayout, ``params`` in patsy's order and ``cov`` a CodedCovariance."""
    eta = coded_linear_predictor(X, codes, coded, params, offset=offset)
    if isinstance(X, da.Array):
        variance = da.map_blocks(_coded_variance_block, X, codes, coded.n_levels, cov,
                                 drop_axis=1, dtype=float)
        return da.stack([eta, variance], axis=1).rechunk({1: -1})
    return np.column_stack([eta, _coded_variance_block(X, codes, coded.n_levels, cov)])


def _coded_variance_block(X, codes, n_levels, cov):
    return cov.row_variance(CodedMatrix(X, codes, n_levels))


def _quadratic_form(X, cov):
    """``x_i' C x_i`` for every row of ``X`` (dense or sparse)."""
    product = X @ cov
    if sp.issparse(X):
        return np.asarray(X.multiply(product).sum(axis=1)).reshape(-1)
    return np.einsum("ij,ij->i", np.asarray(X), np.asarray(product))


@in_task
def linear_variance_partition(df, recipe, coef, cov, coded=None, unseen="error"):
    """:func:`linear_with_variance` for one partition of new data (with ``coded``,
    the rows' coded terms are read as codes and ``cov`` is a CodedCovariance)."""
    complete, X, codes, side = _partition_design(df, recipe, coded, unseen)
    out = np.full((len(df), 2), np.nan)
    if X is not None:
        out[complete, 0] = _partition_eta(X, codes, coded, coef, side)
        out[complete, 1] = _quadratic_form(X, cov) if codes is None else \
            _coded_variance_block(X, codes, coded.n_levels, cov)
    return pd.DataFrame(out, index=df.index, columns=list(LINEAR_COLUMNS))
