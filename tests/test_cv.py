"""Cross-validated paths and the CV estimators: scikit-learn's choices on the same
folds and grid, folds of partitions on dask, shared passes, the one-SE rule, bad input."""

import warnings

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from sklearn import linear_model
from sklearn.base import clone
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import KFold, StratifiedKFold

import daskglm
from daskglm.estimators import LinearRegressionCV, LogisticRegressionCV, PoissonRegressionCV
from daskglm.math.families import get_family
from daskglm.solvers.cv import cross_validate_path

from dask_counting import CountComputes


def _data(n=300, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    eta = X[:, 0] - 0.5 * X[:, 1] + 0.25 * X[:, 2]
    return rng, X, eta


def _binary(n=300, seed=0):
    rng, X, eta = _data(n, seed=seed)
    return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)


def test_logistic_cv_chooses_scikit_learns_C():
    X, y = _binary()
    ours = LogisticRegressionCV(Cs=12, scoring="neg_log_loss", tol=1e-9).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # scikit-learn's deprecation notices
        theirs = linear_model.LogisticRegressionCV(Cs=12, scoring="neg_log_loss", tol=1e-10,
                                                   max_iter=10_000, l1_ratios=(0.0,)).fit(X, y)
    np.testing.assert_array_equal(ours.C_, theirs.C_)
    np.testing.assert_allclose(ours.Cs_, theirs.Cs_)
    np.testing.assert_allclose(ours.scores_[1], np.squeeze(theirs.scores_[1]), atol=1e-6)
    np.testing.assert_allclose(ours.coef_, theirs.coef_.ravel(), atol=1e-6)
    assert ours.intercept_ == pytest.approx(theirs.intercept_[0], abs=1e-6)
    assert ours.coefs_paths_[1].shape == (5, 12, X.shape[1] + 1)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y))


def test_logistic_cv_l1_meets_scikit_learns_fold_fits():
    """An L1 grid on explicit folds: each fold's path equals scikit-learn's
    penalised fit on that fold's training rows."""
    X, y = _binary(n=200, seed=1)
    folds = list(StratifiedKFold(3).split(X, y))
    Cs = np.array([0.05, 0.2, 1.0])
    ours = LogisticRegressionCV(Cs=Cs, cv=folds, penalty="l1", tol=1e-10).fit(X, y)
    train = folds[1][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = linear_model.LogisticRegression(C=Cs[1], l1_ratio=1.0, penalty="l1",
                                              solver="saga", tol=1e-12, max_iter=50_000)
        fit.fit(X[train], y[train])
    expected = np.r_[fit.coef_.ravel(), fit.intercept_]
    np.testing.assert_allclose(ours.coefs_paths_[1][1, 1], expected, atol=1e-4)


def test_linear_cv_chooses_elastic_net_cvs_alpha():
    rng, X, eta = _data(seed=2)
    y = eta + rng.normal(size=len(eta))
    ours = LinearRegressionCV(l1_ratio=0.5, n_alphas=30, cv=5, tol=1e-10).fit(X, y)
    theirs = linear_model.ElasticNetCV(l1_ratio=0.5, alphas=30, cv=5, tol=1e-12,
                                       max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.alphas_, theirs.alphas_, rtol=1e-10)
    assert ours.alpha_ == theirs.alpha_
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-6)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)


def test_linear_cv_several_l1_ratios():
    rng, X, eta = _data(seed=3)
    y = eta + rng.normal(size=len(eta))
    ours = LinearRegressionCV(l1_ratio=[0.2, 1.0], n_alphas=15, tol=1e-10).fit(X, y)
    theirs = linear_model.ElasticNetCV(l1_ratio=[0.2, 1.0], alphas=15, tol=1e-12,
                                       max_iter=100_000).fit(X, y)
    assert ours.alpha_ == pytest.approx(theirs.alpha_, rel=1e-12)
    assert ours.l1_ratio_ == theirs.l1_ratio_
    assert ours.mse_path_.shape == theirs.mse_path_.shape == (2, 15, 5)


def test_poisson_cv_scores_are_held_out_deviances():
    rng, X, eta = _data(seed=4)
    y = rng.poisson(np.exp(0.5 * eta))
    alphas = [0.5, 0.05, 0.005]
    ours = PoissonRegressionCV(alphas=alphas, cv=3, tol=1e-10).fit(X, y)
    for f, (train, test) in enumerate(KFold(3).split(X)):
        for a, alpha in enumerate(alphas):
            fit = linear_model.PoissonRegressor(alpha=alpha, tol=1e-12, max_iter=1000)
            fit.fit(X[train], y[train])
            expected = -mean_poisson_deviance(y[test], fit.predict(X[test]))
            assert ours.score_path_[a, f] == pytest.approx(expected, rel=1e-6)
    assert ours.alpha_ == alphas[int(np.argmax(ours.score_path_.mean(axis=1)))]


