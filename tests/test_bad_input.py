"""Bad input at every entry point raises a clear exception early, whose
message names the argument and the problem."""

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import daskglm
from daskglm import estimators, solvers

N, P = 60, 3


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, P))
    y = (rng.random(N) < 0.5).astype(float)
    return X, y


def with_nan(array, index=0):
    array = array.copy()
    array.flat[index] = np.nan
    return array


def frame():
    X, y = data()
    return pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y, count=np.arange(N) % 4)


def dframe():
    return dd.from_pandas(frame(), npartitions=3)


X, Y = data()
BAD_SHAPE = np.ones((N, 2, 2))

SOLVER_CASES = {
    # shapes
    "X 3-d": (lambda s: s(BAD_SHAPE, Y), ValueError, r"X must be 2-dimensional"),
    "y rows mismatch": (lambda s: s(X, Y[:-5]), ValueError, r"y has 55 rows but X has 60"),
    "weights rows mismatch": (lambda s: s(X, Y, weights=np.ones(N + 1)), ValueError,
                              r"weights has 61 rows but X has 60"),
    "offset 2-d": (lambda s: s(X, Y, offset=np.ones((N, 2))), ValueError,
                   r"offset must be 1-dimensional"),
    "empty": (lambda s: s(X[:0], Y[:0]), ValueError, r"X is empty"),
    "single row": (lambda s: s(X[:1], Y[:1]), ValueError, r"X has 1 row.*at least 2"),
    # values
    "NaN in X": (lambda s: s(with_nan(X, 7), Y), ValueError, r"X contains 1 NaN or infinite"),
    "inf in y": (lambda s: s(X, np.r_[np.inf, Y[1:]]), ValueError, r"y contains 1 NaN or inf"),
    "NaN in offset": (lambda s: s(X, Y, offset=with_nan(np.zeros(N))), ValueError,
                      r"offset contains 1 NaN"),
    "negative weights": (lambda s: s(X, Y, weights=np.r_[-1.0, np.ones(N - 1)]), ValueError,
                         r"weights contain 1 negative"),
    "weights all zero": (lambda s: s(X, Y, weights=np.zeros(N)), ValueError,
                         r"weights sum to zero"),
    "y outside binomial domain": (lambda s: s(X, 2 * Y), ValueError,
                                  r"y has \d+ value\(s\) outside the Binomial family's domain.*"
                                  r"first offending rows"),
    "y outside poisson domain": (lambda s: s(X, Y - 1, family="poisson"), ValueError,
                                 r"outside the Poisson family's domain \(y >= 0\)"),
    "string X": (lambda s: s(X.astype(str), Y), TypeError, r"X must be numeric"),
    # options
    "unknown family": (lambda s: s(X, Y, family="weibull"), ValueError,
                       r"unknown family 'weibull'"),
    "link not allowed": (lambda s: s(X, Y, family=daskglm.Poisson(link="logit")), ValueError,
                         r"link 'logit' is not allowed for the Poisson family"),
    "alpha < 0": (lambda s: s(X, Y, regularizer=daskglm.L2(-1.0)), ValueError,
                  r"alpha must be a finite number >= 0"),
    "unknown option": (lambda s: s(X, Y, not_an_option=1), TypeError,
                       r"unexpected keyword argument 'not_an_option'"),
    "max_iter 0": (lambda s: s(X, Y, max_iter=0), ValueError, r"max_iter must be a positive"),
    "tol negative": (lambda s: s(X, Y, tol=-1.0), ValueError, r"tol must be a positive"),
    "init wrong length": (lambda s: s(X, Y, init=np.zeros(P + 1)), ValueError,
                          r"init must have 3 entries"),
    "persist": (lambda s: s(da.from_array(X, chunks=20), da.from_array(Y, chunks=20),
                            persist="maybe"), ValueError, r"persist must be True, False or 'auto'"),
}


@pytest.mark.parametrize("solver_name", sorted(solvers.SOLVERS))
@pytest.mark.parametrize("case", sorted(SOLVER_CASES))
def test_solver_refuses(solver_name, case):
    call, exception, message = SOLVER_CASES[case]
    solver = solvers.get_solver(solver_name)
    with pytest.raises(exception, match=message):
        call(solver)


