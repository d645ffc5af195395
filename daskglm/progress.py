"""Progress bars for long fits (tqdm's auto form: terminal or notebook)."""

from __future__ import annotations

import math

__all__ = ["ProgressBar", "chain_callbacks"]


class ProgressBar:
    """A solver callback that advances a tqdm bar once per iteration and
    shows the objective and the stopping measure.

    Use as a context manager so that the bar is closed when the fit ends::

        with ProgressBar(max_iter, "newton") as bar:
            solver(X, y, family, callback=bar)
    """

    def __init__(self, total, description):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=description, unit="it", leave=True)

    def __call__(self, record):
        self._bar.update(1)
        shown = {}
        for key, style in (("objective", ".8g"), ("kkt_norm", ".2e"),
                           ("primal_residual", ".2e"), ("dual_residual", ".2e")):
            value = record.get(key)
            # a solver records NaN for what it has not computed yet (the start of
            # Newton's method, ADMM's objective): show only what is known
            if value is not None and math.isfinite(value):
                shown[key] = format(value, style)
        if shown:
            self._bar.set_postfix(shown, refresh=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._bar.close()


def chain_callbacks(*callbacks):
    """One callback calling each of ``callbacks`` that is not None (or None)."""
    active = [c for c in callbacks if c is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]

    def call_all(record):
        for callback in active:
            callback(record)

    return call_all
