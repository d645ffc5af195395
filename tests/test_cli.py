"""The daskglm command line, run in-process through ``main`` (and once as the console
script): fits equal the Python API's, saved fits predict, bad input gives one line."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import daskglm
from daskglm.cli.io import read_data
from daskglm.cli.main import main
from daskglm.frontend.saved import load_fit

FORMULA = "claims ~ age + C(region) + C(vehicle)"
REPO = Path(daskglm.__file__).resolve().parent.parent


def _claims(n, seed):
    rng = np.random.default_rng(seed)
    region = rng.choice(["east", "north", "south", "west"], n)
    vehicle = rng.choice(["car", "suv", "van"], n, p=[0.6, 0.25, 0.15])
    age = rng.integers(18, 86, n)
    years = rng.uniform(0.1, 1.0, n).round(3)
    eta = (-1.5 - 0.01 * age + 0.3 * (region == "north") - 0.2 * (region == "west")
           + 0.4 * (vehicle == "van") + np.log(years))
    return pd.DataFrame({"age": age, "region": region, "vehicle": vehicle, "years": years,
                         "claims": rng.poisson(np.exp(eta)), "policy": np.arange(n) + 1000 * seed})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    folder = root / "claims"
    folder.mkdir()
    for index in range(3):
        _claims(3_000, seed=index).to_parquet(folder / f"part-{index}.parquet", index=False)
    pd.concat([_claims(3_000, seed=i) for i in range(3)]).to_csv(root / "claims.csv", index=False)
    _claims(400, seed=9).to_parquet(root / "new.parquet", index=False)
    (root / "notes.json").write_text("{}")
    return root


def run(argv, capsys):
    """``(exit status, stdout, stderr)`` of ``daskglm argv`` in this process, with
    Python's default warning filters of a command (pytest shows libraries'
    deprecation warnings, such as dask's use of pandas' ``inplace``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _python_fit(folder, **options):
    model = daskglm.glm(FORMULA, dd.read_parquet(folder), family=daskglm.Poisson(),
                        exposure="years")
    penalty = options.pop("penalty", None)
    return model.fit_regularized(penalty, **options) if penalty else model.fit(**options)


def test_fit_json_matches_the_python_api(data, capsys):
    status, out, err = run(["fit", FORMULA, data / "claims", "--family", "poisson",
                            "--exposure", "years", "--cov-type", "HC1", "--format", "json"],
                           capsys)
    assert status == 0 and err == ""
    document = json.loads(out)
    expected = _python_fit(data / "claims", cov_type="HC1")
    assert document["exog_names"] == list(expected.params.index)
    for key in ("params", "bse", "pvalues"):
        got = pd.Series(document[key])[expected.params.index]
        np.testing.assert_allclose(got, getattr(expected, key), rtol=1e-12)
    assert document["cov_type"] == "HC1"
    assert document["statistics"]["nobs"] == 9_000
    np.testing.assert_allclose(document["statistics"]["llf"], expected.llf, rtol=1e-12)
    assert document["convergence"]["converged"] is True
    assert document["convergence"]["solver"] == "newton"


def test_csv_and_glob_give_the_parquet_fit(data, capsys):
    expected = _python_fit(data / "claims").params
    for source in (data / "claims.csv", data / "claims" / "*.parquet"):
        status, out, _ = run(["fit", FORMULA, source, "--family", "poisson",
                              "--exposure", "years", "--format", "json"], capsys)
        assert status == 0
        got = pd.Series(json.loads(out)["params"])[expected.index]
        np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_text_html_latex_summaries(data, capsys):
    outputs = {}
    for output in ("text", "html", "latex"):
        status, out, err = run(["fit", "claims ~ age + C(vehicle)", data / "claims",
                                "--family", "poisson", "--format", output], capsys)
        assert status == 0 and err == ""
        outputs[output] = out
    assert "Generalized Linear Model Regression Results" in outputs["text"]
    assert "C(vehicle)[T.van]" in outputs["text"]
    assert "<table" in outputs["html"] and "C(vehicle)[T.van]" in outputs["html"]
    assert "\\begin{tabular}" in outputs["latex"] and "Poisson" in outputs["latex"]


