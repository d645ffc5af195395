"""Convergence plots render to PNG files; progress bars tick once per iteration."""

import matplotlib

import daskglm
from daskglm import solvers
from daskglm.progress import ProgressBar, chain_callbacks

from synthetic import make_glm_data

matplotlib.use("Agg")


def test_solver_result_plot_writes_a_png(tmp_path):
    X, y = make_glm_data(daskglm.Logistic(), n=5_000, p=4, seed=1)
    fit = solvers.proximal_grad(X, y, daskglm.Logistic(), daskglm.L1(0.01), unpenalized=[0])
    figure = fit.plot()
    path = tmp_path / "convergence.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    lines = figure.axes[1].get_lines()
    assert len(lines) == 1 and len(lines[0].get_xdata()) == len(fit.history)


def test_progress_bar_ticks_per_iteration(capsys):
    X, y = make_glm_data(daskglm.Poisson(), n=5_000, p=4, seed=2)
    seen = []
    with ProgressBar(100, "newton") as bar:
        fit = solvers.newton(X, y, daskglm.Poisson(), callback=chain_callbacks(bar, seen.append))
        assert bar._bar.n == len(fit.history) == len(seen)
    assert "newton" in capsys.readouterr().err


def test_no_output_without_progress(capsys):
    X, y = make_glm_data(daskglm.Normal(), n=1_000, p=3, seed=3)
    solvers.newton(X, y, daskglm.Normal())
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert chain_callbacks(None, None) is None
