"""Every script in examples/ runs at a small size and gets the right answer, so
the examples never rot."""

import importlib.util
import sys
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import statsmodels.api as sm
import statsmodels.formula.api as smf

import daskglm
from daskglm import solvers
from daskglm.frontend.saved import load_fit

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name):
    """Import ``examples/<name>.py`` (with examples/ importable, as when run)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_formula_to_summary_matches_statsmodels(capsys):
    example = load("formula_to_summary")
    result = example.main(n_rows=6_000, n_partitions=3, seed=1)
    out = capsys.readouterr().out
    assert "Generalized Linear Model Regression Results" in out and "expected_claims" in out
    frame = example.make_policies(6_000, 3, seed=1).compute()
    reference = smf.glm(example.FORMULA, frame, family=sm.families.Poisson(),
                        exposure=frame["years"]).fit()
    np.testing.assert_allclose(result.params[reference.params.index], reference.params,
                               rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(result.bse[reference.params.index], reference.bse, rtol=1e-6)


def _l1_kkt(X, y, coef, alpha):
    """Largest violation of the L1 logistic optimality conditions (intercept free)."""
    mu = 1.0 / (1.0 + np.exp(-(X @ coef)))
    grad = np.asarray(X.T @ (mu - y)).ravel() / X.shape[0]
    violation = np.abs(grad[0])
    rest, free = coef[1:], grad[1:]
    at_zero = rest == 0
    violation = max(violation, np.max(np.abs(free[~at_zero] + alpha * np.sign(rest[~at_zero])),
                                      initial=0.0))
    return max(violation, np.max(np.abs(free[at_zero]) - alpha, initial=0.0))


def test_l1_logistic_solvers_agree(capsys):
    example = load("l1_logistic_solvers")
    alpha = 0.01
    fits = example.main(n_rows=4_000, n_features=6, n_chunks=3, alpha=alpha, seed=2)
    assert sorted(fits) == solvers.solvers_for(daskglm.L1(alpha))
    assert "objective - best" in capsys.readouterr().out
    X, y = (a.compute() for a in example.make_data(4_000, 6, 3, seed=2))
    for name, fit in fits.items():
        assert fit.converged, name
        assert _l1_kkt(X, y, fit.coef, alpha) < 1e-5, name
        np.testing.assert_allclose(fit.coef, fits["newton"].coef, atol=1e-4, err_msg=name)


def test_async_admm_or_its_skip_message(capsys, distributed_client):
    example = load("async_admm")
    fits = example.main(n_rows=6_000, n_features=4, n_chunks=3, client=distributed_client)
    out = capsys.readouterr().out
    if "admm" not in solvers.SOLVERS:
        assert fits is None and "no 'admm' solver registered" in out
        return
    for name, fit in fits.items():
        assert fit.converged, name
        np.testing.assert_allclose(fit.coef, fits["newton"].coef, atol=1e-4, err_msg=name)


def test_saga_sparse_or_its_skip_message(capsys):
    example = load("saga_sparse")
    alpha = 1e-3
    fits = example.main(n_rows=3_000, n_features=60, density=0.05, n_chunks=3, alpha=alpha)
    out = capsys.readouterr().out
    if "saga" not in solvers.SOLVERS:
        assert fits is None and "no 'saga' solver registered" in out
        return
    _, y, X_csr = example.make_sparse_data(3_000, 60, 0.05, 3, seed=0)
    for name, fit in fits.items():
        assert fit.converged, name
        assert _l1_kkt(X_csr, y.compute(), fit.coef, alpha) < 1e-6, name


def test_estimators_gridsearch_refits_like_sklearn(capsys):
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    example = load("estimators_gridsearch")
    search = example.main(n_rows=3_000, n_features=4, seed=3)
    assert "rank_test_score" in capsys.readouterr().out
    assert len(search.cv_results_["params"]) == 8
    X, y = example.make_data(3_000, 4, seed=3)
    C = search.best_params_["logisticregression__C"]
    ours = clone(search.best_estimator_).set_params(logisticregression__penalty="l2").fit(X, y)
    scaled = ours[0].transform(X)
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(scaled, y)
    np.testing.assert_allclose(ours[-1].coef_, reference.coef_.ravel(), atol=1e-5)
    np.testing.assert_allclose(ours[-1].intercept_, reference.intercept_[0], atol=1e-5)


def test_demo_fits_through_the_command_line(tmp_path, capsys):
    example = load("demo")
    report = example.main(n_rows=20_000, n_files=2, seed=5, data_dir=tmp_path)
    out = capsys.readouterr().out
    assert "$ daskglm fit" in out and "Joint Wald test" in out
    assert report["converged"] and report["n_coefficients"] == 45
    fit = load_fit(tmp_path / "claims-fit.json")
    model = daskglm.glm(example.FORMULA, dd.read_parquet(tmp_path / "claims"),
                        family=daskglm.Poisson(), exposure="years")
    np.testing.assert_allclose(fit.params, model.fit().params, rtol=1e-10)
    truth = example.ensure_data(tmp_path / "claims", 20_000, 2, seed=5)
    assert "already in" in capsys.readouterr().out and truth == example.true_coefficients(5)
    example.ensure_data(tmp_path / "claims", 30_000, 2, seed=5)
    assert "Wrote 30,000 policies" in capsys.readouterr().out