def test_save_and_predict_round_trip(data, tmp_path, capsys):
    fit_path = tmp_path / "fit.json"
    status, _, _ = run(["fit", FORMULA, data / "claims", "--family", "poisson",
                        "--exposure", "years", "--save", fit_path], capsys)
    assert status == 0
    expected_fit = _python_fit(data / "claims")
    new = pd.read_parquet(data / "new.parquet")
    for which in ("mean", "linear"):
        out = tmp_path / f"predicted-{which}.parquet"
        status, stdout, err = run(["predict", fit_path, data / "new.parquet", "--output", out,
                                   "--which", which, "--exposure", "years",
                                   "--keep", "policy"], capsys)
        assert status == 0 and stdout == "" and err == ""
        written = pd.read_parquet(out)
        assert list(written.columns) == ["policy", "predicted"]
        np.testing.assert_array_equal(written["policy"], new["policy"])
        expected = expected_fit.predict(new, which=which, exposure="years")
        np.testing.assert_allclose(written["predicted"], expected, rtol=1e-12)
        np.testing.assert_array_equal(
            written["predicted"],
            load_fit(fit_path).predict(new, which=which, exposure="years"))
    status, _, err = run(["predict", fit_path, data / "new.parquet", "--output", out], capsys)
    assert status == 1 and "--overwrite" in err
    status, _, _ = run(["predict", fit_path, data / "new.parquet", "--output", out,
                        "--overwrite"], capsys)
    assert status == 0
    np.testing.assert_allclose(pd.read_parquet(out)["predicted"],
                               expected_fit.predict(new), rtol=1e-12)


def test_predict_with_standard_errors_and_intervals_matches_statsmodels(data, tmp_path, capsys):
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from daskglm.frontend.saved import save_results

    fit_path = tmp_path / "fit.json"
    status, _, _ = run(["fit", FORMULA, data / "claims", "--family", "poisson",
                        "--exposure", "years", "--save", fit_path, "--tol", "1e-10"], capsys)
    assert status == 0
    training = pd.concat([_claims(3_000, seed=i) for i in range(3)], ignore_index=True)
    theirs = smf.glm(FORMULA, training, family=sm.families.Poisson(),
                     exposure=training["years"]).fit(tol=1e-12)
    new = pd.read_parquet(data / "new.parquet")
    out = tmp_path / "intervals.parquet"
    status, stdout, err = run(["predict", fit_path, data / "new.parquet", "--output", out,
                               "--exposure", "years", "--se", "--ci", "0.9", "--keep", "policy"],
                              capsys)
    assert status == 0 and stdout == "" and err == ""
    written = pd.read_parquet(out)
    assert list(written.columns) == ["policy", "predicted", "mean_se", "mean_ci_lower",
                                     "mean_ci_upper"]
    expected = theirs.get_prediction(new, exposure=new["years"]).summary_frame(alpha=0.1)
    np.testing.assert_allclose(written.iloc[:, 1:], expected, rtol=1e-6)
    # the linear predictor's interval alone, statsmodels' names for it
    status, _, _ = run(["predict", fit_path, data / "new.parquet", "--output", out,
                        "--overwrite", "--exposure", "years", "--which", "linear", "--ci",
                        "0.95"], capsys)
    assert status == 0
    written = pd.read_parquet(out)
    assert list(written.columns) == ["predicted", "ci_lower", "ci_upper"]
    expected = theirs.get_prediction(new, exposure=new["years"], which="linear").summary_frame()
    np.testing.assert_allclose(written, expected[["predicted", "ci_lower", "ci_upper"]],
                               rtol=1e-6)
    # a fit saved without its covariance says so
    bare = tmp_path / "bare.json"
    save_results(_python_fit(data / "claims"), bare, cov_params=False)
    status, _, err = run(["predict", bare, data / "new.parquet", "--output",
                          tmp_path / "bare.parquet", "--exposure", "years", "--se"], capsys)
    assert status == 1 and "holds no covariance matrix" in err
    status, _, err = run(["predict", fit_path, data / "new.parquet", "--output", out,
                          "--overwrite", "--se", "--keep", "mean_se"], capsys)
    assert status == 1 and "'mean_se'" in err


