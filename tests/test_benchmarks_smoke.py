"""The benchmark harness end to end on toy data, with the always-installed peers.

No timings are asserted: only that the harness measures, judges accuracy
against an independent reference and writes its report.
"""

import numpy as np
import pytest
import statsmodels.api as sm

from benchmarks import report
from benchmarks.peers import FITTERS
from benchmarks.problems import Problem, gradient_and_hessian, objective_value, reference_newton
from benchmarks.run import parse_args, run_suite

PATTERNS = ("daskglm newton", "statsmodels IRLS", "sklearn lbfgs", "sklearn saga")


def _fitters():
    return [f for f in FITTERS if f.name in PATTERNS]


def test_objective_matches_statsmodels_loglikelihood():
    data = Problem("logistic", "logistic", 3000, 4, seed=3).make()
    coef = np.random.default_rng(0).normal(size=data.problem.n_coef)
    llf = sm.GLM(data.y, data.design, family=sm.families.Binomial()).loglike(coef)
    assert objective_value(data, coef) == pytest.approx(-llf / data.problem.n_rows, rel=1e-12)


def test_reference_newton_reaches_the_optimum():
    data = Problem("poisson", "poisson", 5000, 3, coef_scale=0.3, seed=4).make()
    coef, gnorm, _ = reference_newton(data)
    gradient, _ = gradient_and_hessian(data, coef)
    assert gnorm <= 1e-12 and np.max(np.abs(gradient)) <= 1e-12


def test_score_refuses_an_inaccurate_fit():
    reference = dict(coef=np.array([1.0, 2.0]), objective=0.5)
    close = dict(coef=np.array([1.0, 2.0 + 5e-7]), objective=0.5 * (1 + 1e-9))
    far = dict(coef=np.array([1.0, 2.0 + 5e-6]), objective=0.5 * (1 + 1e-5))
    assert report.score(close, reference, order=2, accuracy=1e-6)["counts"]
    assert not report.score(far, reference, order=2, accuracy=1e-6)["counts"]
    assert not report.score(far, reference, order=1, accuracy=1e-6)["counts"]


def test_suite_on_toy_problems_writes_a_report(tmp_path):
    problems = [
        Problem("logistic", "logistic", 4000, 5, seed=1),
        Problem("l1_logistic", "logistic", 4000, 12, l1=1e-2, n_nonzero=3, coef_scale=1.0,
                seed=2),
        Problem("rows", "logistic", 2000, 4, intercept=False, seed=5, group="rows"),
        Problem("rows", "logistic", 6000, 4, intercept=False, seed=5, group="rows"),
    ]
    options = parse_args(["--threads", "1", "--out", str(tmp_path)])
    records, env = run_suite(problems, _fitters(), options)

    by_key = {(r["problem"], r["fitter"], r["input"]): r for r in records}
    newton = by_key[("logistic_4e3x5", "daskglm newton", "dask")]
    attempt = report.chosen(newton)
    assert attempt["counts"] and attempt["max_dcoef"] <= 1e-6
    assert attempt["n_passes"] >= attempt["n_iter"] >= 1
    assert newton["reference"]["gradient_norm"] <= 1e-12
    # statsmodels has no L1 here and lbfgs cannot do it: skipped, with a reason
    skipped = by_key[("l1_logistic_4e3x12", "sklearn lbfgs", "numpy")]
    assert skipped["status"] == "skipped" and "L1" in skipped["reason"]
    saga = report.chosen(by_key[("l1_logistic_4e3x12", "sklearn saga", "numpy")])
    assert saga["rel_gap"] >= -1e-12  # nothing beats the reference optimum

    paths = report.write(records, env, str(tmp_path), "smoke", plot=True)
    text = (tmp_path / "smoke.md").read_text()
    assert "statsmodels IRLS" in text and "### rows sweep" in text
    assert any(p.endswith("smoke_rows.png") for p in paths)
    # targets on problems this run has are listed; the historical problem did not run
    assert "logistic: newton <= 0.5 x glum" in text and "historical 8e6" not in text

    # the markdown can be rewritten from the JSON alone
    (tmp_path / "smoke.md").unlink()
    report.main([str(tmp_path / "smoke.json")])
    assert (tmp_path / "smoke.md").read_text() == text


