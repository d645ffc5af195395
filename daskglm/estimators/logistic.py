"""Binary logistic regression, dask-ml's ``LogisticRegression``."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import check_classification_targets

from ..math.families import Logistic
from .base import PARAMETERS_DOC, GLMEstimator
from .data import check_weight_total, is_dask

__all__ = ["LogisticRegression"]


class LogisticRegression(ClassifierMixin, GLMEstimator):
    __doc__ = """Binary logistic regression on numpy or dask data.

    A drop-in replacement for ``dask_ml.linear_model.LogisticRegression``
    whose coefficients equal scikit-learn's ``LogisticRegression`` for the
    same ``C`` and penalty. Labels need not be 0/1: ``classes_[1]`` is the
    positive class. More than two classes are refused (wrap the estimator in
    ``sklearn.multiclass.OneVsRestClassifier``).
""" + PARAMETERS_DOC.replace(
        "{class_weight_doc}",
        "Weights per class, multiplied into ``sample_weight``; 'balanced'\n"
        "        uses ``sum(sample_weight) / (2 * weighted count of the class)``,\n"
        "        as scikit-learn.",
    ) + """    classes_ : array of shape (2,)
        The class labels; ``classes_[1]`` is modelled.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = LogisticRegression(C=0.5, tol=1e-8).fit(scale(X), y)
    >>> model.predict_proba(scale(X)[:2]).shape
    (2, 2)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _family(self):
        return Logistic()

    def _check_class_weight(self):
        cw = self.class_weight
        if cw is not None and cw != "balanced" and not isinstance(cw, dict):
            raise ValueError(f"class_weight must be a dict, 'balanced' or None, got {cw!r}")

    def _set_classes(self, classes):
        if len(classes) > 2:
            raise ValueError(
                f"Only binary classification is supported: y has {len(classes)} classes "
                f"{classes[:10].tolist()}. Wrap LogisticRegression in "
                "sklearn.multiclass.OneVsRestClassifier for more."
            )
        if len(classes) < 2:
            raise ValueError(f"LogisticRegression needs samples of two classes; y has only "
                             f"one class: {classes.tolist()}")
        self.classes_ = classes

    def _memory_target(self, y):
        check_classification_targets(y)
        self._set_classes(np.unique(y))
        return (y == self.classes_[1]).astype(np.float64)

    def _dask_target(self, y):
        classes = np.asarray(da.unique(y).compute())
        if classes.dtype.kind == "f" and np.any(np.isnan(classes)):
            raise ValueError("y contains NaN")
        self._set_classes(classes)
        return (y == classes[1]).astype(np.float64)

    def _target_weights(self, target, weights):
        if weights is None and self.class_weight is None:
            return None, float(target.shape[0])
        ones = weights if weights is not None else 1.0
        counts = [(ones * (1.0 - target)).sum(), (ones * target).sum()]
        if isinstance(target, da.Array):
            counts = dask.compute(*counts)
        counts = np.asarray(counts, dtype=float)
        check_weight_total(counts.sum())
        if np.any(counts <= 0):
            raise ValueError(f"both classes need a positive total sample_weight; the "
                             f"weights of classes {self.classes_.tolist()} sum to "
                             f"{counts.tolist()}")
        class_weight = self._class_weights(counts)
        where = da.where if isinstance(target, da.Array) else np.where
        row_class_weight = where(target == 1.0, class_weight[1], class_weight[0])
        weights = row_class_weight if weights is None else weights * row_class_weight
        return weights, float(class_weight @ counts)

    def _class_weights(self, counts):
        """Weight of each class from the (sample-weighted) class counts."""
        if self.class_weight is None:
            return np.ones(2)
        if self.class_weight == "balanced":
            return counts.sum() / (2.0 * counts)
        unknown = set(self.class_weight) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"class_weight names classes {sorted(map(str, unknown))} "
                             f"that are not in y's classes {list(self.classes_)}")
        return np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_.tolist()])

    def decision_function(self, X):
        """The linear predictor ``X @ coef_ + intercept_`` (log-odds of ``classes_[1]``).

        Returns a numpy array for in-memory ``X``, a dask array for dask ``X``.
        """
        return self._linear_predictor(X)

    def _predict_from_eta(self, eta):
        return _map_rows(eta, _labels_block, self.classes_, dtype=self.classes_.dtype)

    def predict(self, X):
        """The more probable class label of each row."""
        return self._predict_from_eta(self._linear_predictor(X))

    def predict_proba(self, X):
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, shape (n_samples, 2)."""
        return _map_rows(self._mean(X), _both_classes, n_columns=2)

    def predict_log_proba(self, X):
        """Log-probabilities of the two classes, shape (n_samples, 2), computed stably."""
        link = self._family().link
        return _map_rows(self._linear_predictor(X), _log_proba_block, link, n_columns=2)

    def score(self, X, y, sample_weight=None):
        """Mean (weighted) accuracy, as scikit-learn's ``accuracy_score``."""
        if not is_dask(X):
            return accuracy_score(y, self.predict(X), sample_weight=sample_weight)
        prediction, y, weights = self._score_data(X, y, sample_weight)
        correct, total = dask.compute((weights * (prediction == y)).sum(), weights.sum())
        return float(correct / total)


# -- per-block helpers (module level, so they pickle) -----------------------------
def _map_rows(eta, func, *args, n_columns=None, dtype=np.float64):
    """``func(eta, *args)`` on numpy, or block by block on a dask array
    (``n_columns`` columns per row when given)."""
    if not isinstance(eta, da.Array):
        return func(eta, *args)
    if n_columns is None:
        return eta.map_blocks(func, *args, dtype=dtype)
    return eta.map_blocks(func, *args, new_axis=1, chunks=(eta.chunks[0], (n_columns,)),
                          dtype=dtype)


def _labels_block(eta, classes):
    return classes[(eta > 0).astype(np.intp)]


def _both_classes(probability):
    return np.column_stack([1.0 - probability, probability])


def _log_proba_block(eta, link):
    return np.column_stack([link.log1m_inverse(eta), link.log_inverse(eta)])
