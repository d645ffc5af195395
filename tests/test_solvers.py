"""Every solver against statsmodels' maximum likelihood estimate, penalised
fits against statsmodels' fit_regularized and the KKT conditions, and the
solver contract (chunkings, schedulers, passes, registry, bad input)."""

import warnings

import dask
import dask.array as da
import numpy as np
import pytest
import statsmodels.api as sm

import daskglm
from daskglm import links, solvers
from daskglm.exceptions import ConvergenceWarning

from synthetic import make_glm_data

SECOND_ORDER = {"newton": 1e-6, "lbfgs": 1e-6}
FIRST_ORDER = {"gradient_descent": 1e-4, "proximal_grad": 1e-4}
ALL_SOLVERS = {**SECOND_ORDER, **FIRST_ORDER}

FAMILIES = [
    (daskglm.Logistic(), sm.families.Binomial()),
    (daskglm.Logistic(links.Probit()), sm.families.Binomial(sm.families.links.Probit())),
    (daskglm.Logistic(links.CLogLog()), sm.families.Binomial(sm.families.links.CLogLog())),
    (daskglm.Poisson(), sm.families.Poisson()),
    (daskglm.Normal(), sm.families.Gaussian()),
]


def to_dask(X, y, n_chunks):
    rows = -(-len(y) // n_chunks)
    return da.from_array(X, chunks=(rows, X.shape[1])), da.from_array(y, chunks=rows)


@pytest.fixture(scope="module", params=FAMILIES, ids=lambda f: repr(f[0]))
def synthetic(request):
    family, sm_family = request.param
    X, y = make_glm_data(family, n=100_000, p=6, seed=11)
    reference = sm.GLM(y, X, family=sm_family).fit(tol=1e-12, maxiter=100).params
    return family, X, y, reference


@pytest.mark.parametrize("solver", list(ALL_SOLVERS))
def test_reaches_statsmodels_mle_on_synthetic_data(synthetic, solver):
    family, X, y, reference = synthetic
    X_dask, y_dask = to_dask(X, y, n_chunks=5)
    fit = solvers.get_solver(solver)(X_dask, y_dask, family)
    assert fit.converged and fit.solver == solver
    tolerance = ALL_SOLVERS[solver]
    np.testing.assert_allclose(fit.coef, reference, rtol=tolerance, atol=tolerance)
    assert fit.history and fit.history[-1]["objective"] == pytest.approx(fit.objective)


@pytest.fixture(scope="module", params=["randhie-poisson", "fair-logistic"])
def real_data(request):
    if request.param == "randhie-poisson":
        data = sm.datasets.randhie.load_pandas().data
        y = data["mdvis"].to_numpy(float)
        X = sm.add_constant(data.drop(columns="mdvis")).to_numpy(float)
        family, sm_family = daskglm.Poisson(), sm.families.Poisson()
    else:
        data = sm.datasets.fair.load_pandas().data
        y = (data["affairs"] > 0).to_numpy(float)
        X = sm.add_constant(data.drop(columns="affairs")).to_numpy(float)
        family, sm_family = daskglm.Logistic(), sm.families.Binomial()
    reference = sm.GLM(y, X, family=sm_family).fit(tol=1e-12, maxiter=100).params
    return family, X, y, reference


@pytest.mark.parametrize("solver", list(ALL_SOLVERS))
def test_reaches_statsmodels_mle_on_real_data(real_data, solver):
    # in memory: thousands of first-order passes over 6,366 rows would time
    # the scheduler, not the solver (chunked input is covered above)
    family, X, y, reference = real_data
    # lbfgs's line search works on objective values, which stop resolving
    # progress near a gradient of 1e-8 on randhie; 1e-7 gives 2e-7 accuracy.
    # The first-order solvers' 3e-7: the stopping rule measures each gradient
    # entry in units of its column's root mean square (up to 30 on fair), so
    # the old absolute 1e-6 is about 3e-8..1e-6 in those units
    tol = {"newton": 1e-8, "lbfgs": 1e-7}.get(solver, 3e-7)
    fit = solvers.get_solver(solver)(X, y, family, tol=tol, max_iter=20_000)
    tolerance = ALL_SOLVERS[solver]
    np.testing.assert_allclose(fit.coef, reference, rtol=tolerance, atol=tolerance)


def objective(family, X, y, penalty, penalized, coef):
    return family.nll(y, X @ coef).mean() + penalty.value(coef, penalized)


@pytest.mark.parametrize("family, sm_family", [FAMILIES[0], FAMILIES[3]],
                         ids=["logistic", "poisson"])
@pytest.mark.parametrize("penalty", [daskglm.L1(0.04), daskglm.ElasticNet(0.08, 0.4)], ids=repr)
@pytest.mark.parametrize("solver", ["newton", "proximal_grad"])
def test_penalised_fit_matches_statsmodels_and_kkt(family, sm_family, penalty, solver):
    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(20_000), rng.normal(size=(20_000, 7)) * np.linspace(0.5, 3, 7)])
    true_coef = (np.array([0.3, 0.4, 0.0, -0.3, 0.0, 0.02, 0.0, 0.1])
                 / np.r_[1, np.linspace(0.5, 3, 7)])
    mean = family.mean(X @ true_coef)
    y = (rng.binomial(1, mean) if isinstance(family, daskglm.Logistic) else rng.poisson(mean))
    y = y.astype(float)
    penalized = np.r_[False, np.ones(7, bool)]
    alpha = np.where(penalized, penalty.alpha, 0.0)
    reference = sm.GLM(y, X, family=sm_family).fit_regularized(
        method="elastic_net", alpha=alpha, L1_wt=penalty.l1_ratio, cnvrg_tol=1e-12, maxiter=1000)
    X_dask, y_dask = to_dask(X, y, n_chunks=4)
    fit = solvers.get_solver(solver)(X_dask, y_dask, family, penalty, unpenalized=[0],
                                     tol=1e-9, max_iter=5000)
    ours = objective(family, X, y, penalty, penalized, fit.coef)
    theirs = objective(family, X, y, penalty, penalized, reference.params)
    assert ours <= theirs + 1e-6 * abs(theirs)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs)
    assert fit.objective == pytest.approx(ours, rel=1e-12)
    # KKT: the gradient of the mean nll balances the penalty's subgradient
    grad = X.T @ family.gradient(y, X @ fit.coef) / len(y)
    zero = fit.coef == 0
    assert zero[penalized].any(), "the penalty should set some coefficients to zero"
    assert np.all(np.abs(grad[zero] + penalty.l2 * 0) <= penalty.l1 + 1e-7)
    active = ~zero
    residual = grad + penalty.l1 * np.sign(fit.coef) + penalty.l2 * fit.coef
    residual[~penalized] = grad[~penalized]
    assert np.max(np.abs(residual[active])) <= 1e-7


