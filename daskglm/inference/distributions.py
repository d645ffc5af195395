"""Per-row distributions and Anscombe residuals, through statsmodels' families.

statsmodels' family classes already know each distribution's Anscombe
transform and its scipy distribution at a mean; daskglm's family of the
same name and link is mapped to statsmodels' (:func:`statsmodels_family`)
and those are applied to each chunk of rows. For dask data nothing is
computed until asked:

- :func:`resid_anscombe` is a dask array (one pass when computed);
- :func:`get_distribution` gives scipy's frozen distribution for in-memory
  data (as statsmodels) and, for dask data, a :class:`ChunkedDistribution`
  whose methods (``mean``, ``var``, ``cdf(y)``, ``rvs``, ...) are dask
  arrays built chunk by chunk from the same scipy distribution.
"""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np

__all__ = ["ChunkedDistribution", "get_distribution", "resid_anscombe", "statsmodels_family"]


#: Our link class names that statsmodels spells otherwise.
_STATSMODELS_LINK_NAMES = {"Inverse": "InversePower"}


def statsmodels_family(family):
    """statsmodels' family (with the same link) of a daskglm family."""
    import statsmodels.api as sm  # statsmodels loads only when used

    family_class = getattr(sm.families, family.name, None)
    link_name = type(family.link).__name__
    link_class = getattr(sm.families.links, _STATSMODELS_LINK_NAMES.get(link_name, link_name),
                         None)
    if family_class is None or link_class is None:
        raise ValueError(f"{family!r} has no statsmodels counterpart for this statistic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # a non-canonical link's DomainWarning
        return family_class(link=link_class())


def _anscombe_block(sm_family, scale, y, mu, var_weights=1.0):
    return sm_family.resid_anscombe(y, mu, var_weights=var_weights, scale=scale)


def resid_anscombe(family, y, mu, var_weights=None, scale=1.0):
    """Anscombe residuals of every row (statsmodels' family formula), lazily for dask."""
    sm_family = statsmodels_family(family)
    arrays = [y, mu] + ([] if var_weights is None else [var_weights])
    if isinstance(y, da.Array):
        return da.map_blocks(_anscombe_block, sm_family, float(scale), *arrays, dtype=float)
    return _anscombe_block(sm_family, float(scale), *arrays)


def _frozen(sm_family, mu, scale, var_weights, n_trials):
    kwds = {} if n_trials is None else {"n_trials": n_trials}
    return sm_family.get_distribution(mu, scale, var_weights=var_weights, **kwds)


def _distribution_block(sm_family, scale, method, args, kwds, mu, var_weights=1.0,
                        n_trials=None, *values):
    frozen = _frozen(sm_family, mu, scale, var_weights, n_trials)
    return np.asarray(getattr(frozen, method)(*values, *args, **kwds), dtype=float)


class ChunkedDistribution:
    """The per-row distributions of a fit on dask data, chunk by chunk.

    Each method of scipy's frozen distribution that returns one value per
    row (``mean``, ``var``, ``std``, ``median``, and ``cdf``, ``sf``,
    ``pmf``/``pdf``, ``logpmf``/``logpdf``, ``ppf``, ``isf`` of a row-aligned
    dask array) returns a lazy dask array chunked as the rows; ``rvs`` draws
    one value per row, each chunk from its own seed.
    """

    _PER_ROW = ("mean", "var", "std", "median", "entropy")
    _OF_VALUES = ("cdf", "sf", "pmf", "pdf", "logpmf", "logpdf", "ppf", "isf", "logcdf",
                  "logsf")

    def __init__(self, sm_family, mu, scale, var_weights=None, n_trials=None):
        self._family = sm_family
        self.mu = mu
        self.scale = scale
        self._side = [1.0 if var_weights is None else var_weights,
                      None if n_trials is None else n_trials]

    def _map(self, method, values=(), args=(), kwds=None):
        arrays = [self.mu, *self._side, *values]
        return da.map_blocks(_distribution_block, self._family, self.scale, method, args,
                             kwds or {}, *arrays, dtype=float)

    def __getattr__(self, name):
        if name in self._PER_ROW:
            return lambda: self._map(name)
        if name in self._OF_VALUES:
            return lambda values, *args, **kwds: self._map(name, (values,), args, kwds)
        raise AttributeError(name)

    def rvs(self, random_state=None):
        """One draw per row, reproducible for an integer ``random_state``."""
        seeds = [int(seed.generate_state(1)[0]) for seed in
                 np.random.SeedSequence(random_state).spawn(self.mu.numblocks[0])]
        return da.map_blocks(_draw_block, self._family, self.scale, self.mu, *self._side,
                             seeds, dtype=float)


def _draw_block(sm_family, scale, mu, var_weights, n_trials, seeds, block_info=None):
    seed = seeds[block_info[None]["chunk-location"][0]]
    frozen = _frozen(sm_family, mu, scale, var_weights, n_trials)
    return np.asarray(frozen.rvs(random_state=np.random.default_rng(seed)),
                      dtype=float).reshape(mu.shape)


def get_distribution(family, mu, scale, var_weights=None, n_trials=None):
    """statsmodels' ``get_distribution`` at the means ``mu``: scipy's frozen
    distribution (numpy ``mu``) or a :class:`ChunkedDistribution` (dask).

    As statsmodels, the discrete families use scale 1 (with a warning when
    the fit's scale is not 1).
    """
    sm_family = statsmodels_family(family)
    if not family.estimates_scale:
        if scale != 1.0:
            warnings.warn("using scale=1, no excess dispersion in the distribution",
                          UserWarning, stacklevel=3)
        scale = 1.0
    if n_trials is not None and family.name != "Binomial":
        raise ValueError(f"n_trials applies to the Binomial family, not {family.name}")
    if isinstance(mu, da.Array):
        return ChunkedDistribution(sm_family, mu, scale, var_weights, n_trials)
    return _frozen(sm_family, mu, scale, 1.0 if var_weights is None else var_weights,
                   n_trials)
