"""The one place daskglm finds a ``dask.distributed`` Client.

A solver that needs a cluster (asynchronous ADMM) takes the client its
caller passed, or else the one ``distributed.get_client()`` finds (the
client made current or default by the user); the choice between persisting
and streaming asks whether there is one, to size the workers' memory.
Nothing else looks for a client, and nothing changes dask's configuration.
"""

from __future__ import annotations

__all__ = ["distributed_client", "current_client"]


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