def test_l2_fit_matches_scikit_learn_ridge_logistic():
    from sklearn.linear_model import LogisticRegression

    family = daskglm.Logistic()
    X, y = make_glm_data(family, n=20_000, p=6, seed=8)
    penalty = daskglm.L2(0.05)
    # scikit-learn minimises C * sum(loss) + |w|^2 / 2: the same optimum at C = 1 / (alpha n)
    sk = LogisticRegression(C=1 / (penalty.alpha * len(y)), tol=1e-12, max_iter=10_000)
    sk.fit(X[:, 1:], y)
    reference = np.r_[sk.intercept_, sk.coef_.ravel()]
    for name, tolerance in ALL_SOLVERS.items():
        fit = solvers.get_solver(name)(X, y, family, penalty, unpenalized=[0], tol=1e-9,
                                       max_iter=20_000)
        np.testing.assert_allclose(fit.coef, reference, atol=max(tolerance, 1e-6), err_msg=name)


def test_offset_matches_statsmodels():
    family = daskglm.Poisson()
    X, y = make_glm_data(family, n=30_000, p=5, seed=4)
    offset = np.random.default_rng(4).uniform(-1, 1, size=len(y))
    y = np.random.default_rng(5).poisson(np.exp(X @ np.full(5, 0.2) + offset)).astype(float)
    reference = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(tol=1e-12).params
    X_dask, y_dask = to_dask(X, y, 3)
    offset_dask = da.from_array(offset, chunks=X_dask.chunks[0])
    for name, tolerance in ALL_SOLVERS.items():
        fit = solvers.get_solver(name)(X_dask, y_dask, family, offset=offset_dask)
        np.testing.assert_allclose(fit.coef, reference, rtol=tolerance, atol=tolerance,
                                   err_msg=name)


@pytest.mark.parametrize("solver", list(ALL_SOLVERS))
def test_weights_two_equals_duplicated_row_and_zero_equals_dropped(solver):
    family = daskglm.Logistic()
    X, y = make_glm_data(family, n=3_000, p=4, seed=6)
    weights = np.ones(len(y))
    weights[:300] = 2.0
    weights[300:600] = 0.0
    X_expanded = np.vstack([X[:300], X[:300], X[600:]])
    y_expanded = np.concatenate([y[:300], y[:300], y[600:]])
    fit = solvers.get_solver(solver)(X, y, family, weights=weights, tol=1e-9, max_iter=20_000)
    expanded = solvers.get_solver(solver)(X_expanded, y_expanded, family, tol=1e-9,
                                          max_iter=20_000)
    np.testing.assert_allclose(fit.coef, expanded.coef, atol=1e-6)
    assert fit.objective == pytest.approx(expanded.objective, rel=1e-8)