def test_dask_folds_are_partition_groups_in_shared_passes():
    X, y = _binary(n=400, seed=5)
    Xd, yd = da.from_array(X, chunks=(50, -1)), da.from_array(y, chunks=50)
    design = da.concatenate([Xd, da.ones((400, 1), chunks=(50, 1))], axis=1)
    with CountComputes() as counter:
        result = cross_validate_path(design, yd.astype(float), "binomial", cv=4, n_alphas=20,
                                     unpenalized=[5], persist=False)
    # the 8 partitions in 4 groups of 2: the same folds as index arrays on numpy
    groups = [np.arange(100 * f, 100 * (f + 1)) for f in range(4)]
    folds = [(np.setdiff1d(np.arange(400), g), g) for g in groups]
    expected = cross_validate_path(np.column_stack([X, np.ones(400)]), y.astype(float),
                                   "binomial", cv=folds, n_alphas=20, unpenalized=[5])
    np.testing.assert_allclose(result.scores, expected.scores, rtol=1e-9)
    assert result.index == expected.index
    fold_passes = result.n_iter.sum(axis=1)
    # each round of passes serves all four folds: far fewer graphs than fold passes
    assert counter.count < fold_passes.sum() / 2
    assert counter.count <= result.n_passes + result.refit.info["walk_passes"] + 3


def test_a_splitter_on_dask_data():
    X, y = _binary(n=200, seed=6)
    splitter = KFold(4, shuffle=True, random_state=0)
    ours = LogisticRegressionCV(Cs=5, cv=splitter, tol=1e-8)
    on_dask = clone(ours).fit(da.from_array(X, chunks=(50, -1)), da.from_array(y, chunks=50))
    in_memory = ours.fit(X, y)
    np.testing.assert_allclose(on_dask.scores_[1], in_memory.scores_[1], rtol=1e-9)
    assert on_dask.C_ == in_memory.C_


def test_one_se_rule_picks_the_largest_alpha_within_one_error():
    rng, X, eta = _data(n=200, p=12, seed=7)
    y = eta + 2 * rng.normal(size=len(eta))
    best = LinearRegressionCV(l1_ratio=1.0, n_alphas=25, tol=1e-9).fit(X, y)
    sparse = LinearRegressionCV(l1_ratio=1.0, n_alphas=25, tol=1e-9, one_se_rule=True).fit(X, y)
    mse = best.mse_path_.mean(axis=1)
    k = int(np.argmin(mse))
    error = best.mse_path_[k].std(ddof=1) / np.sqrt(best.mse_path_.shape[1])
    expected = best.alphas_[np.flatnonzero(mse <= mse[k] + error)[0]]
    assert sparse.alpha_ == expected and sparse.alpha_ >= best.alpha_
    assert np.count_nonzero(sparse.coef_) <= np.count_nonzero(best.coef_)


@pytest.mark.parametrize("estimator, message", [
    (LogisticRegressionCV(Cs=[]), "Cs must not be empty"),
    (LogisticRegressionCV(Cs=[1.0, -1.0]), "Cs must be positive"),
    (LogisticRegressionCV(Cs=0), "Cs must be a positive int"),
    (LogisticRegressionCV(penalty="elasticnet", l1_ratios=[0.5, 2.0]),
     r"l1_ratios must be a number in \[0, 1\]"),
    (LogisticRegressionCV(scoring="roc_auc"), "scoring must be None or one of"),
    (LinearRegressionCV(l1_ratio=-0.1), r"l1_ratio must be a number in \[0, 1\]"),
    (LinearRegressionCV(alphas=[0.1, 0.0]), "alphas must all be positive"),
    (LinearRegressionCV(cv=1), "cv must be at least 2 folds"),
])
def test_bad_input_names_the_argument(estimator, message):
    X, y = _binary(n=60)
    with pytest.raises(ValueError, match=message):
        estimator.fit(X, y)


def test_a_fold_without_a_class_is_refused():
    X, y = _binary(n=60)
    order = np.argsort(y)           # a fold whose training rows are all of class 0
    negatives = order[:np.count_nonzero(y == 0)]
    folds = [(negatives, order[len(negatives):])]
    with pytest.raises(ValueError, match="fold 0's training rows hold no row of class 1"):
        LogisticRegressionCV(cv=folds).fit(X, y)


def _frame_model(n=400, seed=8, npartitions=4):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    frame["y"] = rng.poisson(np.exp(0.3 + 0.5 * frame.a - 0.3 * frame.b)).astype(float)
    data = dd.from_pandas(frame, npartitions=npartitions)
    return frame, daskglm.glm("y ~ a + b + c + d", data, family=daskglm.Poisson())


