"""daskglm on a cluster started as a user starts one: a ``dask scheduler``
process and two ``dask worker`` processes, reached by address from the
command line (``--scheduler`` and ``DASK_SCHEDULER_ADDRESS``) and from the
Python API. The coefficients match a fit with dask's threads."""

import json
import os
import signal
import subprocess
import sys
import time

import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest
from real_cluster import ENVIRONMENT, scheduler, wait_for_workers, workers

import daskglm

FORMULA = "y ~ x1 + x2 + C(group)"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("real_cluster") / "data"
    root.mkdir()
    rng = np.random.default_rng(3)
    for part in range(3):
        n = 2_000
        frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                              "group": rng.choice(["a", "b", "c"], n)})
        eta = 0.3 + 0.5 * frame.x1 - 0.4 * frame.x2 + 0.6 * (frame.group == "b")
        frame["y"] = rng.poisson(np.exp(eta))
        frame.to_parquet(root / f"part-{part}.parquet", index=False)
    return root


@pytest.fixture(scope="module")
def address():
    with scheduler() as (address, _), workers(address, 2):
        with distributed.Client(address, timeout="30s", set_as_default=False) as client:
            wait_for_workers(client, 2)
        yield address


@pytest.fixture(scope="module")
def threaded_params(folder):
    model = daskglm.glm(FORMULA, dd.read_parquet(folder), family=daskglm.Poisson())
    return model.fit().params


def _cli_fit(folder, *options, env=ENVIRONMENT):
    done = subprocess.run([sys.executable, "-m", "daskglm.cli", "fit", FORMULA, str(folder),
                           "--family", "poisson", "--format", "json", *options],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return pd.Series(json.loads(done.stdout)["params"])


@pytest.mark.timeout(180)
def test_cli_scheduler_option(folder, address, threaded_params):
    params = _cli_fit(folder, "--scheduler", address)
    np.testing.assert_allclose(params[threaded_params.index], threaded_params, rtol=1e-8)


@pytest.mark.timeout(180)
def test_cli_scheduler_from_the_environment(folder, address, threaded_params):
    params = _cli_fit(folder, env={**ENVIRONMENT, "DASK_SCHEDULER_ADDRESS": address})
    np.testing.assert_allclose(params[threaded_params.index], threaded_params, rtol=1e-8)


@pytest.mark.timeout(180)
def test_python_api_on_the_cluster(folder, address, threaded_params):
    def transitions(dask_scheduler):
        return dask_scheduler.transition_counter

    with distributed.Client(address, timeout="30s") as client:
        before = client.run_on_scheduler(transitions)
        fit = daskglm.glm(FORMULA, dd.read_parquet(folder), family=daskglm.Poisson()).fit()
        after = client.run_on_scheduler(transitions)
    assert after - before > 50          # the passes' tasks went through the scheduler
    np.testing.assert_allclose(fit.params[threaded_params.index], threaded_params, rtol=1e-8)


@pytest.mark.timeout(180)
@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_on_a_cluster_exits_130_with_one_line(folder, address, tmp_path):
    """Ctrl-C to a command fitting on a running cluster: one line, status 130,
    no traceback from closing the client; the cluster is left with no task."""
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "daskglm.cli", "fit", FORMULA, str(folder), "--family",
             "poisson", "--scheduler", address, "--progress", "--max-iter", "1000000",
             "--tol", "1e-300"], stdout=subprocess.DEVNULL, stderr=stderr, env=ENVIRONMENT,
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
    assert "Traceback" not in err
    with distributed.Client(address, timeout="30s", set_as_default=False) as client:
        deadline = time.monotonic() + 30
        while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
            assert time.monotonic() < deadline, "tasks left on the cluster"
            time.sleep(0.2)
