"""Cross-validated estimators: scikit-learn's ``LogisticRegressionCV`` and
``ElasticNetCV`` names over :func:`daskglm.solvers.cv.cross_validate_path`.

Each fits every fold's whole regularization path with warm starts, the
folds sharing each pass over the data, scores the held-out rows on the
workers, and refits on all rows down to the chosen penalty. They hold no
math of their own: the data checks and conversions, the predictions and
``score`` are those of :class:`LogisticRegression`,
:class:`LinearRegression` and :class:`PoissonRegression`.

When to use them rather than ``GridSearchCV`` over the plain estimators:
a grid search fits every (fold, penalty) pair from scratch, each its own
set of passes over the data; these fit each fold's path with warm starts
(a few passes per penalty) and every fold in the same passes, so on data
that must be read from a cluster's memory or from disk they cost a small
fraction. A grid search remains the way to tune anything else (a
pipeline's preprocessing, the solver's options) or to score with a rule
these do not reduce on the workers (ROC AUC).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..solvers import path as solve_path
from ..solvers.cv import cross_validate_path
from ..solvers.path import check_l1_ratio
from .linear import LinearRegression
from .logistic import LogisticRegression
from .poisson import PoissonRegression

__all__ = ["LogisticRegressionCV", "LinearRegressionCV", "PoissonRegressionCV"]

#: scikit-learn's default grid of ``Cs``: this many values of ``np.logspace(-4, 4, Cs)``
_DEFAULT_CS = 10


class _PathCV:
    """What the cross-validated estimators share: data, folds, the refit."""

    def _cross_validate(self, design, target, weights, unpenalized, l1_ratio, alphas,
                        scoring, classifier=False, refit=False, **grid):
        return cross_validate_path(
            design, target, self._family(), cv=self.cv, l1_ratio=l1_ratio, alphas=alphas,
            unpenalized=unpenalized, sample_weight=weights, scoring=scoring, tol=self.tol,
            max_iter=self.max_iter, classifier=classifier, one_se=self.one_se_rule,
            refit=refit, **grid)

    def _refit(self, chosen, design, target, weights, unpenalized, alphas):
        """The whole data's path down to the chosen alpha (the last of ``alphas``):
        the cross-validation's own refit when it made one (a single l1_ratio)."""
        fitted = chosen.refit
        if fitted is None:
            fitted = solve_path(design, target, self._family(), l1_ratio=chosen.l1_ratio,
                                alphas=alphas, unpenalized=unpenalized, sample_weight=weights,
                                tol=self.tol, max_iter=self.max_iter)
        self.path_ = fitted
        return fitted.coefs[-1]

    def _fit_grid(self, X, y, sample_weight, scoring):
        """The regressors' fit over an alpha grid (ElasticNetCV's); returns the
        held-out scores, shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)."""
        shares = _l1_ratios(self.l1_ratio, "l1_ratio")
        alphas = None if self.alphas is None else -np.sort(-np.asarray(self.alphas, float))
        if not isinstance(self.eps, numbers.Real) or not 0 < self.eps < 1:
            raise ValueError(f"eps must be a number in (0, 1), got {self.eps!r}")
        design, target, weights, _, unpenalized = self._prepared(X, y, sample_weight)
        results = [self._cross_validate(design, target, weights, unpenalized, share, alphas,
                                        scoring, refit=len(shares) == 1,
                                        n_alphas=self.n_alphas, alpha_min_ratio=self.eps)
                   for share in shares]
        chosen = results[_best(results)]
        grid = chosen.alphas[0]
        self.alpha_, self.l1_ratio_ = float(grid[chosen.index]), chosen.l1_ratio
        self.cv_results_ = results
        self._store_coef(self._refit(chosen, design, target, weights, unpenalized,
                                     grid[:chosen.index + 1]))
        self.n_iter_ = int(self.path_.n_iter.sum())
        single = isinstance(self.l1_ratio, numbers.Real)
        alphas = np.array([r.alphas[0] for r in results])
        scores = np.array([r.scores.T for r in results])
        self.alphas_ = alphas[0] if single else alphas
        return scores[0] if single else scores

    def _store_coef(self, coef):
        coef = np.asarray(coef, dtype=np.float64)
        if self.fit_intercept:
            self.coef_, self.intercept_ = coef[:-1].copy(), float(coef[-1])
        else:
            self.coef_, self.intercept_ = coef.copy(), 0.0


