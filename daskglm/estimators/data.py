"""The estimators' input: X, y and sample_weight as numpy, scipy.sparse or dask.

scikit-learn's ``validate_data`` checks in-memory input; these helpers do the
rest: dask vectors with known chunk sizes, sample weights, the intercept's
column of ones.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp

__all__ = ["is_dask", "is_dask_frame", "dask_vector", "check_numeric", "check_frame_columns",
           "memory_weights", "check_weight_total", "with_intercept"]


def is_dask_frame(obj) -> bool:
    return dask.is_dask_collection(obj) and hasattr(obj, "to_dask_array")


def is_dask(obj) -> bool:
    return isinstance(obj, da.Array) or is_dask_frame(obj)


def dask_vector(values, name, n_rows):
    """y or sample_weight for dask data: a 1-D dask array of ``n_rows``, known chunks."""
    if values is None:
        return None
    if is_dask_frame(values):
        values = values.to_dask_array(lengths=True)
    elif not isinstance(values, da.Array):
        values = da.from_array(np.asarray(values))
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {values.shape}")
    if any(np.isnan(c) for c in values.chunks[0]):
        values = values.compute_chunk_sizes()
    if values.shape[0] != n_rows:
        raise ValueError(f"{name} has {values.shape[0]} rows but X has {n_rows}")
    return values


def check_numeric(dtype, name):
    """Refuse a non-numeric numpy or pandas dtype (``string``, ``object``,
    ``category``, ...), naming what holds it."""
    if getattr(dtype, "kind", "O") not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {dtype}")


def check_frame_columns(X):
    """Refuse a pandas or dask dataframe with a non-numeric column, naming it."""
    for column, dtype in X.dtypes.items():
        check_numeric(dtype, f"X's column {column!r}")


def memory_weights(sample_weight, n_rows):
    """sample_weight for in-memory data: a float vector of ``n_rows``, or None."""
    if sample_weight is None:
        return None
    if is_dask(sample_weight):
        sample_weight = np.asarray(sample_weight)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim == 0:
        weights = np.full(n_rows, float(weights))
    if weights.shape != (n_rows,):
        raise ValueError(
            f"sample_weight must have shape ({n_rows},) to match X, got {weights.shape}"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    return weights


def check_weight_total(total):
    if not np.isfinite(total) or total < 0:
        raise ValueError(f"sample_weight must be finite and non-negative (sum {total})")
    if total == 0:
        raise ValueError("sample_weight sums to zero: no row carries weight")


def with_intercept(X):
    """X with a column of ones appended (numpy, scipy.sparse or dask)."""
    n_rows = X.shape[0]
    if sp.issparse(X):
        return sp.hstack([X, np.ones((n_rows, 1))], format="csr")
    if isinstance(X, da.Array):
        ones = da.ones((n_rows, 1), chunks=(X.chunks[0], (1,)))
        return da.concatenate([X, ones], axis=1)
    return np.hstack([X, np.ones((n_rows, 1))])
