"""Stateful transforms for formulas that are learned partition by partition.

patsy's ``center`` and ``standardize`` memorize their data chunk by chunk
in one process. Here each partition memorizes its own partial sums on its
worker, and the client merges them (:meth:`Center.merge`,
:meth:`Standardize.merge`): the mean and standard deviation over all rows
with only a few numbers per partition moving. The values equal patsy's (up
to the order of floating-point sums). A formula's ``center``,
``standardize`` and ``scale`` resolve to these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy

__all__ = ["Center", "Standardize", "center", "standardize", "scale"]


def as_2d(x):
    values = np.asarray(x, dtype=float)
    return values[:, None] if values.ndim == 1 else values


def _like_input(x, values):
    """``values`` (2-D) in the shape and pandas type of ``x``."""
    if isinstance(x, pd.Series):
        return pd.Series(values[:, 0], index=x.index, name=x.name)
    if isinstance(x, pd.DataFrame):
        return pd.DataFrame(values, index=x.index, columns=x.columns)
    return values[:, 0] if np.ndim(x) == 1 else values


class Center:
    """``center(x)``: subtract the mean over all rows (patsy's ``center``).

    Learned from partial sums, so it merges across partitions exactly.
    Every mergeable transform has ``merge(parts)``, ``is_defined()`` and
    ``neutral()``.
    """

    def __init__(self):
        self.count = 0
        self.total = None

    def memorize_chunk(self, x):
        values = as_2d(x)
        self.count += values.shape[0]
        part = values.sum(axis=0)
        self.total = part if self.total is None else self.total + part

    def memorize_finish(self):
        pass

    @classmethod
    def merge(cls, parts):
        merged = cls()
        for part in parts:
            if part.count:
                merged.count += part.count
                merged.total = part.total if merged.total is None else merged.total + part.total
        return merged

    def is_defined(self) -> bool:
        return self.count > 0 and bool(np.all(np.isfinite(self.total)))

    def neutral(self):
        """A finite stand-in (mean 0): evaluating with it shows which rows are missing
        even where this partition's own mean is not defined."""
        stand_in = Center()
        stand_in.count = 1
        stand_in.total = np.zeros_like(self.total if self.total is not None else [0.0])
        return stand_in

    def transform(self, x):
        return _like_input(x, as_2d(x) - self.total / self.count)


class Standardize:
    """``standardize(x, center=True, rescale=True, ddof=0)`` (patsy's ``standardize``).

    Counts, means and sums of squared deviations per partition merge by
    Chan, Golub & LeVeque's pairwise update.
    """

    def __init__(self):
        self.count = 0
        self.mean = None
        self.m2 = None

    def memorize_chunk(self, x, center=True, rescale=True, ddof=0):
        values = as_2d(x)
        if values.shape[0]:
            mean = values.mean(axis=0)
            self._add(values.shape[0], mean, np.square(values - mean).sum(axis=0))

    def _add(self, count, mean, m2):
        if self.count == 0:
            self.count, self.mean, self.m2 = count, np.array(mean), np.array(m2)
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + np.square(delta) * (self.count * count / total)
        self.count = total

    def memorize_finish(self):
        pass

    @classmethod
    def merge(cls, parts):
        merged = cls()
        for part in parts:
            if part.count:
                merged._add(part.count, part.mean, part.m2)
        return merged

    def is_defined(self) -> bool:
        return self.count > 0 and bool(np.all(np.isfinite(self.m2)))

    def neutral(self):
        """A finite stand-in (mean 0, positive spread); see :meth:`Center.neutral`."""
        stand_in = Standardize()
        shape = np.shape(self.mean) if self.mean is not None else (1,)
        stand_in._add(2, np.zeros(shape), np.full(shape, 2.0))
        return stand_in

    def transform(self, x, center=True, rescale=True, ddof=0):
        values = as_2d(x).copy()
        if center:
            values -= self.mean
        if rescale:
            values /= np.sqrt(self.m2 / (self.count - ddof))
        return _like_input(x, values)


center = patsy.stateful_transform(Center)
standardize = patsy.stateful_transform(Standardize)
scale = standardize
MERGEABLE = {"center": center, "standardize": standardize, "scale": scale}
PATSY_TRANSFORMS = {id(patsy.center): center, id(patsy.standardize): standardize,
                     id(patsy.scale): scale}
