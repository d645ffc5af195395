"""Score (Lagrange multiplier) tests, as statsmodels' ``GLMResults.score_test``.

The score test of omitted variables needs no refit: at the fitted
coefficients, extended by zeros for the candidate columns ``exog_extra``,
one pass sums the extended model's score, information and outer product
of the scores (:func:`daskglm.passes.statistics.score_pass`); the test is
then small algebra on those sums:

- ``cov_type="nonrobust"``: ``s' I^{-1} s`` (the information at the fit's
  scale), chi-squared with ``k`` (the number of extra columns) degrees of
  freedom, or one z statistic per coefficient with ``hypothesis="separate"``;
- ``"HC0"``: the robust LM statistic with the scores' empirical covariance
  (``n / (n - 1)`` times their centred outer product, as ``numpy.cov``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from scipy import stats

from ..passes.statistics import score_pass

if TYPE_CHECKING:
    from statsmodels.base._parameter_inference import ScoreTestResult

__all__ = ["score_test", "check_exog_extra"]


def check_exog_extra(exog_extra, design):
    """``exog_extra`` as a 2-D float array aligned with ``design``'s rows
    (dask, chunked as its rows, for a dask design; numpy otherwise).

    Raises
    ------
    ValueError
        For a wrong number of rows, unknown chunk sizes, or non-numeric values.
    """
    values = exog_extra
    if isinstance(values, dd.DataFrame | dd.Series):
        values = values.to_dask_array(lengths=True)
    elif isinstance(values, pd.DataFrame | pd.Series):
        values = values.to_numpy()
    elif not isinstance(values, da.Array):
        values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise ValueError(f"exog_extra must be numeric, got dtype {values.dtype}")
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[1] == 0:
        raise ValueError(f"exog_extra must be 2-D with at least one column, got shape "
                         f"{values.shape}")
    if isinstance(values, da.Array) and any(np.isnan(c) for c in values.chunks[0]):
        raise ValueError("exog_extra has unknown chunk sizes; give its row chunks "
                         "(e.g. to_dask_array(lengths=True)) aligned with the model's rows")
    if values.shape[0] != design.n_rows:
        raise ValueError(f"exog_extra has {values.shape[0]} rows but the model uses "
                         f"{design.n_rows} (after rows with missing values were dropped)")
    values = values.astype(float)
    if not design.is_dask:
        return values.compute() if isinstance(values, da.Array) else values
    if not isinstance(values, da.Array):
        return da.from_array(values, chunks=(design.X.chunks[0], -1))
    return values.rechunk((design.X.chunks[0], -1))


def score_test(results, design, exog_extra=None, params_constrained=None, hypothesis="joint",
               cov_type=None, k_constraints=None, observed=True) -> ScoreTestResult:
    """Score test of omitted variables (``exog_extra``) or of the restrictions
    that gave ``params_constrained``; statsmodels' arguments and result.

    Parameters
    ----------
    results : GLMResults
    design : Design
        The rows of the fit.
    exog_extra : array of shape (n_rows, k), optional
        Candidate columns for the fit's rows (numpy, pandas or dask).
    params_constrained : array, optional
        Without ``exog_extra``: a restricted estimate of the model's
        coefficients (then ``k_constraints`` is needed).
    hypothesis : {"joint", "separate"}
    cov_type : {"nonrobust", "HC0"}, optional
        Default: the fit's.
    k_constraints : int, optional
    observed : bool
        The observed information (else the expected; equal for canonical links).

    Returns
    -------
    statsmodels' ScoreTestResult
        Unpacks as ``(statistic, pvalue)``; ``k_constraint`` and ``distribution``.
    """
    if hypothesis not in ("joint", "separate"):
        raise ValueError(f"hypothesis must be 'joint' or 'separate', got {hypothesis!r}")
    cov_type = results.cov_type if cov_type is None else cov_type
    if cov_type not in ("nonrobust", "HC0"):
        raise ValueError(f"score_test supports cov_type 'nonrobust' and 'HC0' (as "
                         f"statsmodels), got {cov_type!r}")
    if results.regularizer is not None:
        raise ValueError("score_test needs an unpenalized fit; this one is penalized")
    coef = results.params.to_numpy()
    if exog_extra is None:
        if params_constrained is None or k_constraints is None:
            raise ValueError("score_test needs exog_extra, or params_constrained with "
                             "k_constraints")
        coef = np.asarray(params_constrained, dtype=float)
        if coef.shape != (len(results.params),):
            raise ValueError(f"params_constrained must have {len(results.params)} values, "
                             f"got shape {coef.shape}")
        extra, k = None, int(k_constraints)
    else:
        extra = check_exog_extra(exog_extra, design)
        k = extra.shape[1]
    sums = score_pass(design, results.family, coef, exog_extra=extra, observed=observed)
    scale = results.scale
    score, information = sums["score"] / scale, sums["information"] / scale
    if cov_type == "HC0":
        if extra is None:
            raise ValueError("score_test with cov_type='HC0' needs exog_extra")
        return _robust_lm(score, information, sums["outer"] / scale ** 2, k, design.n_rows)
    if hypothesis == "separate":
        statistic = score / np.sqrt(np.diag(information))
        return _score_result(statistic=statistic, pvalue=2.0 * stats.norm.sf(np.abs(statistic)),
                               distribution="norm")
    statistic = float(score @ np.linalg.solve(information, score))
    return _score_result(statistic=statistic, pvalue=float(stats.chi2.sf(statistic, k)),
                           k_constraint=k, distribution="chi2")


def _robust_lm(score, information, outer, k, n_rows):
    """The LM statistic with the scores' empirical covariance (statsmodels' HC0)."""
    mean = score / n_rows
    cov_score = n_rows / (n_rows - 1.0) * (outer - n_rows * np.outer(mean, mean))
    restriction = np.eye(score.size)[score.size - k:]
    weighted = restriction @ np.linalg.inv(information)
    inner = weighted @ cov_score @ weighted.T
    projected = weighted @ score
    statistic = float(projected @ np.linalg.solve(inner, projected))
    return _score_result(statistic=statistic, pvalue=float(stats.chi2.sf(statistic, k)),
                           k_constraint=k, distribution="chi2")


def _score_result(**fields) -> ScoreTestResult:
    """statsmodels' result object, imported when a test is made (not at import)."""
    from statsmodels.base._parameter_inference import ScoreTestResult

    return ScoreTestResult(**fields)
