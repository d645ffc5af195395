"""Honest results at the edges (issue 21): a saturated fit, a single class or
separated classes, an overflowing column, text where numbers belong. Each case
gives results that say what they cannot know, or a clear early error naming
the argument, never a deep traceback or a quiet ``converged=True``."""

import warnings

import dask.array as da
import numpy as np
import pytest
import statsmodels.api as sm

import daskglm


# -- a saturated Gaussian fit (n == p) ------------------------------------------------
def test_saturated_gaussian_fit_has_no_residual_df_and_nan_inference():
    X = np.array([[1.0, 0.5, 2.0], [1.0, 1.5, -1.0], [1.0, 3.0, 0.7]])
    y = np.array([1.0, 2.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # statsmodels divides by zero here
        expected = sm.GLM(y, X, family=sm.families.Gaussian()).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no numpy RuntimeWarning may escape
        result = daskglm.GLM(da.from_array(y, chunks=3), da.from_array(X, chunks=(3, 3)),
                             family=daskglm.Gaussian()).fit()
        bse, cov, conf = result.bse, result.cov_params(), result.conf_int()
        tvalues, pvalues = result.tvalues, result.pvalues
    assert result.df_resid == expected.df_resid == 0
    np.testing.assert_allclose(result.params, expected.params, rtol=1e-8, atol=1e-10)
    # NaN exactly where statsmodels' scale, standard errors, covariance and
    # intervals are not finite (it divides rounding noise by zero: inf)
    assert np.isnan(result.scale) and not np.isfinite(expected.scale)
    np.testing.assert_array_equal(np.isnan(bse), ~np.isfinite(expected.bse))
    np.testing.assert_array_equal(np.isnan(cov), ~np.isfinite(expected.cov_params()))
    np.testing.assert_array_equal(np.isnan(conf), ~np.isfinite(expected.conf_int()))
    # statsmodels' t of 0 and p of 1 come from dividing by that inf: here NaN
    assert np.isnan(tvalues).all() and np.isnan(pvalues).all()
    assert "nan" in str(result.summary())
