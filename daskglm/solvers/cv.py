"""Cross-validated regularization paths: every fold's path in the same passes.

A fold's training (and test) rows are whole partitions of the data where
the folds are groups of partitions, else the data with zero weight on the
other rows: either way the folds share the chunks and no row moves between
workers. The folds' path
walks (:class:`daskglm.solvers.path.PathWalk`) advance in lockstep, and in
each round their passes are one dask graph: one sweep of the data serves
every fold. The held-out scores are one more pass
(:func:`daskglm.passes.fold_scores.fold_scores`), and the refit at the
chosen alpha continues the whole-data walk that found the grid.

Folds follow scikit-learn's ``cv=``: an int (for in-memory data
scikit-learn's own ``KFold``, or ``StratifiedKFold`` for a classifier; for
dask data groups of whole partitions, or contiguous row blocks when there
are fewer partitions than folds), a splitter with ``split``, or an iterable
of ``(train, test)`` index arrays.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import dask
import dask.array as da
import numpy as np

from ..math.families import Binomial, get_family
from ..math.penalties import penalized_mask
from ..passes.coded import CodedMatrix
from ..passes.fold_scores import check_scoring, fold_scores, scoring_folds
from ..passes.objective import Objective
from ._base import check_iterations
from .path import (
    PathWalk,
    check_alphas,
    check_grid_options,
    check_l1_ratio,
    run_steps,
    run_walks,
    warn_unconverged,
)

__all__ = ["cross_validate_path", "CrossValidatedPath", "make_folds"]


@dataclass
class CrossValidatedPath:
    """Every fold's path, its held-out scores, and the chosen alpha.

    Attributes
    ----------
    alphas : array of shape (n_folds, n_alphas)
        Each fold's alphas (the same row for a shared grid).
    scores : array of shape (n_folds, n_alphas)
        Held-out score of each fold at each alpha; higher is better.
    coefs_paths : array of shape (n_folds, n_alphas, n_features)
    n_iter, converged : arrays of shape (n_folds, n_alphas)
    best_index : int
        The alpha with the best mean score (the first of equals).
    one_se_index : int
        The largest alpha whose mean score is within one standard error
        (over folds) of the best (the one-standard-error rule).
    index : int
        The chosen one (``one_se_index`` with ``one_se=True``).
    n_passes : int
        Passes over the data, each serving every fold (the scores' pass and
        the whole-data start included; the refit's not).
    refit : RegularizationPath or None
        The whole data's path down to the chosen alpha (its last row is
        the refit); None without ``refit``.
    """

    alphas: np.ndarray
    scores: np.ndarray
    coefs_paths: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    best_index: int
    one_se_index: int
    index: int
    n_passes: int
    scoring: str
    l1_ratio: float
    refit: object = None
    info: dict = field(default_factory=dict)

    @property
    def mean_scores(self) -> np.ndarray:
        return self.scores.mean(axis=0)

    @property
    def score_std_errors(self) -> np.ndarray:
        n_folds = self.scores.shape[0]
        return self.scores.std(axis=0, ddof=1) / np.sqrt(n_folds) if n_folds > 1 else \
            np.zeros(self.scores.shape[1])


def cross_validate_path(X, y, family, *, cv=5, l1_ratio=1.0, alphas=None, n_alphas=100,
                        alpha_min_ratio=None, unpenalized=None, sample_weight=None,
                        offset=None, scoring=None, tol=1e-8, max_iter=100, persist="auto",
                        classifier=False, one_se=False, refit=True) -> CrossValidatedPath:
    """Cross-validate a regularization path and refit at the chosen alpha.

    Parameters
    ----------
    X, y, family, l1_ratio, n_alphas, alpha_min_ratio, unpenalized, sample_weight, offset,
    tol, max_iter, persist
        As for :func:`daskglm.solvers.path`.
    cv : int, splitter or iterable of (train, test)
        The folds (module docstring).
    alphas : array or callable, optional
        A shared descending grid; a callable ``alphas(sum_weights)`` gives
        each fit its own (scikit-learn's ``C`` grid); None: the automatic
        grid of the whole data, shared by the folds (as ``ElasticNetCV``).
    scoring : str, optional
        A name in :data:`daskglm.passes.fold_scores.SCORINGS`; None: the
        family's mean deviance, negated.
    classifier : bool
        A binary response: an int ``cv`` stratifies in-memory data, and every
        training fold must hold both classes.
    one_se : bool
        Choose by the one-standard-error rule instead of the best mean score.
    refit : bool
        Continue the whole data's path down to the chosen alpha.

    Returns
    -------
    CrossValidatedPath
    """
    l1_ratio = check_l1_ratio(l1_ratio)
    if alphas is not None and not callable(alphas):
        alphas = check_alphas(alphas)
    check_grid_options(n_alphas, alpha_min_ratio)
    check_iterations(max_iter, tol)

    if isinstance(X, CodedMatrix):
        raise ValueError("cross-validation needs dense columns; a design with coded "
                         "categorical terms is not supported by the path yet")
    family = get_family(family)
    rule = check_scoring(scoring, binary=classifier or isinstance(family, Binomial))
    whole = Objective(X, y, family, offset=offset, weights=sample_weight, persist=persist)
    data = whole.data
    penalized = penalized_mask(unpenalized, whole.n_features)
    options = dict(tol=tol, max_iter=max_iter, n_alphas=n_alphas,
                   alpha_min_ratio=alpha_min_ratio)
    full_walk = PathWalk(whole, penalized, l1_ratio, alphas=alphas, **options)
    if alphas is None or refit:           # alpha_max for the grid; the refit's start
        run_steps([full_walk.start()])
    grid = full_walk.grid() if alphas is None else alphas
    folds = make_folds(cv, data, classifier=classifier)
    if classifier:
        _check_classes(folds)
    walks = [PathWalk(_fold_objective(family, train), penalized, l1_ratio, alphas=grid,
                      **options) for train, _ in folds]
    paths = run_walks(walks)
    coefs = np.array([fitted.coefs for fitted in paths])
    scores = fold_scores(scoring_folds([test for _, test in folds]), family, coefs, rule)
    n_passes = whole.n_passes + max(fitted.n_passes for fitted in paths) + 1
    result = _choose(paths, coefs, scores, one_se, n_passes, scoring or "deviance", l1_ratio)
    for fitted in paths:
        warn_unconverged(fitted)
    if refit:
        full_walk.alphas = _refit_alphas(grid, result.index)
        (result.refit,) = run_steps([full_walk.walk()])
        warn_unconverged(result.refit)
    return result


def _choose(paths, coefs, scores, one_se, n_passes, scoring, l1_ratio):
    mean = scores.mean(axis=0)
    best = int(np.argmax(np.where(np.isfinite(mean), mean, -np.inf)))
    n_folds = scores.shape[0]
    error = scores[:, best].std(ddof=1) / np.sqrt(n_folds) if n_folds > 1 else 0.0
    one_se_index = int(np.flatnonzero(mean >= mean[best] - error)[0])
    return CrossValidatedPath(
        alphas=np.array([fitted.alphas for fitted in paths]), scores=scores,
        coefs_paths=coefs, n_iter=np.array([fitted.n_iter for fitted in paths]),
        converged=np.array([fitted.converged for fitted in paths]), best_index=best,
        one_se_index=one_se_index, index=one_se_index if one_se else best,
        n_passes=n_passes, scoring=scoring, l1_ratio=l1_ratio)


def _refit_alphas(grid, index):
    if callable(grid):
        return lambda sum_weights: grid(sum_weights)[:index + 1]
    return np.asarray(grid)[:index + 1]


def _fold_objective(family, rows):
    X, y, offset, weights = rows
    return Objective(X, y, family, offset=offset, weights=weights, persist=False)


# -- folds ---------------------------------------------------------------------------
def make_folds(cv, data, *, classifier=False) -> list:
    """``[(train, test), ...]``: each an ``(X, y, offset, weights)`` of the
    fold's rows: whole partitions of ``data`` (folds of partitions), or all
    of ``data`` with the weights of the other rows set to zero."""
    n_rows = data.n_rows
    if cv is None:
        cv = 5
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv!r}")
        if cv > n_rows:
            raise ValueError(f"cv={cv} folds exceed the {n_rows} rows")
        if data.is_dask:
            return _partition_folds(cv, data)
        from sklearn.model_selection import check_cv

        splits = check_cv(cv, data.y, classifier=classifier).split(np.zeros((n_rows, 1)),
                                                                    data.y)
    elif hasattr(cv, "split"):
        y = np.asarray(data.y.compute() if data.is_dask else data.y)
        splits = cv.split(np.zeros((n_rows, 1)), y)
    elif isinstance(cv, str) or not hasattr(cv, "__iter__"):
        raise TypeError(f"cv must be an int, a splitter with split() or an iterable of "
                        f"(train, test) index arrays, got {cv!r}")
    else:
        splits = cv
    folds = [_index_fold(i, split, data) for i, split in enumerate(splits)]
    if not folds:
        raise ValueError(f"cv={cv!r} gave no (train, test) splits")
    return folds


def _weighted_rows(data, mask):
    """All of ``data``'s rows, the weight of those outside ``mask`` set to zero."""
    weights = mask if data.weights is None else data.weights * mask
    return data.X, data.y, data.offset, weights


def _partition_rows(data, chunks):
    """The rows of the partitions ``chunks`` (their chunks, no copy)."""
    def pick(array):
        if array is None:
            return None
        return da.concatenate([array.blocks[c] for c in chunks], axis=0)
    return pick(data.X), pick(data.y), pick(data.offset), pick(data.weights)


def _index_fold(i, split, data):
    try:
        train, test = split
    except (TypeError, ValueError):
        raise ValueError(f"cv: split {i} is not a (train, test) pair of index arrays") from None
    fold = []
    for name, index in (("train", train), ("test", test)):
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        if index.size == 0:
            raise ValueError(f"cv: fold {i} has no {name} rows")
        if index.dtype.kind not in "iu" or index.min() < 0 or index.max() >= data.n_rows:
            raise ValueError(f"cv: fold {i}'s {name} indices must be integers in "
                             f"[0, {data.n_rows})")
        mask = np.zeros(data.n_rows)
        mask[index] = 1.0
        mask = da.from_array(mask, chunks=(data.row_chunks,)) if data.is_dask else mask
        fold.append(_weighted_rows(data, mask))
    return tuple(fold)


def _partition_folds(n_folds, data):
    """Folds of whole partitions (contiguous groups of them), or of contiguous
    row blocks (scikit-learn's ``KFold`` sizes) with fewer partitions than folds."""
    chunks = data.row_chunks
    if len(chunks) >= n_folds:
        group = np.arange(len(chunks)) * n_folds // len(chunks)
        return [(_partition_rows(data, np.flatnonzero(group != f)),
                 _partition_rows(data, np.flatnonzero(group == f))) for f in range(n_folds)]
    sizes = np.full(n_folds, data.n_rows // n_folds)
    sizes[:data.n_rows % n_folds] += 1
    fold_of_row = da.from_array(np.repeat(np.arange(n_folds, dtype=np.int8), sizes),
                                chunks=(chunks,))
    return [(_weighted_rows(data, (fold_of_row != f).astype(float)),
             _weighted_rows(data, (fold_of_row == f).astype(float))) for f in range(n_folds)]


def _check_classes(folds):
    """Refuse folds whose training rows miss a class of a binary response."""
    counts = []
    for (_, y, _, weights), _ in folds:
        w = 1.0 if weights is None else weights
        counts.append(((w * y).sum(), (w * (1.0 - y)).sum()))
    counts = dask.compute(counts)[0]
    for i, (ones, zeros) in enumerate(counts):
        if ones <= 0 or zeros <= 0:
            missing = "1 (the positive class)" if ones <= 0 else "0 (the negative class)"
            raise ValueError(f"cv: fold {i}'s training rows hold no row of class {missing}; "
                             "use a stratified splitter or fewer folds")