def test_numpy_one_chunk_many_chunks_agree():
    family = daskglm.Poisson()
    X, y = make_glm_data(family, n=50_000, p=5, seed=9)
    for name in ALL_SOLVERS:
        fits = [solvers.get_solver(name)(X, y, family, tol=1e-9, max_iter=20_000)]
        for n_chunks in (1, 7):
            fits.append(solvers.get_solver(name)(*to_dask(X, y, n_chunks), family, tol=1e-9,
                                                 max_iter=20_000))
        for other in fits[1:]:
            np.testing.assert_allclose(other.coef, fits[0].coef, atol=1e-7, err_msg=name)


def test_threads_and_distributed_cluster_agree(distributed_client):
    family = daskglm.Logistic()
    X, y = make_glm_data(family, n=40_000, p=5, seed=10)
    X_dask, y_dask = to_dask(X, y, 4)
    for name in ALL_SOLVERS:
        with dask.config.set(scheduler="threads"):
            threaded = solvers.get_solver(name)(X_dask, y_dask, family, tol=1e-9)
        on_cluster = solvers.get_solver(name)(X_dask, y_dask, family, tol=1e-9)
        np.testing.assert_allclose(on_cluster.coef, threaded.coef, atol=1e-9, err_msg=name)


def test_newton_makes_one_pass_per_iteration():
    family = daskglm.Logistic()
    X, y = make_glm_data(family, n=50_000, p=6, seed=12)
    fit = solvers.newton(*to_dask(X, y, 5), family)
    assert fit.converged and 3 <= fit.n_iter <= 10
    assert fit.n_passes == fit.n_iter
    assert [record["n_passes"] for record in fit.history] == list(range(1, fit.n_iter + 1))


def test_lasso_costs_a_few_passes():
    family = daskglm.Logistic()
    X, y = make_glm_data(family, n=50_000, p=30, seed=13)
    fit = solvers.newton(*to_dask(X, y, 5), family, daskglm.L1(0.02), unpenalized=[0])
    assert fit.converged and fit.n_passes <= 12
    assert np.count_nonzero(fit.coef[1:] == 0) >= 5


def test_non_convergence_warns_and_says_so():
    family = daskglm.Logistic()
    X, y = make_glm_data(family, n=5_000, p=4, seed=14)
    for name in ALL_SOLVERS:
        with pytest.warns(ConvergenceWarning, match=f"{name} did not converge"):
            fit = solvers.get_solver(name)(X, y, family, max_iter=1, tol=1e-12)
        assert not fit.converged and ("max_iter" in fit.message or "scipy" in fit.message)


def test_callback_sees_every_iteration():
    family = daskglm.Normal()
    X, y = make_glm_data(family, n=2_000, p=3, seed=15)
    seen = []
    fit = solvers.proximal_grad(X, y, family, callback=seen.append)
    assert len(seen) == len(fit.history) and seen[-1]["coef"].shape == (3,)


def test_inputs_are_not_modified():
    family = daskglm.Poisson()
    X, y = make_glm_data(family, n=2_000, p=3, seed=16)
    weights, offset, init = np.full(len(y), 1.5), np.full(len(y), 0.1), np.zeros(3)
    copies = [a.copy() for a in (X, y, weights, offset, init)]
    for name in ALL_SOLVERS:
        solvers.get_solver(name)(X, y, family, daskglm.L2(0.1), weights=weights, offset=offset,
                                 init=init)
    for original, copy in zip((X, y, weights, offset, init), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


# -- the registry and bad input ------------------------------------------------

def test_registry_lists_and_registers():
    assert {"newton", "lbfgs", "gradient_descent", "proximal_grad"} <= set(solvers.SOLVERS)
    with pytest.raises(ValueError, match="unknown solver 'sgd'; known solvers: .*lbfgs.*newton"):
        solvers.get_solver("sgd")

    @solvers.register_solver("identity_solver", nonsmooth=False)
    def identity_solver(X, y, family=None, regularizer=None):
        return solvers.SolverResult(np.zeros(X.shape[1]), True, 0, 0, 0.0)

    try:
        assert solvers.get_solver("identity_solver") is identity_solver
        assert "identity_solver" not in solvers.solvers_for(daskglm.L1(1.0))
    finally:
        del solvers.SOLVERS["identity_solver"]


@pytest.mark.parametrize("solver", ["lbfgs", "gradient_descent"])
def test_penalty_the_solver_cannot_do_names_those_that_can(solver):
    X, y = make_glm_data(daskglm.Logistic(), n=100, p=2)
    with pytest.raises(ValueError, match=rf"solver '{solver}' cannot .*L1.*newton, proximal_grad"):
        solvers.get_solver(solver)(X, y, daskglm.Logistic(), daskglm.L1(0.1))


BAD_INPUTS = [
    ("y outside domain", lambda X, y: (X, np.where(np.arange(len(y)) == 7, 2.0, y)),
     r"y has 1 value\(s\) outside the Binomial family's domain .*rows: 7"),
    ("nan in X", lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y),
     r"X contains 1 NaN or infinite"),
    ("inf in y", lambda X, y: (X, np.where(np.arange(len(y)) == 3, np.inf, y)),
     r"y contains 1 NaN or infinite"),
    ("mismatched lengths", lambda X, y: (X, y[:-1]), r"y has 399 rows but X has 400"),
    ("1-d X", lambda X, y: (X[:, 0], y), r"X must be 2-dimensional"),
]


