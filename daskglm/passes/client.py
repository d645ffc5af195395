"""The one place daskglm finds a ``dask.distributed`` Client.

A solver that needs a cluster (asynchronous ADMM) takes the client its
caller passed, or else the one ``distributed.get_client()`` finds (the
client made current or default by the user); the choice between persisting
and streaming asks whether there is one, to size the workers' memory.
Nothing else looks for a client, and nothing changes dask's configuration.

Every computation of a fit goes through :func:`compute` (or a
:class:`ClusterWatch`), which on a cluster stops with :class:`ClusterError`
when no worker or no scheduler is left, instead of waiting forever.
"""

from __future__ import annotations

import time

import dask

__all__ = ["distributed_client", "current_client", "ClusterError", "ClusterWatch",
           "cluster_timeout", "compute", "scheduler_client"]


def distributed_client(client, purpose):
    """The caller's ``client``, or the current ``distributed`` Client.

    Parameters
    ----------
    client : distributed.Client or None
        The client the caller passed.
    purpose : str
        What needs it, for the error message (e.g. ``"admm(asynchronous=True)"``).

    Raises
    ------
    ValueError
        When no client was passed and none is running.
    ImportError
        When ``distributed`` is not installed.
    """
    if client is not None:
        if not hasattr(client, "submit") or not hasattr(client, "compute"):
            raise TypeError(f"client must be a distributed.Client, got {client!r}")
        return client
    try:
        from distributed import get_client
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ImportError(f"{purpose} needs the 'distributed' package") from exc
    try:
        return get_client()
    except ValueError as exc:
        raise ValueError(
            f"{purpose} needs a dask.distributed Client and none is running: start one "
            "(e.g. distributed.Client(distributed.LocalCluster())) or pass client="
        ) from exc


def current_client():
    """The current ``distributed`` Client, or None when there is none."""
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover - distributed is a dependency
        return None
    try:
        return get_client()
    except ValueError:
        return None


# -- watching a cluster -----------------------------------------------------------
class ClusterError(RuntimeError):
    """The cluster a fit runs on can no longer compute: no worker is left, or
    the scheduler went away, for longer than ``daskglm.cluster-timeout``."""


#: seconds between two looks at the cluster while a computation waits
_POLL_SECONDS = 1.0


def cluster_timeout() -> float:
    """Seconds a fit waits for a cluster with no worker or no scheduler:
    ``dask.config.get("daskglm.cluster-timeout")``, 60 s unless set."""
    from dask.utils import parse_timedelta

    value = dask.config.get("daskglm.cluster-timeout", "60s")
    try:
        seconds = parse_timedelta(value, default="s")
    except (ValueError, TypeError, KeyError):
        seconds = None
    if seconds is None or not seconds > 0:
        raise ValueError(f"daskglm.cluster-timeout must be a positive duration, got {value!r}")
    return float(seconds)


def scheduler_client():
    """The distributed Client that ``dask.compute`` would use now, or None
    when dask computes with threads, processes or synchronously."""
    scheduler = dask.base.get_scheduler()
    owner = getattr(scheduler, "__self__", None)
    if owner is not None and hasattr(owner, "submit") and hasattr(owner, "gather"):
        return owner
    return None


class ClusterWatch:
    """Waits on futures of ``client`` and raises :class:`ClusterError` once the
    cluster has had no worker, or the client no scheduler, for ``timeout`` seconds.

    A worker that dies while others live is dask's to survive (it recomputes
    the lost results); a cluster with none left would otherwise wait forever.
    """

    def __init__(self, client, timeout=None):
        self.client = client
        self.timeout = cluster_timeout() if timeout is None else float(timeout)
        self._unhealthy_since = None

    def check(self):
        """Raise when the cluster has been unable to compute for ``timeout`` s."""
        problem = self._problem()
        if problem is None:
            self._unhealthy_since = None
            return
        now = time.monotonic()
        if self._unhealthy_since is None:
            self._unhealthy_since = now
        if self.client.status == "closed" or now - self._unhealthy_since >= self.timeout:
            raise ClusterError(
                f"the dask cluster cannot compute: {problem} for "
                f"{now - self._unhealthy_since:.0f} s (daskglm.cluster-timeout is "
                f"{self.timeout:g} s); the fit was stopped")

    def _problem(self):
        status = self.client.status
        if status != "running":
            return f"the scheduler is unreachable (client {status})"
        try:
            workers = self.client.scheduler_info().get("workers", {})
        except (OSError, TimeoutError) as exc:
            return f"the scheduler does not answer ({type(exc).__name__})"
        if not workers:
            return "no worker is left"
        return None

    def wait(self, futures, return_when="ALL_COMPLETED"):
        """``distributed.wait(futures)`` that looks at the cluster every second."""
        from distributed import wait

        while True:
            try:
                return wait(futures, timeout=_POLL_SECONDS, return_when=return_when)
            except TimeoutError:
                self.check()

    def gather(self, futures):
        """The results of ``futures``, waited for and fetched under watch; on
        Ctrl-C (or any error) the futures are cancelled first.

        A result finished on a worker that then died is recomputed, so even
        fetching a finished future can wait forever: each attempt has a time
        limit (doubling from one second), and the cluster is looked at between.
        """
        try:
            self.wait(futures)
            limit = _POLL_SECONDS
            while True:
                try:
                    # Client.gather with a time limit: distributed's own sync helper
                    return self.client.sync(self.client._gather, futures,
                                            callback_timeout=limit)
                except TimeoutError:
                    self.check()
                    limit = min(2 * limit, self.timeout)
        except BaseException:
            self.client.cancel(futures)
            raise


def compute(*collections):
    """``dask.compute(*collections)``, watched on a distributed cluster.

    With dask's local schedulers it is ``dask.compute`` itself. On a cluster
    it submits the graph, waits while looking at the cluster (raising
    :class:`ClusterError` when it has had no worker or no scheduler for
    ``daskglm.cluster-timeout``), and cancels the computation on Ctrl-C.
    """
    client = scheduler_client()
    if client is None:
        return dask.compute(*collections)
    futures = client.compute(list(collections))
    return tuple(ClusterWatch(client).gather(futures))
