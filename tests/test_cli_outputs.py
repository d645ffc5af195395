"""What the command line writes, and what it refuses to touch: outputs never overlap
inputs, --overwrite replaces like for like, writes are staged and renamed, the
format follows the suffix, options keep one meaning, formulas are data."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import REPO, _claims, run

from daskglm.cli.io import check_output_path, replace_output
from daskglm.cli.main import main
from daskglm.frontend.saved import load_fit

SMALL = "claims ~ age + C(vehicle)"


def _digest(path):
    """A fingerprint of a file or folder: every file's relative path and bytes."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*")) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path.parent)).encode())
        if file.is_file():
            digest.update(file.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Training data as a folder and a CSV, new data, and a saved fit."""
    root = tmp_path_factory.mktemp("outputs")
    (root / "claims").mkdir()
    for index in range(2):
        _claims(1_500, seed=index).to_parquet(root / "claims" / f"part-{index}.parquet",
                                              index=False)
    _claims(1_000, seed=3).to_csv(root / "claims.csv", index=False)
    _claims(200, seed=9).to_parquet(root / "new.parquet", index=False)
    status = main(["fit", SMALL, str(root / "claims"), "--family", "poisson",
                   "--save", str(root / "fit.json")])
    assert status == 0
    return root


def _one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("daskglm: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("output", ["{claims}", "{claims}/inside.parquet", "{root}",
                                    "{root}/fit.json"])
def test_output_overlapping_an_input_is_refused_whatever_the_flags(setup, capsys, output,
                                                                  tmp_path):
    output = output.format(claims=setup / "claims", root=setup)
    before = _digest(setup)
    for flags in ([], ["--overwrite"], ["--overwrite", "--format", "parquet"]):
        status, out, err = run(["predict", setup / "fit.json", setup / "claims",
                                "--output", output, *flags], capsys)
        line = _one_error_line(err)
        assert status == 1 and out == ""
        assert "--output" in line and "the input" in line
    assert _digest(setup) == before


def test_fit_save_onto_its_data_is_refused(setup, capsys):
    before = _digest(setup / "claims.csv")
    status, _, err = run(["fit", SMALL, setup / "claims.csv", "--family", "poisson",
                          "--save", setup / "claims.csv", "--overwrite"], capsys)
    assert status == 1 and "--save" in _one_error_line(err)
    assert _digest(setup / "claims.csv") == before
    status, _, err = run(["predict", setup / "fit.json", setup / "claims" / "*.parquet",
                          "--output", setup / "claims" / "part-0.parquet", "--overwrite"],
                         capsys)
    assert status == 1 and "is the input" in _one_error_line(err)


def test_one_overwrite_rule_for_fit_and_predict(setup, tmp_path, capsys):
    fit_path, out = tmp_path / "fit.json", tmp_path / "out.parquet"
    fit_path.write_text("keep me")
    out.mkdir()
    (out / "part.0.parquet").write_bytes(b"old")
    commands = [["fit", SMALL, setup / "claims", "--family", "poisson", "--save", fit_path],
                ["predict", setup / "fit.json", setup / "new.parquet", "--output", out]]
    for argv in commands:                     # both refuse without --overwrite
        status, out_text, err = run(argv, capsys)
        assert status == 1 and out_text == "" and "pass --overwrite" in _one_error_line(err)
    assert fit_path.read_text() == "keep me" and (out / "part.0.parquet").read_bytes() == b"old"
    for argv in commands:                     # and replace with it
        status, _, err = run([*argv, "--overwrite"], capsys)
        assert status == 0, err
    assert load_fit(fit_path).exog_names == load_fit(setup / "fit.json").exog_names
    assert len(pd.read_parquet(out)) == 200
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # nothing staged left


def test_overwrite_replaces_only_like_for_like(setup, tmp_path, capsys):
    a_file = tmp_path / "predicted.parquet"
    a_file.write_text("a file, not a parquet folder")
    a_folder = tmp_path / "fit.json"
    a_folder.mkdir()
    csv_folder = tmp_path / "predicted.csv"
    csv_folder.mkdir()
    mixed = tmp_path / "mixed.parquet"
    mixed.mkdir()
    (mixed / "notes.txt").write_text("mine")
    cases = [
        (["predict", setup / "fit.json", setup / "new.parquet", "--output", a_file], "a file"),
        (["predict", setup / "fit.json", setup / "new.parquet", "--output", csv_folder],
         "a folder"),
        (["fit", SMALL, setup / "claims", "--family", "poisson", "--save", a_folder],
         "a folder"),
        (["predict", setup / "fit.json", setup / "new.parquet", "--output", mixed],
         "more than a parquet output"),
    ]
    before = _digest(tmp_path)
    for argv, message in cases:
        status, _, err = run([*argv, "--overwrite"], capsys)
        assert status == 1 and message in _one_error_line(err)
    assert _digest(tmp_path) == before


@pytest.mark.parametrize("interruption", [OSError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_write_leaves_the_old_output(tmp_path, interruption):
    for kind in ("file", "folder"):
        target = tmp_path / f"{kind}-output"
        if kind == "file":
            target.write_text("old")
        else:
            target.mkdir()
            (target / "part.0.parquet").write_text("old")
        before = _digest(target)

        def write_half(staging, kind=kind):
            if kind == "file":
                staging.write_text("half")
            else:
                staging.mkdir()
                (staging / "part.0.parquet").write_text("half")
            raise interruption

        with pytest.raises(type(interruption)):
            replace_output(target, write_half)
        assert _digest(target) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_format_follows_the_suffix_or_format(setup, tmp_path, capsys):
    expected = load_fit(setup / "fit.json").predict(pd.read_parquet(setup / "new.parquet"))
    for name, extra in (("p.csv", []), ("p.tsv", []), ("plain", []), ("q.csv", ["--format", "csv"]),
                        ("p.parquet", ["--format", "parquet"])):
        out = tmp_path / name
        status, _, err = run(["predict", setup / "fit.json", setup / "new.parquet",
                              "--output", out, "--keep", "policy", *extra], capsys)
        assert status == 0, err
        if name.endswith((".csv", ".tsv")):
            assert out.is_file()
            written = pd.read_csv(out, sep="\t" if name.endswith(".tsv") else ",")
        else:
            assert out.is_dir()
            written = pd.read_parquet(out)
        assert list(written.columns) == ["policy", "predicted"]
        np.testing.assert_allclose(written["predicted"], expected, rtol=1e-12)
    for name, extra, message in (("p.txt", [], "cannot tell the format"),
                                 ("p.csv", ["--format", "parquet"], "contradicts")):
        status, _, err = run(["predict", setup / "fit.json", setup / "new.parquet",
                              "--output", tmp_path / name, *extra], capsys)
        assert status == 1 and message in _one_error_line(err)
    assert not (tmp_path / "p.txt").exists()


def test_fit_format_and_the_deprecated_output_spelling(setup, capsys):
    argv = ["fit", SMALL, setup / "claims", "--family", "poisson"]
    status, new_out, err = run([*argv, "--format", "json"], capsys)
    assert status == 0 and err == ""
    status, old_out, err = run([*argv, "--output", "json"], capsys)
    assert status == 0
    assert json.loads(old_out)["params"] == json.loads(new_out)["params"]
    assert err.strip().splitlines() == [
        "daskglm: warning: FutureWarning: 'fit --output json' is deprecated: use "
        "'--format json' (--output names a file in 'predict')"]
    status, _, err = run([*argv, "--output", "json", "--format", "text"], capsys)
    assert status == 1 and "contradicts" in _one_error_line(err)


def test_keep_takes_one_column_and_leaves_the_positionals(setup, tmp_path, capsys):
    out = tmp_path / "kept.parquet"
    status, _, err = run(["predict", "--keep", "policy", setup / "fit.json",
                          setup / "new.parquet", "--keep", "age", "--output", out], capsys)
    assert status == 0, err
    assert list(pd.read_parquet(out).columns) == ["policy", "age", "predicted"]
    with pytest.raises(SystemExit) as exit_info:      # the old 'nargs=+' spelling
        main(["predict", str(setup / "fit.json"), str(setup / "new.parquet"), "--output",
              str(tmp_path / "x.parquet"), "--keep", "policy", "age"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: age" in capsys.readouterr().err


def test_python_in_a_formula_is_refused_unless_allowed(setup, tmp_path, capsys):
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    status, out, err = run(["fit", f"{code} + claims ~ age", setup / "claims"], capsys)
    line = _one_error_line(err)
    assert status == 1 and out == "" and "--allow-python-formula" in line
    assert not marker.exists()
    allowed = "claims ~ log(age) + np.sqrt(age) + I(age ** 2 / 100) + C(vehicle, Sum)"
    status, _, err = run(["fit", allowed, setup / "claims", "--family", "poisson"], capsys)
    assert status == 0, err
    status, _, err = run(["fit", "claims ~ np.power(age, 2)", setup / "claims",
                          "--family", "poisson"], capsys)
    assert status == 1 and "'np.power'" in _one_error_line(err)
    status, _, err = run(["fit", "claims ~ np.power(age, 2)", setup / "claims",
                          "--family", "poisson", "--allow-python-formula"], capsys)
    assert status == 0, err


def test_predict_refuses_a_saved_formula_that_is_code(setup, tmp_path, capsys):
    marker = tmp_path / "ran"
    text = (setup / "fit.json").read_text()
    evil = text.replace('"formula": "claims ~ age + C(vehicle)"',
                        f'"formula": "claims ~ age + C(vehicle) + '
                        f'__import__(\'pathlib\').Path(\'{marker}\').touch()"')
    assert evil != text
    (tmp_path / "evil.json").write_text(evil)
    status, _, err = run(["predict", tmp_path / "evil.json", setup / "new.parquet",
                          "--output", tmp_path / "o.parquet"], capsys)
    line = _one_error_line(err)
    assert status == 1 and "evil.json" in line and "allow-python-formula" in line
    assert not marker.exists() and not (tmp_path / "o.parquet").exists()


def test_header_only_csv_says_there_are_no_rows(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("claims,age\n")
    (tmp_path / "blank.csv").write_text("")
    for name in ("empty.csv", "blank.csv"):
        status, _, err = run(["fit", "claims ~ age", tmp_path / name], capsys)
        assert status == 1 and "has no rows" in _one_error_line(err)
    pd.DataFrame({"claims": pd.Series([], dtype=float), "age": pd.Series([], dtype=float)}
                 ).to_parquet(tmp_path / "empty.parquet")
    status, _, err = run(["fit", "claims ~ age", tmp_path / "empty.parquet"], capsys)
    assert status == 1 and "has no rows" in _one_error_line(err)


def test_check_output_path_names_the_option(tmp_path):
    with pytest.raises(FileNotFoundError, match="--save .* does not exist"):
        check_output_path(tmp_path / "no" / "fit.json", "file", "--save")


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_with_workers_exits_130_with_one_line(tmp_path):
    """Ctrl-C reaches every process of the command (a terminal signals the whole
    process group): the command says so once and exits 130."""
    folder = tmp_path / "claims"
    folder.mkdir()
    for index in range(2):
        _claims(50_000, seed=index).to_parquet(folder / f"p{index}.parquet", index=False)
    stderr_path = tmp_path / "stderr.txt"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "daskglm.cli", "fit", FORMULA_LONG, str(folder),
             "--family", "poisson", "--workers", "2", "--progress", "--max-iter", "1000000",
             "--tol", "1e-300"], stdout=subprocess.DEVNULL, stderr=stderr, env=env,
            start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while b"daskglm newton" not in stderr_path.read_bytes():   # the fit has begun
                assert process.poll() is None, stderr_path.read_text()
                assert time.monotonic() < deadline, "the fit did not start"
                time.sleep(0.2)
            os.killpg(process.pid, signal.SIGINT)
            status = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    err = stderr_path.read_text()
    assert status == 130, err
    lines = [line for line in err.replace("\r", "\n").splitlines()
             if line.strip() and not line.startswith("daskglm newton")]
    assert lines == ["daskglm: interrupted"], err
    assert "Traceback" not in err and "AllExit" not in err


_INTERRUPT_AT_CLUSTER_START = """
import os, signal, sys

import distributed


class InterruptedAtStart(distributed.LocalCluster):
    def __init__(self, *args, **kwargs):
        os.killpg(0, signal.SIGINT)        # Ctrl-C reaches the whole process group
        super().__init__(*args, **kwargs)


distributed.LocalCluster = InterruptedAtStart

if __name__ == "__main__":
    from daskglm.cli import main

    sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_while_the_cluster_starts_is_not_lost(tmp_path):
    """A Ctrl-C while the local cluster starts (when the workers must not see
    it) used to be dropped by a thread of the cluster's, and the fit ran on."""
    data = tmp_path / "claims.parquet"
    _claims(2_000, seed=0).to_parquet(data, index=False)
    script = tmp_path / "interrupt_at_start.py"
    script.write_text(_INTERRUPT_AT_CLUSTER_START)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    process = subprocess.Popen(
        [sys.executable, str(script), "fit", "claims ~ age", str(data), "--family",
         "poisson", "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, start_new_session=True)
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    err = err.decode()
    assert process.returncode == 130, err
    assert [line for line in err.splitlines() if line.strip()] == ["daskglm: interrupted"], err
    assert out == b""


FORMULA_LONG = "claims ~ age + C(region) + C(vehicle)"