@pytest.mark.parametrize("as_dask", [False, True], ids=["numpy", "dask"])
@pytest.mark.parametrize("case, change, message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_raises_clear_errors(case, change, message, as_dask):
    X, y = make_glm_data(daskglm.Logistic(), n=400, p=3, seed=17)
    X, y = change(X, y)
    if as_dask:
        X = da.from_array(X, chunks=100)
        y = da.from_array(y, chunks=100)
    for name in ALL_SOLVERS:
        with pytest.raises(ValueError, match=message):
            solvers.get_solver(name)(X, y, daskglm.Logistic())


def test_bad_options_are_refused():
    X, y = make_glm_data(daskglm.Logistic(), n=100, p=2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'rho'"):
        solvers.newton(X, y, rho=1.0)
    with pytest.raises(ValueError, match="max_iter must be a positive integer"):
        solvers.lbfgs(X, y, max_iter=0)
    with pytest.raises(ValueError, match=r"unpenalized must list column indices in \[0, 2\)"):
        solvers.newton(X, y, daskglm.Logistic(), daskglm.L1(0.1), unpenalized=[5])
    with pytest.raises(ValueError, match="init must have 2 entries"):
        solvers.newton(X, y, init=np.zeros(3))
    with pytest.raises(ValueError, match="weights contain 1 negative"):
        solvers.newton(X, y, weights=np.r_[-1.0, np.ones(99)])


@pytest.mark.parametrize("kind", ["complete", "quasi-complete"])
def test_separation_is_detected_and_named(kind):
    from daskglm.exceptions import PerfectSeparationWarning

    rng = np.random.default_rng(21)
    x = rng.normal(size=2_000)
    y = (x > 0).astype(float)
    if kind == "quasi-complete":  # rows with x < 0.5 overlap; x >= 0.5 are all ones
        y = np.where(x < 0.5, rng.binomial(1, 0.5, size=x.size), 1.0)
        x = np.where(x < 0.5, 0.0, x)
    X = np.column_stack([np.ones_like(x), x])
    with pytest.warns(PerfectSeparationWarning, match=r"row\(s\) are fitted .*separated"):
        fit = solvers.newton(X, y, daskglm.Logistic(), max_iter=60)
    assert not fit.converged and "separated" in fit.message


def test_no_separation_warning_on_ordinary_data():
    X, y = make_glm_data(daskglm.Logistic(), n=20_000, p=5, seed=22)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert solvers.newton(X, y, daskglm.Logistic()).converged


@pytest.mark.parametrize("link", [links.Sqrt(), links.Identity()], ids=["sqrt", "identity"])
def test_solvers_start_inside_the_mean_space(link):
    # eta = 0 is a mean of 0: outside a Poisson model's space for these links
    family = daskglm.Poisson(link)
    rng = np.random.default_rng(23)
    X = np.column_stack([np.ones(4_000), rng.uniform(0, 1, size=(4_000, 3))])
    y = rng.poisson(family.mean(X @ np.array([2.0, 0.5, -0.3, 0.4]))).astype(float)
    reference = solvers.newton(X, y, family, daskglm.L2(0.01), unpenalized=[0], tol=1e-10)
    for name in ("lbfgs", "gradient_descent", "proximal_grad", "admm"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = solvers.get_solver(name)(X, y, family, daskglm.L2(0.01), unpenalized=[0],
                                           tol=1e-9, max_iter=20_000)
        assert np.isfinite(fit.objective), name
        # scipy's line search may meet the mean space's edge (mu = eta^2 = 0)
        # and stop; what matters is that it says so instead of answering
        if name == "lbfgs" and isinstance(link, links.Sqrt) and not fit.converged:
            assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
            continue
        assert fit.converged, name
        assert fit.objective == pytest.approx(reference.objective, rel=1e-7), name
