"""Regularization paths and cross-validation of a :class:`~daskglm.GLM`.

``GLM.fit_regularized(alpha=<sequence>)`` is the path over the model's
prepared design (:func:`design_path`), named by the design's columns;
``GLM.fit_cv`` cross-validates the path (:func:`design_cross_validation`)
and returns results at the chosen alpha, or with ``relaxed=True`` the
unpenalized refit on the chosen support (the relaxed lasso of Meinshausen
2007, as glmnet's ``relax=True`` at gamma 0), whose standard errors are
statsmodels' ordinary ones (conditional on the selection, as with any
refit after selection).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from ..math.penalties import ElasticNet, get_regularizer
from ..solvers.cv import cross_validate_path
from ..solvers.path import path as solver_path
from ..solvers.result import SolverResult

__all__ = ["is_alpha_sequence", "penalty_share", "design_path", "design_cross_validation",
           "support_design"]


def is_alpha_sequence(alpha) -> bool:
    """True for a 1-D sequence of alphas (a path); False for one number, None,
    and alphas by term or coefficient name (a dict or pandas Series)."""
    if alpha is None or isinstance(alpha, (numbers.Real, str, Mapping, pd.Series)):
        return False
    return np.ndim(alpha) == 1


def penalty_share(regularizer, l1_ratio) -> float:
    """The L1 share of a path's penalty: ``"l1"`` 1, ``"l2"`` 0, ``"elastic_net"``
    ``l1_ratio`` (0.5 by default), or a penalty instance's own."""
    if isinstance(regularizer, ElasticNet):
        if l1_ratio is not None:
            raise ValueError("l1_ratio is given by the regularizer instance already")
        return regularizer.l1_ratio
    return get_regularizer(regularizer, alpha=1.0, l1_ratio=l1_ratio).l1_ratio


def _check_dense(design):
    if design.coded is not None:
        raise ValueError("a regularization path needs dense columns; this design keeps "
                         "coded categorical terms (more than 32 levels): fit one alpha at a "
                         "time with fit_regularized(method='proximal_grad')")


def design_path(design, family, l1_ratio, alphas, *, n_alphas=100, alpha_min_ratio=None,
                max_iter=100, tol=1e-8):
    """The path over a prepared design, its columns' names attached."""
    _check_dense(design)
    unpenalized = None if design.intercept is None else [design.intercept]
    fitted = solver_path(design.X, design.y, family, l1_ratio=l1_ratio, alphas=alphas,
                         n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio,
                         unpenalized=unpenalized, sample_weight=design.weights,
                         offset=design.offset, tol=tol, max_iter=max_iter, persist=False)
    fitted.names = list(design.exog_names)
    return fitted


def design_cross_validation(design, family, l1_ratio, *, alphas=None, n_alphas=100,
                            alpha_min_ratio=None, cv=5, scoring=None, one_se=False,
                            max_iter=100, tol=1e-8):
    """``(CrossValidatedPath, SolverResult of the refit at the chosen alpha)``."""
    _check_dense(design)
    unpenalized = None if design.intercept is None else [design.intercept]
    result = cross_validate_path(
        design.X, design.y, family, cv=cv, l1_ratio=l1_ratio, alphas=alphas,
        n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio, unpenalized=unpenalized,
        sample_weight=design.weights, offset=design.offset, scoring=scoring, tol=tol,
        max_iter=max_iter, persist=False, one_se=one_se, refit=True)
    refit = result.refit
    refit.names = list(design.exog_names)
    solver_result = SolverResult(
        coef=refit.coefs[-1], converged=bool(refit.converged[-1]),
        n_iter=int(refit.n_iter.sum()), n_passes=result.n_passes + refit.info["walk_passes"],
        objective=float(refit.objectives[-1]), solver="path",
        message=(f"{len(result.scores)}-fold cross-validation chose alpha "
                 f"{refit.alphas[-1]:.6g} ({'one-SE rule' if one_se else 'best mean score'}"
                 f", scoring {result.scoring})"),
        info={"cv": result, "path": refit, "kkt_norm": float(refit.kkt_norms[-1])})
    return result, solver_result


def support_design(design, coef):
    """The design restricted to the non-zero coefficients' columns (the
    intercept kept): the relaxed lasso's refit."""
    keep = np.flatnonzero(coef != 0)
    if design.intercept is not None:
        keep = np.union1d(keep, [design.intercept])
    names = [design.exog_names[i] for i in keep]
    intercept = None if design.intercept is None else int(np.searchsorted(keep,
                                                                          design.intercept))
    return replace(design, X=design.X[:, keep], exog_names=names, intercept=intercept,
                   formula=None)
