"""Consensus ADMM: the same optimum as newton and statsmodels, residuals in the
history, and the asynchronous variant on a two-process LocalCluster."""

import itertools
import subprocess
import sys
import textwrap
import time

import dask.array as da
import numpy as np
import pytest
import statsmodels.api as sm

from daskglm import L1, ElasticNet, Logistic, Poisson
from daskglm.exceptions import ConvergenceWarning
from daskglm.solvers import SOLVERS, admm, newton

from synthetic import chunked, relative_gap

N_ROWS, N_COLS, CHUNK = 4000, 6, 1000


@pytest.mark.parametrize("family_name", ["logistic", "poisson"])
@pytest.mark.parametrize("regularizer", [L1(0.01), ElasticNet(0.03, 0.4)], ids=["l1", "enet"])
def test_sync_admm_reaches_newtons_optimum(family_name, regularizer, request):
    X, y, options = request.getfixturevalue(f"{family_name}_data")
    family = Logistic() if family_name == "logistic" else Poisson()
    Xd, yd, dask_options = chunked(X, y, options, CHUNK)
    reference = newton(X, y, family, regularizer, tol=1e-11, unpenalized=[0], **options)
    fit = admm(Xd, yd, family, regularizer, tol=1e-8, unpenalized=[0], **dask_options)
    assert fit.converged and fit.solver == "admm"
    assert relative_gap(fit.objective, reference.objective) <= 1e-6
    np.testing.assert_allclose(fit.coef, reference.coef, atol=1e-5)
    # the L1 part sets the same coefficients to exactly zero
    np.testing.assert_array_equal(fit.coef == 0.0, np.abs(reference.coef) < 1e-9)
    assert fit.coef[0] != 0.0  # the unpenalized intercept


