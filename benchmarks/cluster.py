"""What one iteration costs on a dask cluster, against dask's threads.

For each solver and each setup (dask's threaded scheduler, then a real
cluster of 1, 2, 4 one-thread worker processes started with ``dask
scheduler`` / ``dask worker``), one fit of a seeded logistic problem whose
chunks are persisted before the clock starts. Reported per fit and per pass:

- wall time of the fit (and the ratio to the threaded fit);
- bytes that moved, from distributed's own counters: client -> scheduler
  (the client's batched stream: graphs and the arguments in them),
  scheduler -> workers (the scheduler's batched streams: task messages),
  workers -> scheduler (their batched streams: task-finished messages) and
  the data workers served (``transfer_outgoing_bytes_total``: results
  gathered for the client and partial sums sent to other workers);
- tasks the scheduler ran (its task prefixes' count of tasks that entered
  ``processing``) and the scheduler process's CPU seconds (psutil).

The coefficients found on the cluster are compared with the threaded ones.

    python -m benchmarks.cluster --rows 2000000 --cols 21 --chunks 8 \\
        --solvers newton lbfgs admm saga --workers 1 2 4 --out cluster.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np

import daskglm
from daskglm import solvers

REPO = Path(daskglm.__file__).resolve().parent.parent

#: solver options of the measured fits (tight enough to compare coefficients)
OPTIONS = {
    "newton": {"tol": 1e-10},
    "lbfgs": {"tol": 1e-10},
    "proximal_grad": {"tol": 1e-9},
    "admm": {"tol": 1e-9, "max_iter": 500},
    "saga": {"tol": 1e-8, "max_iter": 500},
}


def logistic_problem(n_rows, n_cols, n_chunks, seed=0):
    """Seeded logistic data as numpy arrays (intercept column first)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_cols))
    X[:, 0] = 1.0
    coef = rng.uniform(-0.5, 0.5, n_cols) / np.sqrt(n_cols)
    y = (rng.random(n_rows) < 1 / (1 + np.exp(-(X @ coef)))).astype(float)
    rows = -(-n_rows // n_chunks)
    return da.from_array(X, chunks=(rows, n_cols)), da.from_array(y, chunks=rows)


# -- a cluster of processes ------------------------------------------------------
def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def process_cluster(n_workers):
    """``dask scheduler`` and ``n_workers`` one-thread ``dask worker`` processes;
    yields a Client made current, and the scheduler's pid."""
    import distributed

    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "DASK_LOGGING__DISTRIBUTED": "error",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    start = [sys.executable, "-m", "dask"]
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([*start, "scheduler", "--host", "127.0.0.1", "--port",
                                   str(port), "--dashboard-address", ":0", "--no-show"],
                                  **quiet)]
    processes += [subprocess.Popen([*start, "worker", address, "--nthreads", "1",
                                    "--no-dashboard", "--memory-limit", "0"], **quiet)
                  for _ in range(n_workers)]
    try:
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(n_workers, timeout=120)
            yield client, processes[0].pid
    finally:
        for process in processes:
            process.kill()
            process.wait()


def _scheduler_counters(dask_scheduler):
    streams = dask_scheduler.stream_comms.values()
    return {"scheduler_to_workers": sum(stream.byte_count for stream in streams),
            "tasks": sum(prefix.state_counts["processing"]
                         for prefix in dask_scheduler.task_prefixes.values())}


def _worker_counters(dask_worker):
    return {"workers_to_scheduler": dask_worker.batched_stream.byte_count,
            "worker_data_out": dask_worker.transfer_outgoing_bytes_total}


def cluster_counters(client, scheduler_pid):
    """Cumulative bytes, tasks and scheduler CPU seconds of the cluster now."""
    import psutil

    counters = client.run_on_scheduler(_scheduler_counters)
    for worker in client.run(_worker_counters).values():
        for name, value in worker.items():
            counters[name] = counters.get(name, 0) + value
    counters["client_to_scheduler"] = client.scheduler_comm.byte_count
    cpu = psutil.Process(scheduler_pid).cpu_times()
    counters["scheduler_cpu_s"] = cpu.user + cpu.system
    return counters


# -- one fit -----------------------------------------------------------------------
def timed_fit(name, X, y, counters=None):
    """Fit once; the result, wall seconds and the counters' change."""
    solver = solvers.get_solver(name)
    before = counters() if counters else {}
    start = time.perf_counter()
    result = solver(X, y, daskglm.Logistic(), persist=True, **OPTIONS[name])
    seconds = time.perf_counter() - start
    after = counters() if counters else {}
    moved = {key: after[key] - before[key] for key in after}
    return result, seconds, moved


def measure(name, X, y, counters=None):
    """A warm-up fit (compiles, persists), then the measured one, as a record."""
    timed_fit(name, X, y, counters)
    result, seconds, moved = timed_fit(name, X, y, counters)
    passes = max(result.n_passes, 1)
    record = {"solver": name, "seconds": seconds, "n_iter": result.n_iter,
              "n_passes": result.n_passes, "converged": bool(result.converged),
              "coef": result.coef.tolist(), "seconds_per_pass": seconds / passes}
    for key, value in moved.items():
        record[key] = value
        record[f"{key}_per_pass"] = value / passes
    return record


def run(n_rows, n_cols, n_chunks, solver_names, worker_counts, threads=2, seed=0):
    """Records for the threaded scheduler and each cluster size."""
    X, y = logistic_problem(n_rows, n_cols, n_chunks, seed)
    records = []
    with dask.config.set(scheduler="threads", num_workers=threads):
        X_mem, y_mem = dask.persist(X, y)
        for name in solver_names:
            records.append({"setup": f"threads={threads}", **measure(name, X_mem, y_mem)})
    for n_workers in worker_counts:
        with process_cluster(n_workers) as (client, scheduler_pid):
            X_on, y_on = client.persist([X, y])
            client.wait_for_workers(n_workers)
            counters = lambda: cluster_counters(client, scheduler_pid)  # noqa: E731
            for name in solver_names:
                records.append({"setup": f"processes={n_workers}",
                                **measure(name, X_on, y_on, counters)})
    _add_ratios(records, threads)
    return records


def _add_ratios(records, threads):
    threaded = {r["solver"]: r for r in records if r["setup"] == f"threads={threads}"}
    for record in records:
        base = threaded[record["solver"]]
        record["time_ratio"] = record["seconds"] / base["seconds"]
        record["max_coef_diff"] = float(np.max(np.abs(np.subtract(record["coef"],
                                                                   base["coef"]))))


COLUMNS = ["setup", "solver", "seconds", "time_ratio", "n_passes", "seconds_per_pass",
           "tasks_per_pass", "scheduler_cpu_s_per_pass", "client_to_scheduler_per_pass",
           "scheduler_to_workers_per_pass", "workers_to_scheduler_per_pass",
           "worker_data_out_per_pass", "max_coef_diff"]


def table(records):
    """The records as a markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for record in records:
        cells = []
        for column in COLUMNS:
            value = record.get(column, "")
            cells.append(f"{value:.4g}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--cols", type=int, default=21)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--solvers", nargs="+", default=["newton", "lbfgs", "admm", "saga"],
                        choices=sorted(OPTIONS))
    parser.add_argument("--workers", nargs="*", type=int, default=[1, 2, 4])
    parser.add_argument("--out", type=Path, help="write the records as JSON here")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    records = run(args.rows, args.cols, args.chunks, args.solvers, args.workers,
                  threads=args.threads)
    print(table(records))
    if args.out:
        args.out.write_text(json.dumps(records, indent=1))
    return records


if __name__ == "__main__":
    main()
