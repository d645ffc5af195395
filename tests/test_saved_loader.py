"""A saved fit is input: the loader refuses what is wrong with it, naming the file,
and a seeded fuzz of the loader and of the command line's options never ends in
a traceback."""

import copy
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import daskglm
from daskglm.cli.main import main
from daskglm.frontend.formula_safety import UnsafeFormulaError
from daskglm.frontend.saved import fit_document, load_fit

FORMULA = "y ~ x + center(z) + C(g, Treatment('b')) + h"


def _frame(n, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.uniform(1, 3, n),
                          "g": rng.choice(["a", "b", "c"], n),
                          "h": pd.Categorical(rng.choice(["u", "v"], n))})
    frame["y"] = rng.poisson(np.exp(0.2 + 0.3 * frame["x"])).astype(float)
    return frame


@pytest.fixture(scope="module")
def document():
    return fit_document(daskglm.glm(FORMULA, _frame(600, seed=0), family="poisson").fit())


def _write(tmp_path, content, name="fit.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _refused(path, match):
    with pytest.raises(ValueError, match=match) as info:
        load_fit(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_a_valid_document_loads(document, tmp_path):
    loaded = load_fit(_write(tmp_path, document))
    assert loaded.exog_names == document["exog_names"]
    assert np.isfinite(loaded.params).all()


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_refused(document, tmp_path, value):
    text = json.dumps(document).replace(json.dumps(document["params"]["x"]), value, 1)
    _refused(_write(tmp_path, text), f"holds {value}, which is not JSON")


def test_null_or_non_number_params_are_refused(document, tmp_path):
    for bad in (None, "0.3", True, [1.0], 10 ** 400):
        changed = copy.deepcopy(document)
        changed["params"]["x"] = bad
        _refused(_write(tmp_path, changed), "params")


def test_unknown_version_and_format(document, tmp_path):
    for version, match in ((2, "format version 2"), (0, "invalid format version"),
                           ("1", "invalid format version"), (True, "invalid format version")):
        _refused(_write(tmp_path, {**document, "version": version}), match)


def test_mismatched_lengths_are_refused(document, tmp_path):
    extra = copy.deepcopy(document)
    extra["bse"]["surplus"] = 1.0
    _refused(_write(tmp_path, extra), "has 7 values for 6 coefficients")
    short = copy.deepcopy(document)
    short["cov_params"] = short["cov_params"][:-1]
    _refused(_write(tmp_path, short), "cov_params is not 6 x 6")
    ragged = copy.deepcopy(document)
    ragged["cov_params"][0] = ragged["cov_params"][0][:2]
    _refused(_write(tmp_path, ragged), "cov_params is not 6 x 6")
    names = copy.deepcopy(document)
    names["exog_names"] = names["exog_names"] + names["exog_names"][:1]
    _refused(_write(tmp_path, names), "twice")


def test_truncated_files_are_refused(document, tmp_path):
    text = json.dumps(document, indent=1)
    for cut in (1, len(text) // 3, len(text) // 2, len(text) - 2):
        message = _refused(_write(tmp_path, text[:cut]), "not JSON")
        assert "truncated" in message
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    _refused(path, "not UTF-8")


def test_level_lists_larger_than_the_fit_are_refused(document, tmp_path):
    """A few kilobytes of levels would make patsy build a levels x levels contrast."""
    huge = copy.deepcopy(document)
    huge["design"]["factors"]["C(g, Treatment('b'))"]["levels"] = \
        [f"L{i}" for i in range(200_000)]
    message = _refused(_write(tmp_path, huge), "200,000 levels")
    assert "only 6 coefficients" in message and len(message) < 500
    for bad_levels, match in (([["a"], "b"], "not a string"), (["a", "a", "b"], "twice"),
                              ("abc", "wrong type")):
        changed = copy.deepcopy(document)
        changed["design"]["factors"]["C(g, Treatment('b'))"]["levels"] = bad_levels
        _refused(_write(tmp_path, changed), match)
    categories = copy.deepcopy(document)
    categories["design"]["columns"]["h"]["categories"] = [{"a": 1}]
    _refused(_write(tmp_path, categories), "not a string")


def test_long_lists_in_messages_are_capped(document, tmp_path):
    names = [f"column_{i}" * 5 for i in range(4_000)]
    changed = copy.deepcopy(document)
    changed["exog_names"] = names
    message = _refused(_write(tmp_path, changed), "lacks")
    assert "and 3,995 more" in message and len(message) < 1_000


def test_safe_loading_refuses_code_before_evaluating_it(document, tmp_path):
    marker = tmp_path / "ran"
    changed = copy.deepcopy(document)
    changed["formula"] = (f"y ~ x + center(z) + C(g, Treatment('b')) + h + "
                          f"__import__('pathlib').Path({str(marker)!r}).touch()")
    path = _write(tmp_path, changed)
    with pytest.raises(UnsafeFormulaError, match="is refused") as info:
        load_fit(path, safe=True)
    assert str(path) in str(info.value) and not marker.exists()


# -- fuzz ------------------------------------------------------------------------
_JSON_VALUES = [None, True, False, 0, -1, 7, 1e308, 10 ** 400, -0.5, "", "x", "category",
                "numerical", "float64", [], [1], ["a", 1], [[1, 2]], {}, {"a": 1},
                {"kind": "categorical"}, "daskglm.transforms.center", "numpy"]


def _paths(value, prefix=()):
    """Every (path of keys/indices) inside a JSON value."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from _paths(item, (*prefix, index))


def _mutate(document, rng):
    """A copy of ``document`` with one seeded change to its structure."""
    changed = copy.deepcopy(document)
    paths = [p for p in _paths(changed) if p]
    path = paths[rng.integers(len(paths))]
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    action = rng.integers(3)
    if action == 0 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == 1 and isinstance(parent[path[-1]], list) and parent[path[-1]]:
        parent[path[-1]] = parent[path[-1]] * int(rng.integers(2, 4))
    else:
        parent[path[-1]] = copy.deepcopy(_JSON_VALUES[rng.integers(len(_JSON_VALUES))])
    return changed


def _mangle_text(text, rng):
    """The document's text truncated, with a byte changed, or with a bare literal spliced in."""
    position = int(rng.integers(1, len(text)))
    kind = rng.integers(3)
    if kind == 0:
        return text[:position]
    if kind == 1:
        return text[:position] + chr(int(rng.integers(32, 127))) + text[position + 1:]
    return text[:position] + ["NaN", "[[[[", "}", "1e999"][rng.integers(4)] + text[position:]


def test_fuzzed_saved_fits_give_clear_errors_only(document, tmp_path):
    rng = np.random.default_rng(20261202)
    new = _frame(30, seed=1)
    text = json.dumps(document, indent=1)
    outcomes = {"loaded": 0, "refused": 0}
    for case in range(300):
        path = tmp_path / f"case-{case}.json"
        if case % 3 == 2:
            path.write_text(_mangle_text(text, rng))
        else:
            path.write_text(json.dumps(_mutate(document, rng)))
        try:
            loaded = load_fit(path)
        except ValueError as error:
            message = str(error)
            assert str(path) in message and len(message) < 2_000, (case, message)
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        assert np.isfinite(loaded.params).all()
        try:
            predicted = loaded.predict(new)
        except ValueError as error:                     # e.g. a changed level set
            assert len(str(error)) < 2_000
        else:
            assert len(predicted) == len(new)
    assert outcomes["refused"] > 150 and outcomes["loaded"] > 10, outcomes


def _digest(folder):
    digest = hashlib.sha256()
    for file in sorted(Path(folder).rglob("*")):
        digest.update(str(file).encode() + (file.read_bytes() if file.is_file() else b""))
    return digest.hexdigest()


def test_fuzzed_command_lines_never_end_in_a_traceback(document, tmp_path, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    _frame(80, seed=2).to_csv(inputs / "data.csv", index=False)
    _write(inputs, document, "fit.json")
    before = _digest(inputs)
    out = tmp_path / "out"
    out.mkdir()
    values = {
        "formula": ["y ~ x", FORMULA, "y ~ x +", "y ~ open('f')", "", "y ~ C(g, Sum)",
                    "g ~ x", "y ~ nope"],
        "data": [inputs / "data.csv", inputs / "absent.csv", inputs, inputs / "*.csv",
                 inputs / "fit.json"],
        "--family": ["poisson", "gaussian", "binomial", "gamma", "POISSON", "bogus"],
        "--link": ["log", "identity", "logit", "bogus"],
        "--method": ["newton", "lbfgs", "bogus"],
        "--cov-type": ["HC0", "hc1", "cluster", "bogus"],
        "--groups": ["g", "nope"],
        "--penalty": ["l1", "l2", "elastic_net", "bogus"],
        "--alpha": ["0.1", "-1", "nan", "x"],
        "--l1-ratio": ["0.5", "2", "x"],
        "--max-iter": ["0", "3", "-1", "x"],
        "--tol": ["1e-6", "0", "inf", "nan"],
        "--option": ["rho=2", "=3", "x", "step=[1"],
        "--format": ["text", "json", "csv", "bogus"],
        "--output": [out / "p.parquet", out / "p.csv", out / "p.txt", inputs, "json",
                     inputs / "data.csv"],
        "--save": [out / "fit.json", inputs / "fit.json", inputs / "data.csv", out],
        "--which": ["mean", "linear", "bogus"],
        "--keep": ["x", "nope", "predicted"],
        "--offset": ["x", "nope"], "--exposure": ["z", "nope"],
        "--missing": ["drop", "raise", "bogus"],
    }
    flags = ["--overwrite", "--allow-python-formula", "--progress"]
    rng = np.random.default_rng(7)
    statuses = []
    for _ in range(150):
        command = ["fit", "predict", "bogus"][rng.choice(3, p=[0.55, 0.4, 0.05])]
        first = rng.choice(values["formula"]) if command == "fit" else \
            rng.choice([inputs / "fit.json", inputs / "data.csv", out / "none.json"])
        argv = [command, str(first), str(rng.choice(values["data"]))]
        for option in rng.choice(list(values), size=int(rng.integers(0, 4)), replace=False):
            if option not in ("formula", "data"):
                argv += [option, str(rng.choice(values[option]))]
        argv += [flag for flag in flags if rng.random() < 0.2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                status = main(argv)
            except SystemExit as exit_info:           # argparse: usage and status 2
                status = exit_info.code
        err = capsys.readouterr().err
        assert status in (0, 1, 2), (argv, status, err)
        assert "Traceback" not in err, (argv, err)
        if status == 1:
            lines = [line for line in err.replace("\r", "\n").splitlines()
                     if line.startswith("daskglm: error: ")]
            assert len(lines) == 1 and len(lines[0]) < 2_000, (argv, err)
        statuses.append(status)
    assert _digest(inputs) == before                  # no combination touched an input
    assert {0, 1, 2} <= set(statuses), statuses