@pytest.mark.parametrize("options, penalty", [
    (["--penalty", "l1", "--alpha", "0.002", "--l1-ratio", "1"], daskglm.L1(0.002)),
    (["--penalty", "elastic_net", "--alpha", "0.003", "--l1-ratio", "0.4",
      "--method", "proximal_grad", "--tol", "1e-9", "--max-iter", "5000"],
     daskglm.ElasticNet(0.003, 0.4)),
])
def test_penalized_fit_matches_the_python_api(data, capsys, options, penalty):
    status, out, err = run(["fit", FORMULA, data / "claims", "--family", "poisson",
                            "--exposure", "years", "--format", "json", *options], capsys)
    assert status == 0, err
    document = json.loads(out)
    method = "proximal_grad" if "proximal_grad" in options else "newton"
    tol, max_iter = (1e-9, 5000) if method == "proximal_grad" else (1e-8, 100)
    expected = _python_fit(data / "claims", penalty=penalty, method=method, tol=tol,
                           max_iter=max_iter)
    got = pd.Series(document["params"])[expected.params.index]
    np.testing.assert_allclose(got, expected.params, rtol=1e-12)
    assert document["penalty"] == {"alpha": penalty.alpha, "l1_ratio": penalty.l1_ratio}
    assert all(value is None for value in document["bse"].values())


def test_cluster_covariance_matches_the_python_api(data, capsys):
    status, out, err = run(["fit", FORMULA, data / "claims", "--family", "poisson",
                            "--exposure", "years", "--cov-type", "cluster", "--groups", "region",
                            "--format", "json"], capsys)
    assert status == 0, err
    frame = pd.read_parquet(data / "claims")
    expected = daskglm.glm(FORMULA, frame, family="poisson", exposure="years").fit(
        cov_type="cluster", cov_kwds={"groups": frame["region"].to_numpy()})
    got = pd.Series(json.loads(out)["bse"])[expected.params.index]
    np.testing.assert_allclose(got, expected.bse, rtol=1e-10)


def test_workers_run_a_local_cluster(data, tmp_path, capsys):
    fit_path, out = tmp_path / "fit.json", tmp_path / "predicted.parquet"
    status, _, err = run(["fit", "claims ~ age + C(vehicle)", data / "claims", "--family",
                          "poisson", "--save", fit_path, "--workers", "1"], capsys)
    assert status == 0, err
    status, _, err = run(["predict", fit_path, data / "new.parquet", "--output", out], capsys)
    assert status == 0, err
    new = pd.read_parquet(data / "new.parquet")
    expected = daskglm.glm("claims ~ age + C(vehicle)", dd.read_parquet(data / "claims"),
                           family="poisson").fit().predict(new)
    np.testing.assert_allclose(pd.read_parquet(out)["predicted"], expected, rtol=1e-10)


def test_progress_bar_only_when_asked(data, capsys):
    argv = ["fit", "claims ~ age + C(vehicle)", data / "claims", "--family", "poisson"]
    status, _, err = run(argv, capsys)
    assert status == 0 and err == ""
    status, _, err = run([*argv, "--progress"], capsys)
    assert status == 0
    assert "daskglm newton" in err and "objective=" in err and "kkt_norm=" in err
    assert "newton converged in" in err


def test_model_fit_progress_is_silent_when_off(data, capsys):
    model = daskglm.glm("claims ~ age + C(vehicle)", dd.read_parquet(data / "claims"),
                        family="poisson")
    model.fit()
    assert capsys.readouterr() == ("", "")
    result = model.fit(progress=True)
    err = capsys.readouterr().err
    assert "daskglm newton" in err and "objective=" in err
    assert f"{len(result.solver_result.history)}/100" in err


def test_non_convergence_is_a_one_line_warning(data, capsys):
    status, out, err = run(["fit", FORMULA, data / "claims", "--family", "poisson",
                            "--max-iter", "2"], capsys)
    assert status == 0
    assert err.strip().splitlines() == [
        "daskglm: warning: ConvergenceWarning: newton did not converge: reached max_iter=2"]
    assert "did not converge" in out


def test_scheduler_address_runs_on_the_cluster(data, capsys, cluster_client):
    address = cluster_client.scheduler.address
    status, out, err = run(["fit", FORMULA, data / "claims", "--family", "poisson",
                            "--exposure", "years", "--format", "json", "--scheduler", address],
                           capsys)
    assert status == 0, err
    expected = _python_fit(data / "claims").params
    np.testing.assert_allclose(pd.Series(json.loads(out)["params"])[expected.index], expected,
                               rtol=1e-10)