def _l1_ratios(values, name):
    values = [values] if isinstance(values, numbers.Real) else list(values)
    if not values:
        raise ValueError(f"{name} must hold at least one value in [0, 1]")
    return [check_l1_ratio(v, name) for v in values]


def _best(results):
    """Index into ``results`` (one per l1_ratio) of the best chosen mean score."""
    return int(np.argmax([r.mean_scores[r.index] for r in results]))


_CV_DOC = """
    cv : int, cross-validation splitter or iterable, default=None
        scikit-learn's conventions: None means 5 folds; an int gives, for
        in-memory data, scikit-learn's ``{int_splitter}``, for dask data
        groups of whole partitions (contiguous row blocks when there are
        fewer partitions than folds), so no row moves between workers; a
        splitter (its ``split`` gets the rows of a dask ``y`` computed) or
        an iterable of ``(train, test)`` index arrays.
    one_se_rule : bool, default=False
        Choose the largest penalty whose mean score is within one standard
        error (over the folds) of the best, as glmnet's ``lambda.1se``.
    tol : float, default=1e-4
        The KKT residual each penalty's fit stops at (as the plain estimators).
    max_iter : int, default=100
        Most passes over the data for one penalty.
"""


class LogisticRegressionCV(_PathCV, LogisticRegression):
    __doc__ = """Logistic regression with ``C`` chosen by cross-validation.

    scikit-learn's ``LogisticRegressionCV`` names: for each fold, the path
    over ``Cs`` (``alpha = 1 / (C * sum of the fold's training weights)``)
    with warm starts; the C with the best mean held-out score; a refit on
    all rows. Binary only.

    Parameters
    ----------
    Cs : int or sequence of float, default=10
        An int: ``np.logspace(-4, 4, Cs)``; else the positive values to try.
    fit_intercept : bool, default=True
""" + _CV_DOC.format(int_splitter="StratifiedKFold") + """
    penalty : {'l2', 'l1', 'elasticnet'}, default='l2'
    scoring : str, optional
        A name in :data:`daskglm.passes.fold_scores.SCORINGS` (``'neg_log_loss'``,
        ``'accuracy'``, ...). None (default): the mean deviance, negated
        (scikit-learn's default is accuracy).
    refit : bool, default=True
        Refit on all rows at the best C; otherwise average the folds' best
        coefficients and Cs, as scikit-learn.
    class_weight : dict, 'balanced' or None
        As :class:`LogisticRegression`.
    l1_ratios : sequence of float, optional
        With ``penalty='elasticnet'``: the L1 shares to try.

    Attributes
    ----------
    Cs_ : array of shape (n_Cs,)
        Ascending.
    C_, l1_ratio_ : array of shape (1,)
    l1_ratios_ : array
    scores_ : dict
        ``{classes_[1]: array of shape (n_folds, n_Cs)}`` (a last axis over
        ``l1_ratios`` with several).
    coefs_paths_ : dict
        ``{classes_[1]: array of shape (n_folds, n_Cs, n_features + 1)}``
        (intercept last; no intercept column without ``fit_intercept``).
    n_iter_ : array of shape (1, n_folds, n_Cs)
        Passes spent on each fold's fit at each C.
    coef_, intercept_, classes_, n_features_in_
        As :class:`LogisticRegression` (``coef_`` is 1-D).
    cv_results_ : list of CrossValidatedPath
        One per l1_ratio.
    path_ : RegularizationPath
        The refit (``refit=True``).
    """

    def __init__(self, *, Cs=_DEFAULT_CS, fit_intercept=True, cv=None, penalty="l2",
                 scoring=None, tol=1e-4, max_iter=100, class_weight=None, refit=True,
                 l1_ratios=None, one_se_rule=False):
        self.Cs = Cs
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.penalty = penalty
        self.scoring = scoring
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.refit = refit
        self.l1_ratios = l1_ratios
        self.one_se_rule = one_se_rule

    def _grid(self):
        Cs = self.Cs
        if isinstance(Cs, numbers.Integral) and not isinstance(Cs, bool):
            if Cs < 1:
                raise ValueError(f"Cs must be a positive int or a sequence of positive "
                                 f"numbers, got {Cs!r}")
            return np.logspace(-4, 4, Cs)
        values = np.asarray(Cs, dtype=float).ravel() if not isinstance(Cs, str) else None
        if values is None or values.size == 0:
            raise ValueError(f"Cs must not be empty: give a positive int or positive "
                             f"numbers, got {Cs!r}")
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"Cs must be positive and finite, got {values.tolist()}")
        if np.unique(values).size != values.size:
            raise ValueError(f"Cs must not repeat a value, got {values.tolist()}")
        return np.sort(values)

    def _shares(self):
        if self.penalty not in ("l1", "l2", "elasticnet"):
            raise ValueError(f"penalty must be 'l1', 'l2' or 'elasticnet', got {self.penalty!r}")
        if self.penalty != "elasticnet":
            if self.l1_ratios is not None:
                raise ValueError("l1_ratios applies to penalty='elasticnet' only")
            return [1.0 if self.penalty == "l1" else 0.0]
        if self.l1_ratios is None:
            raise ValueError("penalty='elasticnet' needs l1_ratios (the L1 shares to try)")
        return _l1_ratios(self.l1_ratios, "l1_ratios")

    def fit(self, X, y, sample_weight=None):
        """Cross-validate over ``Cs`` (and ``l1_ratios``), then refit. Returns self."""
        Cs, shares = self._grid(), self._shares()
        self._check_class_weight()
        design, target, weights, sum_weights, unpenalized = self._prepared(X, y, sample_weight)
        results = [self._cross_validate(design, target, weights, unpenalized, share,
                                        lambda total: 1.0 / (Cs * total), self.scoring,
                                        classifier=True,
                                        refit=self.refit and len(shares) == 1)
                   for share in shares]
        best_share = _best(results)
        chosen = results[best_share]
        self.Cs_, self.l1_ratios_ = Cs, np.asarray(shares if self.penalty == "elasticnet"
                                                  else [None], dtype=object)
        self.cv_results_ = results
        self.l1_ratio_ = np.array([shares[best_share] if self.penalty == "elasticnet"
                                   else None], dtype=object)
        self._store_paths(results)
        if self.refit:
            self.C_ = np.array([Cs[chosen.index]])
            alphas = 1.0 / (Cs[:chosen.index + 1] * sum_weights)
            self._store_coef(self._refit(chosen, design, target, weights, unpenalized,
                                         alphas))
        else:   # scikit-learn: the folds' best coefficients and Cs, averaged
            per_fold = np.argmax(chosen.scores, axis=1)
            folds = np.arange(len(per_fold))
            self.C_ = np.array([Cs[per_fold].mean()])
            self._store_coef(chosen.coefs_paths[folds, per_fold].mean(axis=0))
        return self

    def score(self, X, y, sample_weight=None):
        """scikit-learn's scorer named by ``scoring`` (as ``LogisticRegressionCV``);
        the mean accuracy when ``scoring`` is None or ``'deviance'``."""
        if self.scoring in (None, "deviance", "neg_mean_deviance"):
            return super().score(X, y, sample_weight=sample_weight)
        from sklearn.metrics import get_scorer

        extra = {} if sample_weight is None else {"sample_weight": sample_weight}
        return get_scorer(self.scoring)(self, X, y, **extra)

    def _store_paths(self, results):
        label = self.classes_[1]
        scores = np.stack([r.scores for r in results], axis=-1)
        coefs = np.stack([r.coefs_paths for r in results], axis=-2)
        if len(results) == 1:
            scores, coefs = scores[..., 0], coefs[..., 0, :]
        self.scores_, self.coefs_paths_ = {label: scores}, {label: coefs}
        self.n_iter_ = results[0].n_iter[None]
        self.n_iter_total_ = sum(int(r.n_iter.sum()) for r in results)