def test_solver_refuses_unknown_solver_and_l1_for_smooth_solver():
    with pytest.raises(ValueError, match=r"unknown solver 'nope'; known solvers: .*newton"):
        solvers.get_solver("nope")
    with pytest.raises(ValueError, match=r"l1_ratio must be in \[0, 1\], got 1.5"):
        daskglm.ElasticNet(1.0, 1.5)
    with pytest.raises(ValueError, match=r"solver 'lbfgs' cannot minimise a penalty with an L1"):
        solvers.lbfgs(X, Y, regularizer=daskglm.L1(0.1))


def test_async_admm_without_a_client_says_how_to_start_one():
    with pytest.raises(ValueError, match=r"admm\(asynchronous=True\) needs a dask.distributed "
                                         r"Client and none is running"):
        solvers.admm(X, Y, asynchronous=True)


def test_unknown_row_chunks_and_column_chunks_are_resolved():
    """Unknown row chunks are computed; several column chunks are merged."""
    mask = da.from_array(np.ones(N, dtype=bool), chunks=20)
    unknown = da.from_array(X, chunks=(20, 1))[mask]
    fit = solvers.newton(unknown, da.from_array(Y, chunks=20)[mask])
    np.testing.assert_allclose(fit.coef, solvers.newton(X, Y).coef, rtol=1e-10)


GLM_CASES = {
    "exog rows mismatch": (lambda: daskglm.GLM(Y[:40], X).fit(), ValueError,
                           r"y has 40 rows but exog has 60"),
    "NaN in exog": (lambda: daskglm.GLM(Y, with_nan(X)).fit(), ValueError,
                    r"X contains 1 NaN"),
    "exposure zero": (lambda: daskglm.GLM(Y, X, family="poisson", exposure=np.zeros(N)).fit(),
                      ValueError, r"exposure must be positive"),
    "exposure with identity link": (lambda: daskglm.GLM(Y, X, family="gaussian",
                                                        exposure=np.ones(N)),
                                    ValueError, r"exposure can only be used with the log link"),
    "duplicate columns named": (lambda: daskglm.GLM(Y, np.column_stack([X, X[:, 1]])).fit(),
                                ValueError, r"linearly dependent: \{'x2', 'x4'\}"),
    "constant beside intercept": (
        lambda: daskglm.GLM(Y, np.column_stack([np.ones(N), X, np.full(N, 2.0)])).fit(),
        ValueError, r"linearly dependent: \{'const', 'x4'\}"),
    "more columns than rows": (lambda: daskglm.GLM(Y[:3], X[:3] @ np.ones((P, 5))).fit(),
                               ValueError, r"rank deficient"),
    "y outside domain": (lambda: daskglm.GLM(2 * Y, X, family="binomial").fit(), ValueError,
                         r"outside the Binomial family's domain"),
    "unknown method": (lambda: daskglm.GLM(Y, X).fit(method="nope"), ValueError,
                       r"unknown solver 'nope'"),
    "unknown option": (lambda: daskglm.GLM(Y, X).fit(not_an_option=1), TypeError,
                       r"unexpected keyword argument 'not_an_option'"),
    "unknown cov_type": (lambda: daskglm.GLM(Y, X).fit(cov_type="HC9"), ValueError,
                         r"cov_type must be one of"),
    "alpha < 0": (lambda: daskglm.GLM(Y, X).fit_regularized("l2", alpha=-1.0), ValueError,
                  r"alpha must be a finite number >= 0"),
    "l1_ratio > 1": (lambda: daskglm.GLM(Y, X).fit_regularized("elasticnet", alpha=1.0,
                                                                l1_ratio=2.0),
                     ValueError, r"l1_ratio must be in \[0, 1\]"),
}

