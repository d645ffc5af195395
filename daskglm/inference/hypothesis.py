"""Tests of linear hypotheses on a fit's coefficients: no pass over the data.

Wald-type tests (:func:`t_test`, :func:`wald_test`, :func:`wald_test_terms`)
need only the coefficients and their covariance, which the results already
hold (of the fit's ``cov_type``), so they cost nothing but a few small
matrix products. The likelihood-ratio comparison of nested fits
(:func:`compare_lr_test`) reads the two fits' log-likelihoods.

Hypotheses are given as statsmodels takes them: a restriction matrix ``R``
(the null is ``R b = q`` with ``q = 0``), a tuple ``(R, q)``, or strings
over the coefficients' names (``"x1 = x2, C(g)[T.b] = 0"``), which patsy's
:meth:`patsy.DesignInfo.linear_constraint` parses. The answers are
statsmodels' own :class:`~statsmodels.stats.contrast.ContrastResults` and
:class:`~statsmodels.stats.contrast.WaldTestResults`, with its summaries.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from patsy import DesignInfo, PatsyError
from scipy import stats

if TYPE_CHECKING:
    from statsmodels.stats.contrast import ContrastResults, WaldTestResults

__all__ = ["compare_lr_test", "linear_restriction", "t_test", "wald_test", "wald_test_terms"]


def linear_restriction(r_matrix, names, *, argument="r_matrix"):
    """``(R, q)`` of a hypothesis ``R b = q`` over coefficients named ``names``.

    Parameters
    ----------
    r_matrix : array, tuple ``(R, q)``, str, list of str or dict
        Anything :meth:`patsy.DesignInfo.linear_constraint` reads.
    names : list of str
        The coefficients' names, in order.
    argument : str
        The argument's name, for the error messages.

    Returns
    -------
    R : ndarray of shape (n_restrictions, n_coefficients)
    q : ndarray of shape (n_restrictions,)

    Raises
    ------
    ValueError
        For a constraint naming an unknown coefficient (the message lists
        the known ones) or a matrix with the wrong number of columns.
    """
    if isinstance(r_matrix, list) and not all(isinstance(item, str) for item in r_matrix):
        r_matrix = np.asarray(r_matrix, dtype=float)
    if isinstance(r_matrix, np.ndarray) and r_matrix.ndim == 1:
        r_matrix = r_matrix[None, :]
    if isinstance(r_matrix, np.ndarray) and r_matrix.shape[1] != len(names):
        raise ValueError(f"{argument} has {r_matrix.shape[1]} columns but the model has "
                         f"{len(names)} coefficients")
    try:
        constraint = DesignInfo(list(names)).linear_constraint(r_matrix)
    except PatsyError as error:
        raise ValueError(f"{argument} could not be read as a hypothesis on the coefficients "
                         f"{list(names)}: {error}") from None
    return constraint.coefs, constraint.constants.reshape(-1)


def _restricted(results, r_matrix, argument="r_matrix"):
    """``(R, q, R b, R C R')`` for the hypothesis ``r_matrix`` on ``results``."""
    R, q = linear_restriction(r_matrix, list(results.params.index), argument=argument)
    cov = results.cov_params().to_numpy()
    if np.isnan(cov).any():
        raise ValueError("the covariance of the estimates is not available (a penalized "
                         "fit): Wald tests need it")
    return R, q, R @ results.params.to_numpy(), R @ cov @ R.T


def t_test(results, r_matrix, use_t=None) -> ContrastResults:
    """One z (or t) test per row of the hypothesis, as statsmodels' ``t_test``.

    Parameters
    ----------
    results : GLMResults
    r_matrix : array, tuple ``(R, q)``, str or list of str
        See :func:`linear_restriction`.
    use_t : bool, optional
        Student's t with ``df_resid`` degrees of freedom instead of the
        normal (default: the results' ``use_t``, False for a GLM).

    Returns
    -------
    statsmodels.stats.contrast.ContrastResults
    """
    from statsmodels.stats.contrast import ContrastResults  # statsmodels loads only when used
    _, q, effect, cov = _restricted(results, r_matrix)
    sd = np.sqrt(np.diag(cov))
    statistic = (effect - q) / sd
    use_t = results.use_t if use_t is None else bool(use_t)
    if use_t:
        return ContrastResults(effect=effect, t=statistic, sd=sd, df_denom=_df_denom(results))
    return ContrastResults(effect=effect, statistic=statistic, sd=sd,
                           df_denom=_df_denom(results), distribution="norm")


def _df_denom(results):
    """Denominator degrees of freedom: ``n_groups - 1`` under a cluster covariance
    (statsmodels' ``df_resid_inference``), else ``df_resid``."""
    return getattr(results, "df_resid_inference", results.df_resid)


def wald_test(results, r_matrix, use_f=None, scalar=True) -> ContrastResults:
    """The joint Wald test of ``R b = q``, as statsmodels' ``wald_test``.

    Parameters
    ----------
    results : GLMResults
    r_matrix : array, tuple ``(R, q)``, str or list of str
        See :func:`linear_restriction`. Its rows must be linearly independent.
    use_f : bool, optional
        An F test (statistic over the number of restrictions, ``df_resid``
        denominator degrees of freedom) instead of chi-squared (default:
        the results' ``use_t``).
    scalar : bool
        Return the statistic as a float (else a 1 x 1 array).

    Returns
    -------
    statsmodels.stats.contrast.ContrastResults

    Raises
    ------
    ValueError
        For an unknown coefficient or a singular restriction (rows of ``R``
        that are linearly dependent, or restrictions with no variance).
    """
    from statsmodels.stats.contrast import ContrastResults  # statsmodels loads only when used
    R, q, effect, cov = _restricted(results, r_matrix)
    n_restrictions = R.shape[0]
    rank = np.linalg.matrix_rank(cov)
    if rank < n_restrictions:
        raise ValueError(f"r_matrix is singular: its {n_restrictions} restrictions have a "
                         f"covariance of rank {rank}; drop the restrictions implied by others")
    gap = (effect - q)[:, None]
    statistic = gap.T @ np.linalg.solve(cov, gap)
    if scalar:
        statistic = float(np.squeeze(statistic))
    use_f = results.use_t if use_f is None else bool(use_f)
    if use_f:
        return ContrastResults(F=statistic / n_restrictions, df_denom=_df_denom(results),
                               df_num=n_restrictions)
    return ContrastResults(chi2=statistic, df_denom=n_restrictions, statistic=statistic,
                           distribution="chi2", distargs=(n_restrictions,))


def f_test(results, r_matrix) -> ContrastResults:
    """:func:`wald_test` with ``use_f=True`` (statsmodels' ``f_test``)."""
    return wald_test(results, r_matrix, use_f=True)


def _term_restrictions(results):
    """``[(name, R)]``: one restriction per formula term (all its columns), or
    one per coefficient for an array model."""
    identity = np.eye(len(results.params))
    design_info = results.model.design_info
    if design_info is None:
        return [(name, identity[[i]]) for i, name in enumerate(results.params.index)]
    return [(name, identity[columns]) for name, columns in design_info.term_name_slices.items()]


def wald_test_terms(results, skip_single=False, combine_terms=None) -> WaldTestResults:
    """A joint Wald test per formula term (a categorical is one multi-df term),
    as statsmodels' ``wald_test_terms``.

    Parameters
    ----------
    results : GLMResults
    skip_single : bool
        Leave out the terms of one column.
    combine_terms : list of str, optional
        Each string also gets one joint test of all the terms whose name
        contains it.

    Returns
    -------
    statsmodels.stats.contrast.WaldTestResults
        ``table``: a DataFrame with ``statistic``, ``pvalue``,
        ``df_constraint`` (and ``df_denom`` with ``use_t``), one row a term.
    """
    from statsmodels.stats.contrast import WaldTestResults  # statsmodels loads only when used
    terms = _term_restrictions(results)
    combined = [(part, np.vstack([R for name, R in terms if part in name]))
                for part in (combine_terms or [])
                if any(part in name for name, _ in terms)]
    missing = [part for part in (combine_terms or []) if part not in dict(combined)]
    if missing:
        raise ValueError(f"combine_terms {missing} match no term of {[n for n, _ in terms]}")
    rows, index = [], []
    if skip_single:
        terms = [(name, R) for name, R in terms if R.shape[0] > 1]
    for name, R in terms + combined:
        test = wald_test(results, R)
        row = [test.statistic, test.pvalue, int(test.df_num if results.use_t else test.df_denom)]
        rows.append(row + ([test.df_denom] if results.use_t else []))
        index.append(name)
    columns = ["statistic", "pvalue", "df_constraint"] + (["df_denom"] if results.use_t else [])
    table = pd.DataFrame(rows, index=index, columns=columns)
    return WaldTestResults(None, ["chi2", "F"][results.use_t], None, table=table)


def compare_lr_test(results, restricted):
    """Likelihood-ratio test of ``restricted`` (nested in ``results``).

    ``2 (llf - llf_restricted)`` is compared with the chi-squared
    distribution of ``df_resid_restricted - df_resid`` degrees of freedom,
    as statsmodels' ``RegressionResults.compare_lr_test``. Like it, this
    warns that the test ignores a robust ``cov_type``.

    Returns
    -------
    lr_stat : float
    p_value : float
    df_diff : float

    Raises
    ------
    ValueError
        When ``restricted`` is not a fit of the same family on the same
        rows with fewer parameters.
    """
    if not hasattr(restricted, "llf") or not hasattr(restricted, "df_resid"):
        raise TypeError(f"restricted must be a GLMResults, got {type(restricted).__name__}")
    if restricted.family != results.family:
        raise ValueError(f"restricted was fitted with {restricted.family!r}, this fit with "
                         f"{results.family!r}; a likelihood ratio needs the same family")
    if restricted.nobs != results.nobs or restricted.wnobs != results.wnobs:
        raise ValueError(f"restricted was fitted on {restricted.nobs} rows, this fit on "
                         f"{results.nobs}; a likelihood ratio needs the same rows")
    df_diff = restricted.df_resid - results.df_resid
    if df_diff <= 0:
        raise ValueError(f"restricted must have fewer parameters than this fit (df_resid "
                         f"{restricted.df_resid} vs {results.df_resid}): it is not nested")
    if results.cov_type != "nonrobust" or restricted.cov_type != "nonrobust":
        warnings.warn("the likelihood-ratio test is likely invalid with a robust "
                      f"covariance ({results.cov_type}); proceeding anyway", UserWarning,
                      stacklevel=3)
    lr_stat = -2.0 * (restricted.llf - results.llf)
    return lr_stat, float(stats.chi2.sf(lr_stat, df_diff)), df_diff
