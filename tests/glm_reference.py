"""Real data shipped with statsmodels, partitioned the hard way, and the
comparisons the model tests make against statsmodels' GLM.

Every frame is sorted by a categorical column before it is cut into
partitions, so most partitions hold only some of that column's levels.
"""

from functools import cache

import dask.dataframe as dd
import numpy as np
import statsmodels.api as sm
import statsmodels.formula.api as smf

import daskglm

POISSON_FORMULA = ("mdvis ~ C(lncoins) + idp + standardize(lpi) + center(fmde) + physlm"
                   " + standardize(disea) + hlthg + hlthf + hlthp")
LOGISTIC_FORMULA = ("any_affair ~ center(rate_marriage) + standardize(age)"
                    " + standardize(yrs_married) + children + center(religious)"
                    " + standardize(educ) + C(occupation) + C(occupation_husb)")
NORMAL_FORMULA = "I(invest / 100) ~ standardize(value) + standardize(capital) + C(firm)"

SCALARS = ("llf", "llnull", "deviance", "null_deviance", "pearson_chi2", "aic", "bic",
           "scale", "df_model", "df_resid", "nobs")


@cache
def _randhie():
    data = sm.datasets.randhie.load_pandas().data
    rng = np.random.default_rng(7)
    data["exposure"] = rng.uniform(0.5, 2.0, len(data))
    data["offset"] = rng.normal(0.0, 0.2, len(data))
    data["fw"] = rng.integers(1, 4, len(data)).astype(float)
    data["vw"] = rng.uniform(0.5, 2.0, len(data))
    return data.sort_values("lncoins", kind="stable").reset_index(drop=True)


@cache
def _fair():
    data = sm.datasets.fair.load_pandas().data
    data["any_affair"] = (data["affairs"] > 0).astype(float)
    rng = np.random.default_rng(8)
    data["fw"] = rng.integers(1, 4, len(data)).astype(float)
    data["vw"] = rng.uniform(0.5, 2.0, len(data))
    return data.sort_values("occupation", kind="stable").reset_index(drop=True)


@cache
def _grunfeld():
    data = sm.datasets.grunfeld.load_pandas().data
    rng = np.random.default_rng(9)
    data["fw"] = rng.integers(1, 4, len(data)).astype(float)
    data["vw"] = rng.uniform(0.5, 2.0, len(data))
    return data.sort_values("firm", kind="stable").reset_index(drop=True)


CASES = {
    "poisson": (daskglm.Poisson(), sm.families.Poisson(), POISSON_FORMULA, _randhie),
    "logistic": (daskglm.Logistic(), sm.families.Binomial(), LOGISTIC_FORMULA, _fair),
    "normal": (daskglm.Normal(), sm.families.Gaussian(), NORMAL_FORMULA, _grunfeld),
}


def frame(name):
    """A fresh copy of a case's pandas frame (sorted by its categorical column)."""
    return CASES[name][3]().copy()


def partitioned(data, npartitions):
    """``data`` cut into ``npartitions`` in its (sorted) order."""
    return dd.from_pandas(data, npartitions=npartitions, sort=False)


def reference_fit(model, **fit_options):
    """statsmodels' fit, converged tightly so that its own stopping does not
    limit the comparison (its default stops on a deviance change of 1e-8 and
    keeps the weights of the step before, which moves bse by ~1e-6)."""
    fit_options.setdefault("tol", 1e-12)
    return model.fit(**fit_options)


@cache
def _case_reference(case, cov_type, roles):
    _, sm_family, formula, _ = CASES[case]
    data = frame(case)
    arguments = {role: data[column] for role, column in roles}
    return reference_fit(smf.glm(formula, data, family=sm_family, **arguments),
                         cov_type=cov_type)


def case_reference(case, cov_type="nonrobust", **roles):
    """statsmodels' fit of a case's formula (cached: several tests share it);
    ``roles`` maps offset/exposure/freq_weights/var_weights to columns."""
    return _case_reference(case, cov_type, tuple(sorted(roles.items())))


def assert_matches(result, reference, rtol=1e-6, bse_rtol=1e-5, scalars=SCALARS):
    """Estimates and fit statistics equal statsmodels' to the given relative tolerances."""
    assert list(result.params.index) == list(reference.model.exog_names)
    np.testing.assert_allclose(result.params, reference.params, rtol=rtol, atol=0)
    np.testing.assert_allclose(result.bse, reference.bse, rtol=bse_rtol, atol=0)
    np.testing.assert_allclose(result.tvalues, reference.tvalues, rtol=bse_rtol, atol=0)
    # p-values far in the tail are compared on the log scale (a relative error
    # of z moves p by z^2 times as much there)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(np.log(result.pvalues), np.log(reference.pvalues), rtol=rtol)
    for name in scalars:
        np.testing.assert_allclose(getattr(result, name), getattr(reference, name),
                                   rtol=rtol, atol=0, err_msg=name)