FORMULA_CASES = {
    "unknown column": (lambda: daskglm.glm("y ~ zz", dframe()), ValueError,
                       r"refers to 'zz'.*neither a column"),
    "unknown family": (lambda: daskglm.glm("y ~ a", dframe(), family="weibull"), ValueError,
                       r"unknown family 'weibull'"),
    "link not allowed": (lambda: daskglm.glm("y ~ a", dframe(),
                                             family=daskglm.Poisson(link="logit")),
                         ValueError, r"link 'logit' is not allowed for the Poisson family"),
    "not a dataframe": (lambda: daskglm.glm("y ~ a", X), TypeError,
                        r"data must be a dask or pandas DataFrame"),
    "empty data": (lambda: daskglm.glm("y ~ a", frame().iloc[:0]).fit(), ValueError,
                   r"X is empty"),
    "single row": (lambda: daskglm.glm("y ~ a", frame().iloc[:1]).fit(), ValueError,
                   r"rank deficient"),
    "constant beside intercept": (lambda: daskglm.glm("y ~ a + k", dframe().assign(k=1.0)).fit(),
                                  ValueError, r"linearly dependent: \{'Intercept', 'k'\}"),
    "duplicate column": (lambda: daskglm.glm("y ~ a + a2", dframe().assign(a2=dframe().a)).fit(),
                         ValueError, r"linearly dependent: \{'a', 'a2'\}"),
    "missing raise": (lambda: daskglm.glm("y ~ a", dframe().assign(a=np.nan),
                                          missing="raise").fit(),
                      ValueError, r"missing values in 'a'"),
    "exposure column not positive": (
        lambda: daskglm.glm("count ~ a", dframe().assign(e=-1.0), family="poisson",
                            exposure="e").fit(),
        ValueError, r"exposure must be positive; 60 row\(s\) have exposure <= 0"),
    "y outside poisson domain": (lambda: daskglm.glm("a ~ b", dframe(), family="poisson").fit(),
                                 ValueError, r"outside the Poisson family's domain"),
    "unknown option": (lambda: daskglm.glm("y ~ a", dframe()).fit(not_an_option=1), TypeError,
                       r"unexpected keyword argument 'not_an_option'"),
}


@pytest.mark.parametrize("case", sorted(GLM_CASES))
def test_GLM_refuses(case):
    call, exception, message = GLM_CASES[case]
    with pytest.raises(exception, match=message):
        call()


@pytest.mark.parametrize("case", sorted(FORMULA_CASES))
def test_glm_formula_refuses(case):
    call, exception, message = FORMULA_CASES[case]
    with pytest.raises(exception, match=message):
        call()


ESTIMATOR_CASES = {
    "C < 0": (lambda: estimators.LogisticRegression(C=-1.0).fit(X, Y), ValueError,
              r"C must be a positive number"),
    "l1_ratio > 1": (lambda: estimators.LogisticRegression(penalty="elasticnet",
                                                           l1_ratio=3.0).fit(X, Y),
                     ValueError, r"l1_ratio must be in \[0, 1\]"),
    "unknown solver": (lambda: estimators.LogisticRegression(solver="nope").fit(X, Y),
                       ValueError, r"unknown solver 'nope'"),
    "unknown penalty": (lambda: estimators.LinearRegression(penalty="l3").fit(X, Y), ValueError,
                        r"penalty must be one of"),
    "unknown solver option": (lambda: estimators.LinearRegression(
        solver_kwargs={"not_an_option": 1}).fit(X, Y), TypeError,
        r"unexpected keyword argument 'not_an_option'"),
    "NaN in X": (lambda: estimators.LinearRegression().fit(with_nan(X), Y), ValueError,
                 r"X contains NaN"),
    "empty": (lambda: estimators.LinearRegression().fit(X[:0], Y[:0]), ValueError,
              r"0 sample\(s\)"),
    "single row": (lambda: estimators.LinearRegression(penalty=None).fit(X[:1], Y[:1]),
                   ValueError, r"X has 1 row"),
    "y outside poisson domain": (lambda: estimators.PoissonRegression().fit(X, Y - 1),
                                 ValueError, r"outside the Poisson family's domain"),
    "one class": (lambda: estimators.LogisticRegression().fit(X, np.ones(N)), ValueError,
                  r"needs samples of two classes"),
    "negative sample_weight": (lambda: estimators.LinearRegression().fit(
        X, Y, sample_weight=-np.ones(N)), ValueError, r"sample_weight must be finite and non-neg"),
    "rows mismatch": (lambda: estimators.LinearRegression().fit(X, Y[:10]), ValueError,
                      r"inconsistent numbers of samples|10 rows"),
}


@pytest.mark.parametrize("case", sorted(ESTIMATOR_CASES))
def test_estimator_refuses(case):
    call, exception, message = ESTIMATOR_CASES[case]
    with pytest.raises(exception, match=message):
        call()
