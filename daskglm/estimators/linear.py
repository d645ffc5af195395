"""Linear regression (Normal family), dask-ml's ``LinearRegression``."""

from __future__ import annotations

import dask
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from ..math.families import Normal
from .base import PARAMETERS_DOC, REGRESSOR_CLASS_WEIGHT, GLMEstimator
from .data import is_dask

__all__ = ["LinearRegression"]


class LinearRegression(RegressorMixin, GLMEstimator):
    __doc__ = """Linear regression (Normal family) on numpy or dask data.

    A drop-in replacement for ``dask_ml.linear_model.LinearRegression``. As
    dask-ml's, it is penalized by default (``penalty='l2', C=1.0``, that is
    scikit-learn's ``Ridge(alpha=1.0)``); ``penalty=None`` gives ordinary
    least squares. ``penalty='l1'``/``'elasticnet'`` with ``C = 1 / (a *
    n_samples)`` give scikit-learn's ``Lasso``/``ElasticNet(alpha=a)``.
""" + PARAMETERS_DOC.replace("{class_weight_doc}", REGRESSOR_CLASS_WEIGHT) + """
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = LinearRegression(penalty=None, tol=1e-8).fit(X, y)
    >>> round(model.score(X, y), 3)
    0.518
    """

    def _family(self):
        return Normal()

    def _predict_from_eta(self, eta):
        return eta

    def predict(self, X):
        """``X @ coef_ + intercept_``: numpy for in-memory X, dask for dask X."""
        return self._linear_predictor(X)

    def score(self, X, y, sample_weight=None):
        """R² (weighted), as scikit-learn's ``r2_score``."""
        if not is_dask(X):
            return r2_score(y, self.predict(X), sample_weight=sample_weight)
        prediction, y, weights = self._score_data(X, y, sample_weight)
        y_mean = (weights * y).sum() / weights.sum()
        residual, total = dask.compute((weights * (y - prediction) ** 2).sum(),
                                       (weights * (y - y_mean) ** 2).sum())
        if total == 0:
            return 1.0 if residual == 0 else 0.0
        return float(1.0 - residual / total)
