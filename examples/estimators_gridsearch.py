"""daskglm's scikit-learn estimators in a Pipeline, tuned by GridSearchCV.

``daskglm.estimators.LogisticRegression`` takes scikit-learn's (and
dask-ml's) parameters, so scikit-learn's model selection works unchanged::

    python examples/estimators_gridsearch.py
"""

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from daskglm.estimators import LogisticRegression


def make_data(n_rows, n_features, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features)) * rng.uniform(0.5, 20.0, n_features)
    coef = np.where(np.arange(n_features) < n_features // 2, 1.0, 0.0) / X.std(axis=0)
    y = rng.binomial(1, 1.0 / (1.0 + np.exp(-(X - X.mean(axis=0)) @ coef))).astype(float)
    return X, y


def main(n_rows=50_000, n_features=10, seed=0):
    """Search C and the penalty by 3-fold cross-validation; return the search."""
    X, y = make_data(n_rows, n_features, seed)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-8))
    grid = {"logisticregression__C": [1e-4, 1e-3, 1e-2, 1.0],
            "logisticregression__penalty": ["l1", "l2"]}
    search = GridSearchCV(pipeline, grid, cv=3).fit(X, y)
    table = pd.DataFrame(search.cv_results_)[
        ["param_logisticregression__penalty", "param_logisticregression__C",
         "mean_test_score", "rank_test_score"]]
    print(table.sort_values("rank_test_score").to_string(index=False))
    best = search.best_estimator_[-1]
    print(f"best: {search.best_params_}; coefficients {np.round(best.coef_, 3)}, "
          f"intercept {best.intercept_:.3f}, {best.n_iter_} iterations")
    return search


if __name__ == "__main__":
    main()
