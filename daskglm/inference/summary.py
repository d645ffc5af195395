"""statsmodels' GLM summary, built from daskglm's results.

statsmodels' ``Summary`` reads a small, duck-typed set of attributes from a
results object (``params``, ``bse``, ``tvalues``, ``pvalues``,
``conf_int``, ``nobs``, ``df_model``, ``df_resid``, ``llf`` and the model's
class name and variable names), so :class:`daskglm.GLMResults` is handed to
it directly, with the rows of statsmodels' GLM layout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.iolib.summary import Summary

__all__ = ["glm_summary"]

TITLE = "Generalized Linear Model Regression Results"


def _top_tables(results):
    """Left and right columns of the top table (``None``: statsmodels fills it in)."""
    try:
        pseudo_r2 = results.pseudo_rsquared(kind="cs")
    except (ValueError, FloatingPointError):
        pseudo_r2 = np.nan
    left = [
        ("Dep. Variable:", None),
        ("Model:", None),
        ("Model Family:", [results.family.name]),
        ("Link Function:", [type(results.family.link).__name__]),
        ("Method:", [results.method]),
        ("Date:", None),
        ("Time:", None),
        ("No. Iterations:", [f"{results.n_iter:d}"]),
        ("Covariance Type:", [results.cov_type]),
    ]
    right = [
        ("No. Observations:", None),
        ("Df Residuals:", None),
        ("Df Model:", None),
        ("Scale:", [f"{results.scale:#8.5g}"]),
        ("Log-Likelihood:", None),
        ("Deviance:", [f"{results.deviance:#8.5g}"]),
        ("Pearson chi2:", [f"{results.pearson_chi2:#6.3g}"]),
        ("Pseudo R-squ. (CS):", [f"{pseudo_r2:#6.4g}"]),
    ]
    return left, right


def glm_summary(results, yname=None, xname=None, title=None, alpha=0.05) -> Summary:
    """The summary of a :class:`daskglm.GLMResults`, in statsmodels' GLM layout.

    Parameters
    ----------
    results : GLMResults
    yname : str, optional
        The response's name (default: the model's).
    xname : list of str, optional
        The coefficients' names (default: the model's).
    title : str, optional
    alpha : float
        Significance level of the confidence intervals.

    Returns
    -------
    statsmodels.iolib.summary.Summary
        With ``as_text()``, ``as_html()``, ``as_latex()`` and notebook display.
    """
    left, right = _top_tables(results)
    summary = Summary()
    summary.add_table_2cols(results, gleft=left, gright=right, yname=yname, xname=xname,
                            title=TITLE if title is None else title)
    table, names = results, xname
    if results.k_extra:             # the estimated family parameter gets a row too
        table = _WithParameter(results)
        names = None if xname is None else [*xname, table.params.index[-1]]
        names = list(table.params.index) if names is None else names
        yname = results.model.endog_names if yname is None else yname
    summary.add_table_params(table, yname=yname, xname=names, alpha=alpha,
                             use_t=results.use_t)
    notes = []
    if results.regularizer is not None:
        notes.append(f"Regularized fit ({results.regularizer!r}): standard errors, "
                     "z statistics and p-values are not available (NaN).")
    if not results.converged:
        notes.append(f"The solver did not converge: {results.solver_result.message}.")
    if notes:
        summary.add_extra_txt(notes)
    return summary


class _WithParameter:
    """The coefficients and an estimated family parameter (alpha) as one table's
    rows: what statsmodels' coefficient table reads, as its discrete
    ``NegativeBinomial`` shows alpha."""

    def __init__(self, results):
        covariance = results.cov_params_joint()
        name = covariance.index[-1]
        self.params = pd.concat([results.params, pd.Series({name: getattr(results, name)})])
        self.bse = pd.Series(np.sqrt(np.diag(covariance.to_numpy())), index=self.params.index)
        self.tvalues = self.params / self.bse
        self.pvalues = pd.Series(2.0 * stats.norm.sf(np.abs(self.tvalues)),
                                 index=self.params.index)
        self.use_t = results.use_t

    def conf_int(self, alpha=0.05):
        half = stats.norm.ppf(1.0 - alpha / 2.0) * self.bse
        return pd.DataFrame({0: self.params - half, 1: self.params + half})
