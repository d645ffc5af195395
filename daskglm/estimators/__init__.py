"""scikit-learn / dask-ml estimators over daskglm's solvers.

:class:`LogisticRegression`, :class:`LinearRegression` and
:class:`PoissonRegression` take the parameters of ``dask_ml.linear_model``'s
classes of the same names and behave as scikit-learn estimators (``Pipeline``,
``GridSearchCV``, ``clone``). They are thin: ``fit`` turns its input into a
design matrix (with a column of ones for the intercept, which is never
penalized), maps ``C`` to DESIGN.md's ``alpha`` and the class labels to 0/1,
and hands everything to a solver from :data:`daskglm.solvers.SOLVERS`.

``C`` has scikit-learn's meaning. scikit-learn's ``LogisticRegression``
minimises ``C * sum_i s_i loss_i + r(b)`` with ``r(b) = l1_ratio |b|_1 +
(1 - l1_ratio) / 2 |b|_2^2``; divided by ``C * sum_i s_i`` this is DESIGN.md's
objective with

    alpha = 1 / (C * sum_i s_i)        (1 / (C * n_samples) without weights)

where ``s_i`` is the sample weight times the class weight. The same mapping
is used for the two regressors, so that

- ``LinearRegression(penalty="l2", C=C)`` is ``Ridge(alpha=1 / C)``,
- ``LinearRegression(penalty="l1" or "elasticnet", C=C)`` is
  ``Lasso`` / ``ElasticNet(alpha=a)`` with ``C = 1 / (a * n_samples)``,
- ``PoissonRegression(penalty="l2", C=C)`` is ``PoissonRegressor(alpha=a)``
  with ``C = 1 / (a * n_samples)``.

On dask input, ``fit`` reads the data a few times before the solver starts,
each a cheap pass: unknown chunk sizes (dask dataframes, boolean-indexed
arrays), the class labels (logistic) and the sum of the sample weights (when
given). Prediction methods return dask arrays for dask input, lazily (for a
dask dataframe, with unknown chunk sizes, as dask-ml's); scores are computed.

Where these differ from dask-ml's: the default solver is ``'auto'``
(dask-ml: ``'admm'``); ``predict_proba`` returns both classes' probabilities,
shape (n_samples, 2); ``sample_weight``, ``class_weight``, ``warm_start`` and
``verbose`` work; parameters that cannot apply are refused rather than
ignored (``dual=True``, ``multi_class='multinomial'``, ``class_weight`` for
the regressors); ``intercept_scaling`` and ``n_jobs`` are accepted and have
no effect (see their entries).

The package: :mod:`.base` holds what the estimators share (parameters,
fitting, the link to the solvers and to the prediction path), :mod:`.data`
the checks and conversions of their input, and one module per family of
estimator (:mod:`.logistic`, :mod:`.linear`, :mod:`.poisson`, and
:mod:`.tweedie` for :class:`GammaRegression` and :class:`TweedieRegression`,
which take scikit-learn's ``GammaRegressor``/``TweedieRegressor`` parameters,
``alpha`` among them, rather than dask-ml's ``C``).
"""

from .cross_validated import LinearRegressionCV, LogisticRegressionCV, PoissonRegressionCV
from .linear import LinearRegression
from .logistic import LogisticRegression
from .poisson import PoissonRegression
from .tweedie import GammaRegression, TweedieRegression

__all__ = ["LogisticRegression", "LinearRegression", "PoissonRegression", "GammaRegression",
           "TweedieRegression", "LogisticRegressionCV", "LinearRegressionCV",
           "PoissonRegressionCV"]
