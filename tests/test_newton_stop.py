"""newton's last-pass saving: a full step taken on a predicted KKT residual.

Every fit that stops on a prediction is checked against the residual measured
at the answer; the cases must include fits that did stop that way.
"""

import numpy as np
import pytest

import daskglm
from daskglm import links, solvers
from daskglm.exceptions import ConvergenceWarning
from daskglm.passes.objective import Objective
from daskglm.solvers._base import Problem

from synthetic import make_glm_data

CASES = [
    ("logistic", daskglm.Logistic(), None),
    ("poisson", daskglm.Poisson(), None),
    ("normal", daskglm.Normal(), None),
    ("probit", daskglm.Logistic(link=links.Probit()), None),
    ("poisson-sqrt", daskglm.Poisson(link=links.Sqrt()), None),
    ("logistic-l1", daskglm.Logistic(), daskglm.L1(0.01)),
    ("poisson-en", daskglm.Poisson(), daskglm.ElasticNet(0.02, 0.5)),
]


def _measured_kkt(X, y, family, regularizer, coef):
    objective = Objective(X, y, family)
    penalty = regularizer if regularizer is not None else daskglm.ElasticNet(0.0, 0.0)
    penalized = np.ones(X.shape[1], dtype=bool)
    penalized[0] = False
    problem = Problem(objective, penalty, penalized, None)
    evaluation = objective.evaluate(coef)
    return problem.kkt_norm(coef, evaluation.gradient), evaluation.value + \
        problem.penalty_value(coef)


@pytest.mark.parametrize("name, family, regularizer", CASES, ids=[c[0] for c in CASES])
def test_a_predicted_stop_meets_tol_at_the_answer(name, family, regularizer):
    predicted = 0
    for seed in range(3):
        X, y = make_glm_data(family, n=20_000, p=8, seed=40 + seed)
        if name == "poisson-sqrt":
            X[:, 1:] = np.abs(X[:, 1:]) * 0.1  # keep the sqrt link's mean positive
        for tol in (1e-4, 1e-6, 1e-8):
            fit = solvers.newton(X, y, family, regularizer, tol=tol, unpenalized=[0])
            assert fit.converged, fit.message
            kkt, objective = _measured_kkt(X, y, family, regularizer, fit.coef)
            assert kkt <= tol
            if "predicted_kkt" in fit.info:
                predicted += 1
                assert "predicted" in fit.message
                # the quadratic model's value: off by a small part of what the last
                # step gained (a larger part for Fisher scoring, whose model is not
                # the second-order Taylor model)
                gained = fit.history[-1]["objective"] - objective
                part = 0.05 if family.is_canonical else 0.5
                # (at tol=1e-8 the last step gains less than the sum's rounding)
                assert gained > -1e-13 * objective
                assert abs(fit.objective - objective) <= part * gained + 1e-13 * objective
                assert fit.n_passes == fit.n_iter
    if name == "normal":  # the IRLS start is the exact answer: nothing left to predict
        assert predicted == 0 and fit.n_passes == 2
    else:
        # Fisher scoring (a non-canonical link) converges linearly: a prediction
        # fires only when tol lies within one step's factor below the residual
        # (the step ratio is measured in coefficient units, scale-free)
        enough = 2 if family.is_canonical else 1
        assert predicted >= enough, "no fit stopped on a prediction: the test checked nothing"


def test_a_predicted_stop_saves_a_pass():
    family = daskglm.Logistic()
    X, y = make_glm_data(family, n=50_000, p=10, seed=3)
    fits = {tol: solvers.newton(X, y, family, tol=tol) for tol in (1e-6, 1e-12)}
    saved = fits[1e-6]
    assert "predicted_kkt" in saved.info
    exact = fits[1e-12].coef
    assert np.max(np.abs(saved.coef - exact)) < 1e-6
    # the last evaluated point is one step short of the answer
    assert saved.n_passes < fits[1e-12].n_passes


def test_glm_checks_the_residual_at_the_answer():
    family = daskglm.Logistic()
    X, y = make_glm_data(family, n=20_000, p=5, seed=8)
    res = daskglm.GLM(y, X, family=family).fit(tol=1e-6)
    assert res.converged
    assert res.solver_result.info["kkt_at_answer"] <= 1e-6


def test_glm_flags_a_prediction_that_failed(monkeypatch):
    """A prediction that does not hold at the answer is reported, never hidden."""
    import importlib

    newton_module = importlib.import_module("daskglm.solvers.newton")

    family = daskglm.Logistic()
    X, y = make_glm_data(family, n=20_000, p=5, seed=9)
    # an over-optimistic predictor: stops right after the first evaluated step
    monkeypatch.setattr(newton_module._NewtonRun, "_predicted_kkt",
                        lambda self, kkt, last: 0.0)
    with pytest.warns(ConvergenceWarning, match="KKT residual at the answer"):
        res = daskglm.GLM(y, X, family=family).fit(tol=1e-10)
    assert not res.converged
    assert res.solver_result.info["kkt_at_answer"] > 1e-10
