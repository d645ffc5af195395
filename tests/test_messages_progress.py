"""Short messages however many names they concern, a progress bar without NaN, and a
demo that writes nothing inside the repository."""

from pathlib import Path

import numpy as np
import pytest
from test_examples import load

import daskglm
from daskglm.frontend.design import check_rank
from daskglm.frontend.formula_learning import check_missing
from daskglm.messages import listing
from daskglm.progress import ProgressBar

REPO = Path(daskglm.__file__).resolve().parent.parent


def test_listing_keeps_short_lists_and_caps_long_ones():
    assert listing(["nope"]) == "['nope']"
    assert listing([1, 2], render=str, brackets=False) == "1, 2"
    long = listing([f"column_{i}" for i in range(4_000)], hint="see data.columns")
    assert long.startswith("['column_0', 'column_1'") and "... and 3,995 more]" in long
    assert long.endswith("(see data.columns)") and len(long) < 200
    cut = listing(["x" * 10_000])
    assert len(cut) < 100 and cut.endswith("...]")


def test_errors_about_thousands_of_columns_stay_short():
    names = [f"C(region)[T.R{i:05d}]" for i in range(4_000)]
    with pytest.raises(ValueError, match="are zero in every row") as info:
        check_rank(np.zeros((len(names), len(names))), names)
    assert "3,995 more" in str(info.value) and len(str(info.value)) < 500
    reports = [{"missing": {name: 2 for name in names}, "nonpositive_exposure": 0}]
    with pytest.raises(ValueError, match="missing values in") as info:
        check_missing(reports, missing="raise")
    assert "4000 terms in all" in str(info.value) and len(str(info.value)) < 500


def test_progress_bar_shows_no_nan(capsys):
    with ProgressBar(3, "newton") as bar:
        bar({"objective": np.nan, "kkt_norm": np.nan, "step": np.nan})   # Newton's start
        assert "nan" not in str(bar._bar).lower()
        bar({"objective": 1.25, "kkt_norm": 3e-4})
        assert "objective=1.25" in str(bar._bar) and "kkt_norm=3.00e-04" in str(bar._bar)
        bar({"objective": np.nan, "primal_residual": 0.5})                 # ADMM
        assert "nan" not in str(bar._bar).lower() and "primal_residual=5.00e-01" in str(bar._bar)
    assert "nan" not in capsys.readouterr().err.lower()


def test_demo_writes_nothing_inside_the_repository(capsys):
    existed = (REPO / "examples" / "data").exists()
    report = load("demo").main(n_rows=8_000, n_files=1, seed=3)
    out = capsys.readouterr().out
    assert report["converged"] and "temporary folder, now removed" in out
    assert (REPO / "examples" / "data").exists() == existed
    written = [line.split(" under ")[-1].split(" (")[0] for line in out.splitlines()
               if line.startswith("Wrote ")]
    assert written and not Path(written[0]).exists()
    assert not Path(written[0]).resolve().is_relative_to(REPO)
