"""Poisson regression (log link), dask-ml's ``PoissonRegression``."""

from __future__ import annotations

import dask.array as da
import numpy as np
from sklearn.base import RegressorMixin

from ..frontend.prediction import inverse_link
from ..math.families import Poisson
from .base import PARAMETERS_DOC, REGRESSOR_CLASS_WEIGHT, GLMEstimator
from .data import dask_vector

__all__ = ["PoissonRegression"]


class PoissonRegression(RegressorMixin, GLMEstimator):
    __doc__ = """Poisson regression (log link) on numpy or dask data.

    A drop-in replacement for ``dask_ml.linear_model.PoissonRegression``.
    With ``penalty='l2'`` and ``C = 1 / (a * sum(sample_weight))`` its
    coefficients are scikit-learn's ``PoissonRegressor(alpha=a)``'s.
""" + PARAMETERS_DOC.replace("{class_weight_doc}", REGRESSOR_CLASS_WEIGHT) + """
    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = PoissonRegression(penalty=None, tol=1e-10).fit(X, [1, 2, 4, 9])
    >>> float(model.predict(X).sum().round(6))   # with an intercept, sum(mu) = sum(y)
    16.0
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags

    def _family(self):
        return Poisson()

    def _predict_from_eta(self, eta):
        return inverse_link(eta, self._family(), "mean")

    def predict(self, X):
        """Expected counts ``exp(X @ coef_ + intercept_)``."""
        return self._mean(X)

    def score(self, X, y, sample_weight=None):
        """D², the share of Poisson deviance explained, as scikit-learn's
        ``PoissonRegressor.score`` (``d2_tweedie_score`` with ``power=1``)."""
        return self._deviance_score(X, y, sample_weight, power=1)

    def get_deviance(self, X, y):
        """The total Poisson deviance of the predictions (dask-ml's method)."""
        prediction = self.predict(X)
        deviance = self._family().unit_deviance
        if isinstance(prediction, da.Array):
            y = dask_vector(y, "y", prediction.shape[0]).rechunk((prediction.chunks[0],))
            return float(da.map_blocks(deviance, y, prediction, dtype=np.float64).sum().compute())
        return float(np.sum(deviance(np.asarray(y, dtype=float), prediction)))