def test_influence_stream_matches_statsmodels_on_its_generated_data():
    import dask

    from benchmarks import influence_stream

    out = influence_stream.run(n_rows=5000, chunk_rows=1500, seed=3)
    X, y = dask.compute(*influence_stream.generated_design(5000, 1500, seed=3))
    theirs = sm.GLM(y, X, family=sm.families.Poisson()).fit(tol=1e-12)
    cooks = theirs.get_influence().cooks_distance[0]
    assert not out["persisted"] and out["converged"]
    np.testing.assert_allclose(out["params"], theirs.params, rtol=1e-7)
    assert out["cooks_max"] == pytest.approx(cooks.max(), rel=1e-6)
    assert out["cooks_sum"] == pytest.approx(cooks.sum(), rel=1e-6)
    assert out["fit_peak_bytes"] >= 0 and out["influence_peak_bytes"] >= 0


def test_families_vs_glum_on_toy_data(capsys):
    pytest.importorskip("glum")
    from benchmarks import families_vs_glum

    records = families_vs_glum.main(["--rows", "3000", "--features", "3", "--chunks", "3",
                                     "--threads", "1", "--pass-rows", "2000"])
    shown = capsys.readouterr().out
    tweedie = next(r for r in records if r["case"] == "tweedie")
    for name in ("daskglm newton", "glum irls"):
        assert tweedie[name]["counts"] and tweedie[name]["max_dcoef"] <= 1e-6
    assert tweedie["ratio"] > 0 and 0.05 < tweedie["zeros"] < 0.6
    # Gamma runs where daskglm has it, else says it was skipped
    assert any(r["case"] == "gamma" for r in records) or "no 'gamma' family here" in shown
    assert "Tweedie(var_power=1.5) (log) / Poisson (log)" in shown


def test_negbin_benchmark_runs_on_toy_sizes(capsys):
    from benchmarks import negbin

    options = negbin.parse_args(["--rows", "3000", "--cols", "3", "--big-rows", "4000",
                                 "--chunk-rows", "2000", "--repeat", "1"])
    rows = negbin.side_by_side(options)
    seconds, error, _ = rows["daskglm newton (joint)"]
    assert seconds > 0 and error <= negbin.ACCURACY
    _, passes, result = negbin.big(options)
    assert result.converged and passes >= 2
    printed = capsys.readouterr().out
    assert "ratio daskglm / statsmodels" in printed and "daskglm alone, 4,000 rows" in printed


def test_paths_benchmark_runs_on_toy_data(tmp_path):
    """benchmarks/paths.py end to end at a toy size: the numbers it reports exist."""
    pytest.importorskip("glum")
    from benchmarks import paths

    out = tmp_path / "paths.json"
    results = paths.main(["--rows", "3000", "--cols", "8", "--nonzero", "3", "--n-alphas",
                          "8", "--folds", "3", "--skip-cluster", "--out", str(out)])
    assert results["converged"] == 8 and out.exists()
    assert results["passes_per_alpha"] > 0 and results["cv_ratio"] > 0
    assert results["max_path_difference"] < 1e-3


@pytest.mark.timeout(180)
def test_cluster_benchmark_measures_what_moves():
    """Tiny run of benchmarks/cluster.py on 2 worker processes: same coefficients
    as dask's threads, and per pass about one task and one reduced result per
    worker (the Hessian's p^2, the gradient, a few numbers) plus the coefficients."""
    from benchmarks import cluster

    n_cols, n_workers = 5, 2
    records = cluster.run(4_000, n_cols, 4, ["newton"], [n_workers])
    threaded, on_cluster = records
    assert threaded["setup"] == "threads=2" and on_cluster["setup"] == "processes=2"
    assert on_cluster["converged"] and on_cluster["max_coef_diff"] <= 1e-8
    assert on_cluster["tasks_per_pass"] <= n_workers + 1
    reduced = (n_cols**2 + 2 * n_cols + 16) * 8 * n_workers
    coefficients_out = n_cols * 8 * n_workers
    assert 0 < on_cluster["worker_data_out_per_pass"] <= reduced + coefficients_out
    assert "scheduler_cpu_s_per_pass" in on_cluster
    assert "| processes=2 | newton |" in cluster.table(records)
