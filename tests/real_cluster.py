"""A real dask cluster for tests: ``dask scheduler`` and ``dask worker``
processes started as a user would start them, on a free local port.

Imported by name from the tests that need one (it is not a fixture module).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import daskglm

#: the checkout whose daskglm the tests import, first on the processes' path
REPO = Path(daskglm.__file__).resolve().parent.parent

#: what the processes get: this checkout's daskglm, one BLAS thread, quiet logs
ENVIRONMENT = {**os.environ, "DASK_LOGGING__DISTRIBUTED": "error",
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join(
                   [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}


def free_port():
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dask(*arguments):
    return subprocess.Popen([sys.executable, "-m", "dask", *arguments], env=ENVIRONMENT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process):
    """SIGKILL ``process`` (a worker or scheduler started here) and reap it."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


@contextlib.contextmanager
def scheduler():
    """``dask scheduler`` on a free port; yields ``(address, process)``."""
    port = free_port()
    process = _dask("scheduler", "--host", "127.0.0.1", "--port", str(port),
                    "--dashboard-address", ":0", "--no-show")
    try:
        yield f"tcp://127.0.0.1:{port}", process
    finally:
        stop(process)


@contextlib.contextmanager
def workers(address, n=2, nanny=True):
    """``n`` ``dask worker`` processes of one thread each on ``address``;
    yields their processes. Without a nanny a killed worker stays dead."""
    flags = ["--nthreads", "1", "--no-dashboard", "--memory-limit", "2GiB"]
    processes = [_dask("worker", address, *flags, *([] if nanny else ["--no-nanny"]))
                 for _ in range(n)]
    try:
        yield processes
    finally:
        for process in processes:
            stop(process)


def wait_for_workers(client, n, timeout=60):
    """Block until ``client``'s scheduler knows ``n`` workers."""
    deadline = time.monotonic() + timeout
    client.wait_for_workers(n, timeout=timeout)
    while len(client.scheduler_info()["workers"]) < n:  # pragma: no cover - rare
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {n} workers after {timeout} s")
        time.sleep(0.1)