BAD_FIT_ARGUMENTS = [
    (["claims ~ agex", "{claims}"], "'agex'"),
    (["claims ~ age", "{root}/absent"], "does not exist"),
    (["claims ~ age", "{root}/claims/*.csv"], "no file matches"),
    (["claims ~ age", "{root}/notes.json"], "cannot tell the format"),
    (["claims ~ age", "{claims}", "--exposure", "nope"], "exposure='nope'"),
    (["claims ~ age", "{claims}", "--penalty", "l1"], "needs --alpha"),
    (["claims ~ age", "{claims}", "--alpha", "0.1"], "need --penalty"),
    (["claims ~ age", "{claims}", "--penalty", "l1", "--alpha", "0.1", "--l1-ratio", "0.5"],
     "elastic_net"),
    (["claims ~ age", "{claims}", "--penalty", "l2", "--alpha", "-1"], "alpha must be"),
    (["claims ~ age", "{claims}", "--cov-type", "cluster"], "needs --groups"),
    (["claims ~ age", "{claims}", "--option", "rho=2"], "unexpected keyword argument 'rho'"),
    (["claims ~ age + C(region", "{claims}"], "unclosed bracket"),
    (["region ~ age", "{claims}"], "must be one numeric column"),
    (["claims ~ age", "{claims}", "--family", "binomial"], "outside the Binomial family"),
    (["claims ~ age", "{claims}", "--save", "{root}/no/such/folder/fit.json"],
     "does not exist"),
]


@pytest.mark.parametrize("arguments, message", BAD_FIT_ARGUMENTS)
def test_bad_fit_input_is_one_line(data, capsys, arguments, message):
    argv = ["fit", *[a.format(root=data, claims=data / "claims") for a in arguments]]
    if "--family" not in arguments:
        argv += ["--family", "poisson"]
    status, out, err = run(argv, capsys)
    assert status == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("daskglm: error: "), err
    assert message in lines[0] and "Traceback" not in err


def test_bad_predict_input_is_one_line(data, tmp_path, capsys):
    not_a_fit = tmp_path / "fit.json"
    not_a_fit.write_text('{"something": 1}')
    cases = [
        (["predict", not_a_fit, data / "new.parquet", "--output", tmp_path / "o.parquet"],
         "not a daskglm saved fit"),
        (["predict", tmp_path / "absent.json", data / "new.parquet", "--output",
          tmp_path / "o.parquet"], "absent.json"),
    ]
    status, _, _ = run(["fit", "claims ~ age + C(region)", data / "claims", "--family",
                        "poisson", "--save", tmp_path / "good.json"], capsys)
    assert status == 0
    new = pd.read_parquet(data / "new.parquet")
    new.loc[0, "region"] = "atlantis"
    new.to_parquet(tmp_path / "unseen.parquet")
    cases += [
        (["predict", tmp_path / "good.json", tmp_path / "unseen.parquet", "--output",
          tmp_path / "o.parquet"], "atlantis"),
        (["predict", tmp_path / "good.json", data / "new.parquet", "--output",
          tmp_path / "o.parquet", "--keep", "nope"], "no column(s) ['nope']"),
    ]
    for argv, message in cases:
        status, out, err = run(argv, capsys)
        lines = err.strip().splitlines()
        assert status == 1 and out == "" and len(lines) == 1, err
        assert lines[0].startswith("daskglm: error: ") and message in lines[0]


