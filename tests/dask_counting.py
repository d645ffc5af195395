"""Counting the dask graphs a block of code runs.

A plain class imported as ``from dask_counting import CountComputes``, not a
fixture: a test opens several counting blocks, each around the code it counts.
"""

import dask
from dask.callbacks import Callback


class CountComputes(Callback):
    """Counts the dask graphs run (on the threaded scheduler) inside its block."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self._scheduler = dask.config.set(scheduler="threads")

    def __enter__(self):
        self._scheduler.__enter__()
        return super().__enter__()

    def __exit__(self, *exc):
        super().__exit__(*exc)
        self._scheduler.__exit__(*exc)

    def _start(self, dsk):
        self.count += 1
