"""Scores of many coefficient vectors on held-out rows, reduced on the workers.

A cross-validation scores each fold's path (one coefficient vector per
alpha) on that fold's test rows. :func:`fold_scores` does it for every fold
in one pass over the chunks: each fold is the data with its test rows'
weights (zero elsewhere), each chunk returns a few sums per alpha, and only
the sums travel. A scoring rule is listed in :data:`SCORINGS` by its
scikit-learn name when it is a ratio of such sums (a mean over rows, or R²);
a score that is not (ROC AUC, say) needs every prediction in one place and
is not offered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chunked import ChunkedData, map_reduce_together

__all__ = ["SCORINGS", "fold_scores", "check_scoring", "scoring_folds"]


@dataclass(frozen=True)
class Scoring:
    """A score that is a weighted mean over rows of ``row_score(y, eta, mu)``
    (``sign`` turns a loss into a score: higher is better), or R²."""

    name: str
    sign: float
    needs_binary: bool = False


#: scikit-learn's scorer names whose value is reduced from per-chunk sums;
#: "deviance" is the family's mean deviance, negated (the default).
SCORINGS = {
    "deviance": Scoring("deviance", -1.0),
    "neg_mean_deviance": Scoring("deviance", -1.0),
    "neg_log_loss": Scoring("log_loss", -1.0, needs_binary=True),
    "accuracy": Scoring("accuracy", 1.0, needs_binary=True),
    "neg_brier_score": Scoring("brier", -1.0, needs_binary=True),
    "neg_mean_squared_error": Scoring("squared_error", -1.0),
    "neg_root_mean_squared_error": Scoring("root_squared_error", -1.0),
    "neg_mean_absolute_error": Scoring("absolute_error", -1.0),
    "neg_mean_poisson_deviance": Scoring("poisson_deviance", -1.0),
    "r2": Scoring("r2", 1.0),
}


def check_scoring(scoring, binary):
    """The :class:`Scoring` of a name (None: the family's deviance)."""
    name = "deviance" if scoring is None else scoring
    if not isinstance(name, str) or name not in SCORINGS:
        raise ValueError(f"scoring must be None or one of {sorted(SCORINGS)} (scores reduced "
                         f"on the workers), got {scoring!r}")
    rule = SCORINGS[name]
    if rule.needs_binary and not binary:
        raise ValueError(f"scoring={name!r} applies to a binary (0/1) response only")
    return rule


def fold_scores(folds, family, coefs, scoring) -> np.ndarray:
    """Score of each fold's coefficients on its test rows, in one pass.

    Parameters
    ----------
    folds : list of ChunkedData
        Each fold's test rows (:func:`scoring_folds`).
    family : Family
    coefs : array of shape (n_folds, n_alphas, n_features)
    scoring : Scoring

    Returns
    -------
    array of shape (n_folds, n_alphas)
        Higher is better.
    """
    calls = [(data, _score_chunk, (family, np.ascontiguousarray(coef_path), scoring.name))
             for data, coef_path in zip(folds, coefs)]
    sums = map_reduce_together(calls)
    return np.array([_finish(total, data, scoring, coefs.shape[1])
                     for total, data in zip(sums, folds)])


def scoring_folds(test_rows) -> list:
    """One :class:`ChunkedData` per fold from its test rows' ``(X, y, offset, weights)``."""
    return [ChunkedData(X, y, offset, weights, persist=False)
            for X, y, offset, weights in test_rows]


def _finish(total, data, scoring, n_alphas):
    sum_weights = data.stats.sum_weights
    if scoring.name == "r2":
        residual = total[:n_alphas]
        sum_y, sum_y2 = total[n_alphas], total[n_alphas + 1]
        spread = sum_y2 - sum_y ** 2 / sum_weights
        return 1.0 - residual / spread if spread > 0 else np.where(residual == 0, 1.0, 0.0)
    mean = total[:n_alphas] / sum_weights
    if scoring.name == "root_squared_error":
        mean = np.sqrt(mean)
    return scoring.sign * mean


def _score_chunk(X, y, offset, weights, family, coefs, name):
    """Per-alpha sums of the rows' scores over the rows of positive weight."""
    n_alphas = coefs.shape[0]
    rows = np.flatnonzero(weights > 0) if weights is not None else slice(None)
    X, y = X[rows], y[rows]
    w = np.ones(len(y)) if weights is None else weights[rows]
    with np.errstate(all="ignore"):
        eta = np.asarray(X @ coefs.T)
        if offset is not None:
            eta += offset[rows][:, None]
        per_row = _row_scores(name, family, y[:, None], eta)
    sums = w @ per_row if len(y) else np.zeros(n_alphas)
    if name == "r2":
        return np.concatenate([sums, [w @ y, w @ (y * y)]])
    return np.asarray(sums, dtype=float)


def _row_scores(name, family, y, eta):
    if name == "deviance":
        return family.unit_deviance(y, family.mean(eta))
    if name == "log_loss":
        return y * np.logaddexp(0.0, -eta) + (1.0 - y) * np.logaddexp(0.0, eta)
    if name == "accuracy":
        return ((family.mean(eta) > 0.5) == (y > 0.5)).astype(float)
    mu = family.mean(eta)
    if name == "brier":
        return (y - mu) ** 2
    if name in ("squared_error", "root_squared_error", "r2"):
        return (y - mu) ** 2
    if name == "absolute_error":
        return np.abs(y - mu)
    if name == "poisson_deviance":
        from ..math.families import Poisson

        return Poisson().unit_deviance(y, mu)
    raise ValueError(f"unknown scoring {name!r}")