def test_glm_fit_cv_returns_results_at_the_chosen_alpha():
    frame, model = _frame_model()
    results = model.fit_cv("l1", n_alphas=20, cv=4)
    X = np.column_stack([np.ones(len(frame)), frame[["a", "b", "c", "d"]]])
    # four partitions of 100 rows, four folds: fold f holds out partition f
    folds = [(np.setdiff1d(np.arange(400), np.arange(100 * f, 100 * f + 100)),
              np.arange(100 * f, 100 * f + 100)) for f in range(4)]
    expected = cross_validate_path(X, frame.y.to_numpy(), "poisson", cv=folds, n_alphas=20,
                                   unpenalized=[0])
    assert results.cv_result.index == expected.index
    np.testing.assert_allclose(results.params.to_numpy(), expected.refit.coefs[-1], atol=1e-9)
    assert list(results.params.index) == ["Intercept", "a", "b", "c", "d"]
    assert results.converged and np.all(np.isnan(results.bse))
    assert results.regularizer.alpha == expected.alphas[0][expected.index]


def test_relaxed_lasso_is_statsmodels_on_the_support():
    frame, model = _frame_model(seed=9)
    relaxed = model.fit_cv("l1", n_alphas=20, cv=4, one_se=True, relaxed=True)
    chosen = relaxed.cv_result
    coef = chosen.refit.coefs[-1]
    support = [name for name, c in zip(["Intercept", "a", "b", "c", "d"], coef) if c != 0]
    assert list(relaxed.params.index) == support
    formula = "y ~ " + " + ".join(s for s in support if s != "Intercept")
    reference = smf.glm(formula, frame, family=sm.families.Poisson()).fit()
    np.testing.assert_allclose(relaxed.params.to_numpy(), reference.params.to_numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(relaxed.bse.to_numpy(), reference.bse.to_numpy(), rtol=1e-5)


def test_grid_search_on_a_dask_joblib_backend(distributed_client):
    """scikit-learn's searches run daskglm's estimators on a cluster through
    joblib's dask backend, with the same answer as in process."""
    import joblib
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from daskglm.estimators import LogisticRegression

    X, y = _binary(n=240, seed=10)
    grid = {"C": [0.01, 1.0]}
    local = GridSearchCV(LogisticRegression(tol=1e-8), grid, cv=2).fit(X, y)
    with joblib.parallel_config(backend="dask"):
        remote = GridSearchCV(LogisticRegression(tol=1e-8), grid, cv=2).fit(X, y)
        randomized = RandomizedSearchCV(LogisticRegression(tol=1e-8), grid, n_iter=1,
                                        cv=2, random_state=0).fit(X, y)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])
    assert randomized.best_params_["C"] in grid["C"]


def test_dask_ml_grid_search_and_pipeline():
    dask_ml = pytest.importorskip("dask_ml", reason="dask-ml is an optional extra")
    from dask_ml.model_selection import GridSearchCV
    from dask_ml.preprocessing import StandardScaler
    from sklearn.pipeline import make_pipeline

    from daskglm.estimators import LogisticRegression

    X, y = _binary(n=240, seed=11)
    Xd, yd = da.from_array(X, chunks=(60, -1)), da.from_array(y, chunks=60)
    search = GridSearchCV(LogisticRegression(tol=1e-8), {"C": [0.01, 1.0]}, cv=3).fit(Xd, yd)
    assert search.best_params_["C"] in (0.01, 1.0)
    pipeline = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=4, tol=1e-8))
    pipeline.fit(Xd, yd)
    assert dask_ml and pipeline.score(Xd, yd) > 0.5


@pytest.mark.parametrize("family, scoring", [
    ("binomial", "accuracy"), ("binomial", "neg_log_loss"), ("binomial", "neg_brier_score"),
    ("gaussian", "r2"), ("gaussian", "neg_mean_absolute_error"),
    ("gaussian", "neg_root_mean_squared_error"), ("poisson", "neg_mean_poisson_deviance"),
])
def test_scores_reduced_on_workers_equal_scikit_learns_metrics(family, scoring):
    from sklearn.metrics import get_scorer

    rng, X, eta = _data(n=240, seed=12)
    y = {"binomial": (rng.random(240) < 1 / (1 + np.exp(-eta))).astype(float),
         "gaussian": eta + rng.normal(size=240),
         "poisson": rng.poisson(np.exp(0.5 * eta)).astype(float)}[family]
    design = np.column_stack([X, np.ones(240)])
    folds = list(KFold(3).split(X))
    result = cross_validate_path(da.from_array(design, chunks=(40, -1)),
                                 da.from_array(y, chunks=40), family, cv=folds, n_alphas=4,
                                 unpenalized=[5], scoring=scoring, refit=False)
    metric = get_scorer(scoring)
    for f, (_, test) in enumerate(folds):
        for a, coef in enumerate(result.coefs_paths[f]):
            eta_test = design[test] @ coef
            mean = get_family(family).mean(eta_test)
            if family == "binomial" and scoring != "accuracy":
                expected = metric._sign * metric._score_func(
                    y[test], np.column_stack([1 - mean, mean])[:, 1]
                    if scoring == "neg_brier_score" else np.column_stack([1 - mean, mean]))
            else:
                prediction = (mean > 0.5).astype(float) if scoring == "accuracy" else mean
                expected = metric._sign * metric._score_func(y[test], prediction)
            assert result.scores[f, a] == pytest.approx(expected, rel=1e-9, abs=1e-12)
