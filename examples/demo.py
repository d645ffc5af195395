"""``make demo``: a Poisson GLM on millions of insurance policies, through the command line.

1. Writes (seeded, so every machine gets the same data) 3,000,000 policies
   as 8 parquet files under ``claims/`` in a temporary folder (removed at the
   end), or in ``--data-dir`` (kept, and reused by the next run with the same
   options): the driver's age, one of 40 regions, the vehicle type, the years
   the policy ran, and a claim count drawn from a known Poisson model
   (:mod:`claims`). Nothing is written inside the repository.
2. Runs ``daskglm fit 'claims ~ age + C(region) + C(vehicle)' DATA/claims
   --family poisson --exposure years --progress --save ...`` on dask's local
   (threaded) scheduler; the command prints statsmodels' summary.
3. Reads the saved fit (plain JSON) and says how close the estimates are to
   the true coefficients, and how long the fit took.

Run ``python examples/demo.py --help`` for a smaller or larger run.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from claims import true_coefficients, write_claims
from scipy import stats

HERE = Path(__file__).resolve().parent
FORMULA = "claims ~ age + C(region) + C(vehicle)"


def ensure_data(folder, n_rows, n_files, seed) -> dict:
    """The true coefficients; writes the data first unless the same data are there."""
    truth_path = folder.parent / f"{folder.name}-truth.json"
    files = sorted(folder.glob("part-*.parquet"))
    if (truth_path.exists() and len(files) == n_files
            and json.loads(truth_path.read_text()) == true_coefficients(seed)
            and sum(pq.read_metadata(f).num_rows for f in files) == n_rows):
        print(f"Using the {n_rows:,} policies already in {folder}")
        return true_coefficients(seed)
    for stale in files:
        stale.unlink()
    start = time.perf_counter()
    truth = write_claims(folder, n_rows, n_files, seed)
    print(f"Wrote {n_rows:,} policies as {n_files} parquet files under {folder} "
          f"({time.perf_counter() - start:.1f} s)")
    return truth


def run_command_line(folder, fit_path) -> float:
    """Run ``daskglm fit`` in a new process (its output goes to the terminal);
    return the seconds it took, Python's start-up and reading the data included."""
    arguments = ["fit", FORMULA, str(folder), "--family", "poisson", "--exposure", "years",
                 "--progress", "--save", str(fit_path)]
    print(f"\n$ daskglm {shlex.join(arguments)}\n", flush=True)
    env = dict(os.environ)       # the checkout's daskglm, installed or not
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "daskglm.cli", *arguments], env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"daskglm fit failed (exit status {done.returncode})")
    return seconds


def compare_with_truth(fit_path, truth) -> dict:
    """Print how far the saved estimates are from the true coefficients."""
    fit = json.loads(Path(fit_path).read_text())      # a saved fit is plain JSON
    names = fit["exog_names"]
    estimate = np.array([fit["params"][name] for name in names])
    bse = np.array([fit["bse"][name] for name in names])
    true = np.array([truth[name] for name in names])
    error = estimate - true
    within = np.abs(error) <= 2 * bse
    worst = int(np.argmax(np.abs(error)))
    shown = [i for i, name in enumerate(names) if not name.startswith("C(region)")]
    if worst not in shown:
        shown.append(worst)
    print(f"\n{'coefficient':<24}{'true':>9}{'estimate':>10}{'std err':>9}{'error':>9}")
    for i in shown:
        print(f"{names[i]:<24}{true[i]:>9.4f}{estimate[i]:>10.4f}{bse[i]:>9.4f}{error[i]:>9.4f}")
    print(f"\nLargest |estimate - truth| over all {len(names)} coefficients: "
          f"{np.abs(error).max():.4f} ({names[worst]}, {abs(error[worst]) / bse[worst]:.1f} "
          f"standard errors)")
    print(f"Within 2 standard errors of the truth: {within.sum()} of {len(names)} "
          f"({within.mean():.0%}; the region effects share the baseline region's error, "
          "so they tend to miss together)")
    cov = np.array(fit["cov_params"])
    wald = float(error @ np.linalg.solve(cov, error))
    p_value = float(stats.chi2.sf(wald, len(names)))
    print(f"Joint Wald test of 'estimates = truth': chi2 = {wald:.1f} on {len(names)} df, "
          f"p = {p_value:.2f} (the truth is {'consistent' if p_value > 0.01 else 'NOT consistent'}"
          " with the estimates and their covariance)")
    return {"max_abs_error": float(np.abs(error).max()), "within_2se": int(within.sum()),
            "n_coefficients": len(names), "wald_p_value": p_value,
            "converged": fit["convergence"]["converged"]}


def main(n_rows=3_000_000, n_files=8, seed=2024, data_dir=None) -> dict:
    """Generate (or reuse) the data, fit through the command line, compare with the truth.

    ``data_dir=None`` works in a temporary folder removed at the end."""
    if data_dir is None:
        with tempfile.TemporaryDirectory(prefix="daskglm-demo-") as scratch:
            return _run(Path(scratch), n_rows, n_files, seed, kept=False)
    return _run(Path(data_dir), n_rows, n_files, seed, kept=True)


def _run(data_dir, n_rows, n_files, seed, kept) -> dict:
    folder = data_dir / "claims"
    truth = ensure_data(folder, n_rows, n_files, seed)
    fit_path = folder.parent / "claims-fit.json"
    seconds = run_command_line(folder, fit_path)
    report = compare_with_truth(fit_path, truth)
    print(f"The fit through the command line took {seconds:.1f} s for {n_rows:,} rows "
          "(starting Python, reading the parquet files, building the design, fitting and "
          "the statistics pass included); the fit is saved in " + str(fit_path)
          + ("" if kept else " (a temporary folder, now removed: pass --data-dir to keep it)"))
    report["seconds"] = seconds
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--data-dir", help="where to keep the data and the fit for the next "
                                           "run (default: a temporary folder, removed)")
    options = parser.parse_args()
    main(options.rows, options.files, options.seed, options.data_dir)
