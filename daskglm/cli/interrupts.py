"""Ctrl-C for the command line: never lost, never seen by the workers.

A terminal sends SIGINT to every process of the command. Two things can go
wrong with ``--workers``:

- the worker processes get it too, and die with tracebacks (or leave the
  cluster's start waiting for them forever). So while the local cluster
  starts, SIGINT is ignored: the worker processes it spawns inherit that.
- while it is ignored, the kernel delivers a SIGINT sent to the process to
  any of its threads that does not block it, which then drops it: the
  command ran on as if nothing had happened (and ignoring a signal discards
  it if it is pending). So the command blocks SIGINT in
  its main thread from the start, before its modules load: every thread
  started meanwhile (BLAS's, the cluster's) inherits the block, an interrupt
  waits as pending, and it is raised as KeyboardInterrupt in the main thread
  where the command unblocks it: at once without ``--workers``, once the
  cluster is up (and will be closed on the way out) with it, or before the
  cluster starts if one is pending by then.

This module imports nothing heavy, so that the block is taken before numpy
starts its threads.
"""

from __future__ import annotations

import signal
import threading

__all__ = ["block_interrupts", "unblock_interrupts", "restore_interrupts", "ignore_interrupts"]


def _can_mask() -> bool:
    return (threading.current_thread() is threading.main_thread()
            and hasattr(signal, "pthread_sigmask"))


def block_interrupts():
    """Block SIGINT in the main thread; returns whether it was blocked before
    (None off the main thread, where nothing is done)."""
    if not _can_mask():
        return None
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    return signal.SIGINT in before


def unblock_interrupts():
    """Unblock SIGINT in the main thread: a pending one is raised now (as
    KeyboardInterrupt, by Python's handler)."""
    if _can_mask():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def restore_interrupts(was_blocked):
    """Put back the state :func:`block_interrupts` found."""
    if was_blocked is False:
        unblock_interrupts()


class ignore_interrupts:
    """Context: SIGINT ignored (processes started meanwhile inherit it) and
    blocked in the main thread (so one that arrives waits); on leaving, the
    handler comes back and SIGINT is unblocked, raising a pending one."""

    def __enter__(self):
        self._blocked = block_interrupts()
        if self._blocked is None:
            return self
        if signal.SIGINT in signal.sigpending():
            # ignoring a signal discards it when pending: raise it first
            unblock_interrupts()
            self._blocked = None
            raise KeyboardInterrupt
        self._handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        return self

    def __exit__(self, *exc_info):
        if self._blocked is not None:
            signal.signal(signal.SIGINT, self._handler)
            unblock_interrupts()
        return False