class LinearRegressionCV(_PathCV, LinearRegression):
    __doc__ = """Elastic-net linear regression with alpha chosen by cross-validation.

    scikit-learn's ``ElasticNetCV``: the same objective
    (``|y - Xw|^2 / (2 n) + alpha (l1_ratio |w|_1 + (1 - l1_ratio) / 2 |w|^2)``),
    the same automatic grid (``n_alphas`` values from the smallest alpha that
    zeroes every coefficient down to ``eps`` times it), the mean squared error
    on held-out rows, a refit on all rows at the best alpha.

    Parameters
    ----------
    l1_ratio : float or sequence of float, default=0.5
    eps : float, default=1e-3
    n_alphas : int, default=100
    alphas : sequence of float, optional
        Positive values to try (any order); otherwise the automatic grid.
    fit_intercept : bool, default=True
""" + _CV_DOC.format(int_splitter="KFold") + """
    Attributes
    ----------
    alpha_, l1_ratio_ : float
    alphas_ : array of shape (n_alphas,) or (n_l1_ratio, n_alphas)
        Descending.
    mse_path_ : array of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
    coef_, intercept_, n_features_in_
    n_iter_ : int
        Passes of the refit.
    cv_results_ : list of CrossValidatedPath
    path_ : RegularizationPath
    """

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, n_alphas=100, alphas=None,
                 fit_intercept=True, cv=None, tol=1e-4, max_iter=100, one_se_rule=False):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.tol = tol
        self.max_iter = max_iter
        self.one_se_rule = one_se_rule

    def fit(self, X, y, sample_weight=None):
        """Cross-validate over the alphas (and l1_ratios), then refit. Returns self."""
        losses = -self._fit_grid(X, y, sample_weight, "neg_mean_squared_error")
        self.mse_path_ = losses
        return self