@pytest.mark.parametrize("family_name", ["logistic", "poisson"])
def test_unpenalized_admm_matches_statsmodels(family_name, request):
    X, y, options = request.getfixturevalue(f"{family_name}_data")
    family = Logistic() if family_name == "logistic" else Poisson()
    sm_family = sm.families.Binomial() if family_name == "logistic" else sm.families.Poisson()
    reference = sm.GLM(y, X, family=sm_family, offset=options.get("offset"),
                       var_weights=options.get("weights")).fit(tol=1e-12)
    Xd, yd, dask_options = chunked(X, y, options, CHUNK)
    fit = admm(Xd, yd, family, tol=1e-8, **dask_options)
    np.testing.assert_allclose(fit.coef, reference.params, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("order", ["shuffled", "sorted"])
def test_averaged_start_reaches_the_same_optimum(order):
    """The averaging first round changes where the rounds start, not where they end;
    on chunks alike (shuffled rows) it starts them far closer to the optimum."""
    rng = np.random.default_rng(5)
    n, p = 40_000, 6
    X = rng.uniform(size=(n, p))
    coef = (rng.uniform(size=p) - 0.5) * 3
    y = rng.binomial(1, 1 / (1 + np.exp(-(X @ coef)))).astype(float)
    if order == "sorted":  # chunks that differ: sorted by a feature
        rows = np.argsort(X[:, 0])
        X, y = X[rows], y[rows]
    Xd, yd = da.from_array(X, chunks=(4000, p)), da.from_array(y, chunks=4000)
    reference = newton(X, y, tol=1e-12)
    fits = {start: admm(Xd, yd, tol=1e-6, averaged_start=start) for start in (True, False)}
    for fit in fits.values():
        assert fit.converged
        assert relative_gap(fit.objective, reference.objective) <= 1e-7
    assert fits[True].history[0]["rho"] < fits[True].history[1]["rho"]  # the averaging round
    gaps = {start: relative_gap(fit.history[1]["objective"], reference.objective)
            for start, fit in fits.items()}  # at z after the first round
    if order == "shuffled":
        assert gaps[True] <= 0.2 * gaps[False]
    assert fits[True].n_iter <= 1.2 * fits[False].n_iter


def test_hessian_metric_makes_every_round_count():
    """Without an L1 part rho="auto" penalises b_k - z in the metric of the chunks'
    Hessians: on equal chunks of correlated columns (dask-glm's uniform features,
    no intercept) each round then cuts the primal residual by about (2 - a) / 2
    = 0.1; a diagonal metric (what an L1 part gets) cuts it by a few percent."""
    rng = np.random.default_rng(8)
    n, p = 200_000, 15
    X = rng.uniform(size=(n, p))
    y = rng.binomial(1, 1 / (1 + np.exp(-(X @ ((rng.uniform(size=p) - 0.5) * 3))))).astype(float)
    Xd, yd = da.from_array(X, chunks=(20_000, p)), da.from_array(y, chunks=20_000)
    fit = admm(Xd, yd, tol=1e-9, averaged_start=False)
    assert fit.converged and fit.n_iter <= 15
    metric = fit.info["rho_scaling"]
    assert metric.shape == (p, p) and np.any(metric - np.diag(np.diag(metric)))
    primal = [record["primal_residual"] for record in fit.history]
    # rounds 2-6; the last ones reach the local solves' own tolerance
    assert max(later / earlier for earlier, later in itertools.pairwise(primal[1:7])) <= 0.2
    reference = newton(X, y, tol=1e-12)
    assert np.max(np.abs(fit.coef - reference.coef)) <= 1e-6
    with pytest.warns(ConvergenceWarning):
        with_l1 = admm(Xd, yd, regularizer=L1(1e-6), max_iter=10, tol=1e-9)
    assert not np.any(with_l1.info["rho_scaling"] - np.diag(np.diag(with_l1.info["rho_scaling"])))
    primal = [record["primal_residual"] for record in with_l1.history]
    assert primal[-1] / primal[-2] >= 0.5


def test_numpy_input_is_one_chunk(logistic_data):
    X, y, _ = logistic_data
    reference = newton(X, y, Logistic(), L1(0.01), tol=1e-11, unpenalized=[0])
    fit = admm(X, y, Logistic(), L1(0.01), tol=1e-9, unpenalized=[0])
    assert fit.info["n_chunks"] == 1
    assert relative_gap(fit.objective, reference.objective) <= 1e-6


def test_history_holds_residuals_every_round(logistic_data):
    X, y, _ = logistic_data
    Xd, yd, _ = chunked(X, y, {}, CHUNK)
    fit = admm(Xd, yd, Logistic(), ElasticNet(0.02, 0.5), tol=1e-7, unpenalized=[0])
    assert len(fit.history) == fit.n_iter
    primal, dual = fit.history_array("primal_residual"), fit.history_array("dual_residual")
    assert np.all(np.isfinite(primal)) and np.all(np.isfinite(dual))
    assert np.all(np.isfinite(fit.history_array("rho")))
    last = fit.history[-1]
    assert last["primal_residual"] <= last["primal_tol"]
    assert last["dual_residual"] <= last["dual_tol"]
    assert primal[-1] < 1e-3 * primal[0]
    # each round's objective is at the consensus the round started from;
    # the last one is the final objective up to the last small step
    objective = fit.history_array("objective")
    assert objective[-1] == pytest.approx(fit.objective, rel=1e-8)
    # plotting the residuals needs nothing but the history
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots()
    rounds = [record["iteration"] for record in fit.history]
    axis.semilogy(rounds, [record["primal_residual"] for record in fit.history])
    axis.semilogy(rounds, [record["dual_residual"] for record in fit.history])
    assert len(axis.lines) == 2
    plt.close(figure)


def test_user_rho_with_residual_balancing_converges(poisson_data):
    X, y, options = poisson_data
    Xd, yd, dask_options = chunked(X, y, options, CHUNK)
    reference = newton(X, y, Poisson(), L1(0.01), tol=1e-11, unpenalized=[0], **options)
    fit = admm(Xd, yd, Poisson(), L1(0.01), tol=1e-8, unpenalized=[0], rho=50.0,
               adaptive_rho=True, **dask_options)
    rho = fit.history_array("rho")
    assert rho[-1] < rho[0]            # balancing moved the far too large rho down
    assert relative_gap(fit.objective, reference.objective) <= 1e-6


def test_registered_and_refuses_bad_options(logistic_data):
    X, y, _ = logistic_data
    assert SOLVERS["admm"] is admm and admm.handles_nonsmooth
    with pytest.raises(ValueError, match="rho"):
        admm(X, y, rho=-1.0)
    with pytest.raises(ValueError, match="over_relaxation"):
        admm(X, y, over_relaxation=2.0)
    with pytest.raises(ValueError, match="local_max_iter"):
        admm(X, y, local_max_iter=0)
    with pytest.raises(TypeError):
        admm(X, y, rhoo=1.0)
    with pytest.raises(TypeError, match="client"):
        admm(X, y, asynchronous=True, client="tcp://nowhere")


def test_asynchronous_without_a_client_says_one_is_needed():
    # a fresh interpreter: no Client from other tests can be running there
    script = textwrap.dedent("""
        import numpy as np
        from daskglm.solvers import admm
        try:
            admm(np.ones((4, 1)), np.array([0.0, 1.0, 1.0, 0.0]), asynchronous=True)
        except ValueError as error:
            print(error)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True)
    assert "needs a dask.distributed Client" in out.stdout


def test_async_admm_converges(logistic_data, cluster_client):
    X, y, _ = logistic_data
    Xd, yd, _ = chunked(X, y, {}, CHUNK)
    reference = newton(X, y, Logistic(), L1(0.01), tol=1e-11, unpenalized=[0])
    fit = admm(Xd, yd, Logistic(), L1(0.01), tol=1e-7, unpenalized=[0], asynchronous=True,
               client=cluster_client)
    assert fit.converged
    assert relative_gap(fit.objective, reference.objective) <= 1e-4
    assert fit.info["n_updates"] == fit.n_iter == len(fit.history)
    assert sum(record["batch_size"] for record in fit.history) == fit.info["n_results"]
    assert np.all(np.isfinite(fit.history_array("primal_residual")))
    assert np.all(np.isfinite(fit.history_array("dual_residual")))
    assert fit.history[-1]["primal_residual"] <= fit.history[-1]["primal_tol"]


# timing-dependent (results must arrive while the client is busy): on a loaded
# 2-core machine they can arrive one by one, so it runs with -m slow
@pytest.mark.slow
def test_async_admm_batches_results_that_arrive_together(logistic_data, cluster_client):
    X, y, _ = logistic_data
    Xd, yd, _ = chunked(X, y, {}, CHUNK)
    reference = newton(X, y, Logistic(), L1(0.01), tol=1e-11, unpenalized=[0])

    def busy_client(record):
        # a client busy until the workers have finished every solve queued on them
        deadline = time.monotonic() + 2.0
        while any(cluster_client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.005)

    fit = admm(Xd, yd, Logistic(), L1(0.01), tol=1e-7, unpenalized=[0], asynchronous=True,
               client=cluster_client, solves_per_thread=2, callback=busy_client)
    assert fit.converged
    assert relative_gap(fit.objective, reference.objective) <= 1e-4
    # each z-update absorbed every result that had arrived: fewer updates than results
    assert fit.info["n_updates"] < fit.info["n_results"], fit.info
    assert max(record["batch_size"] for record in fit.history) > 1


def test_async_admm_poisson_offset_weights(poisson_data, cluster_client):
    X, y, options = poisson_data
    Xd, yd, dask_options = chunked(X, y, options, CHUNK)
    reference = newton(X, y, Poisson(), ElasticNet(0.03, 0.4), tol=1e-11, unpenalized=[0],
                       **options)
    fit = admm(Xd, yd, Poisson(), ElasticNet(0.03, 0.4), tol=1e-7, unpenalized=[0],
               asynchronous=True, batched=False, client=cluster_client, **dask_options)
    assert fit.converged
    assert fit.info["n_updates"] == fit.info["n_results"]   # unbatched: one result per update
    assert relative_gap(fit.objective, reference.objective) <= 1e-4


def test_sync_admm_on_a_client_matches_threads(logistic_data, cluster_client):
    X, y, _ = logistic_data
    Xd, yd, _ = chunked(X, y, {}, CHUNK)
    threaded = admm(Xd, yd, Logistic(), L1(0.01), tol=1e-7, unpenalized=[0])
    on_client = admm(Xd, yd, Logistic(), L1(0.01), tol=1e-7, unpenalized=[0],
                     client=cluster_client)
    assert on_client.n_iter == threaded.n_iter
    np.testing.assert_allclose(on_client.coef, threaded.coef, rtol=1e-10, atol=1e-12)