def test_argparse_errors_exit_2(capsys):
    for argv in ([], ["fit"], ["fit", "y ~ x", "d.parquet", "--family", "weibull"],
                 ["fit", "y ~ x", "d.parquet", "--workers", "0"],
                 ["fit", "y ~ x", "d.parquet", "--workers", "2", "--scheduler", "tcp://x:1"],
                 ["predict", "fit.json", "d.parquet"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err


def test_read_data_sources(data, tmp_path):
    assert read_data(data / "claims").npartitions == 3
    assert len(read_data(data / "claims" / "part-1.parquet")) == 3_000
    assert len(read_data(data / "claims.csv")) == 9_000
    _claims(50, seed=4).to_csv(tmp_path / "small.tsv.gz", sep="\t", index=False)
    read = read_data(tmp_path / "small.tsv.gz").compute()
    pd.testing.assert_frame_equal(read, _claims(50, seed=4), check_dtype=False)
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "a.csv").write_text("x\n1\n")
    (tmp_path / "mixed" / "b.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match="mixes formats"):
        read_data(tmp_path / "mixed")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no data files"):
        read_data(tmp_path / "empty")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_data(data / "notes.json")


def test_console_script_entry(data):
    script = Path(sys.executable).with_name("daskglm")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "daskglm.cli"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    done = subprocess.run([*command, "fit", "claims ~ age + C(vehicle)", str(data / "claims"),
                           "--family", "poisson", "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["format"] == "daskglm-fit"


# -- families and their parameters, from the family classes -------------------------------

class Tilted(daskglm.Poisson):
    """A Poisson family with parameters that do not change its math: the
    command line must find them in ``param_names`` and the constructor."""

    name = "Tilted"
    param_names = ("alpha", "tilt_scale", "strict")

    def __init__(self, alpha=1.0, tilt_scale=0.0, strict=False, link=None):
        super().__init__(link=link)
        self.alpha, self.tilt_scale, self.strict = alpha, tilt_scale, strict


@pytest.fixture
def tilted_family(monkeypatch):
    from daskglm.math.families import FAMILIES

    monkeypatch.setitem(FAMILIES, "tilted", Tilted)
    return Tilted


def test_family_parameters_come_from_the_family_class(data, capsys, tilted_family):
    argv = ["fit", "claims ~ age + C(vehicle)", data / "claims", "--family", "tilted",
            "--family-alpha", "0.5", "--tilt-scale", "2", "--family-strict", "true",
            "--format", "json"]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    document = json.loads(out)
    assert document["family"]["name"] == "tilted"
    assert document["family"]["params"] == {"alpha": 0.5, "tilt_scale": 2.0, "strict": True}
    expected = daskglm.glm("claims ~ age + C(vehicle)", dd.read_parquet(data / "claims"),
                           family=Tilted(alpha=0.5, tilt_scale=2.0, strict=True)).fit()
    np.testing.assert_allclose(pd.Series(document["params"])[expected.params.index],
                               expected.params, rtol=1e-12)
    # --alpha stays the penalty's: the family's alpha is --family-alpha only
    status, _, err = run(argv[:3] + ["--family", "tilted", "--alpha", "0.5"], capsys)
    assert status == 1 and "need --penalty" in err


@pytest.mark.parametrize("arguments, message", [
    (["--family", "poisson", "--tilt-scale", "2"],
     "--family-tilt-scale does not apply to --family poisson; its parameters: none"),
    (["--family", "poisson", "--link", "logit"], "not allowed for the Poisson family; "
                                                 "allowed links: log, identity, sqrt"),
])
def test_family_options_that_do_not_apply_are_one_line(data, capsys, tilted_family,
                                                          arguments, message):
    status, out, err = run(["fit", "claims ~ age", data / "claims", *arguments], capsys)
    assert status == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("daskglm: error: ") and message in lines[0]


def test_unknown_family_and_link_list_the_choices(capsys):
    from daskglm.math.families import FAMILIES

    for option, value, known in (("--family", "gama", sorted(FAMILIES)[0]),
                                 ("--link", "logitt", "probit")):
        with pytest.raises(SystemExit) as exit_info:
            main(["fit", "y ~ x", "d.parquet", option, value])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert f"invalid choice: '{value}'" in err and known in err


def _new_family(name):
    from daskglm.math.families import FAMILIES

    return pytest.mark.skipif(name not in FAMILIES,
                              reason="family added by issue 17's other branch")


@pytest.mark.parametrize("formula, arguments, family_name, params", [
    pytest.param("years ~ age + C(vehicle)", ["--family", "gamma", "--link", "log"], "gamma",
                 {}, marks=_new_family("gamma"), id="gamma-log"),
    pytest.param("claims ~ age + C(vehicle)", ["--family", "tweedie", "--var-power", "1.5",
                                               "--link", "log"], "tweedie",
                 {"var_power": 1.5}, marks=_new_family("tweedie"), id="tweedie"),
    pytest.param("claims ~ age + C(vehicle)", ["--family", "negativebinomial",
                                               "--family-alpha", "0.5"], "negativebinomial",
                 {"alpha": 0.5}, marks=_new_family("negativebinomial"), id="negativebinomial"),
])
def test_new_families_fit_from_the_command_line(data, capsys, formula, arguments,
                                                family_name, params):
    from daskglm.math.families import FAMILIES

    status, out, err = run(["fit", formula, data / "claims", *arguments, "--format", "json"],
                           capsys)
    assert status == 0, err
    link = arguments[arguments.index("--link") + 1] if "--link" in arguments else None
    family = FAMILIES[family_name](link=link, **params)
    expected = daskglm.glm(formula, dd.read_parquet(data / "claims"), family=family).fit()
    document = json.loads(out)
    np.testing.assert_allclose(pd.Series(document["params"])[expected.params.index],
                               expected.params, rtol=1e-10)
    assert document["family"]["params"] == dict(zip(family.param_names, family.params))