class PoissonRegressionCV(_PathCV, PoissonRegression):
    __doc__ = """Penalised Poisson regression with alpha chosen by cross-validation.

    The objective of scikit-learn's ``PoissonRegressor`` (mean half deviance
    plus ``alpha / 2 |w|^2``) with an optional L1 share, over a path of
    alphas chosen as :class:`LinearRegressionCV`'s; the score is the held-out
    mean Poisson deviance, negated, unless ``scoring`` says otherwise.

    Parameters
    ----------
    l1_ratio : float or sequence of float, default=0.0
        0 is ``PoissonRegressor``'s ridge penalty; 1 the lasso.
    eps, n_alphas, alphas, fit_intercept
        As :class:`LinearRegressionCV`.
""" + _CV_DOC.format(int_splitter="KFold") + """
    scoring : str, optional
        A name in :data:`daskglm.passes.fold_scores.SCORINGS`; None: the deviance.

    Attributes
    ----------
    alpha_, l1_ratio_ : float
    alphas_ : array of shape (n_alphas,) or (n_l1_ratio, n_alphas)
    score_path_ : array of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
        Held-out scores (higher is better).
    coef_, intercept_, n_iter_, cv_results_, path_
    """

    def __init__(self, *, l1_ratio=0.0, eps=1e-3, n_alphas=100, alphas=None,
                 fit_intercept=True, cv=None, scoring=None, tol=1e-4, max_iter=100,
                 one_se_rule=False):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.scoring = scoring
        self.tol = tol
        self.max_iter = max_iter
        self.one_se_rule = one_se_rule

    def fit(self, X, y, sample_weight=None):
        """Cross-validate over the alphas (and l1_ratios), then refit. Returns self."""
        self.score_path_ = self._fit_grid(X, y, sample_weight, self.scoring)
        return self
