"""Exponential-family distributions for GLMs: per-chunk math, no dask.

One module per family (:mod:`.binomial`, :mod:`.gaussian`,
:mod:`.gamma`, :mod:`.inverse_gaussian`, :mod:`.negative_binomial`,
:mod:`.poisson`, :mod:`.tweedie`), each built on :class:`~.base.Family`; see
:mod:`.base` for what a family states and what follows from it. A family
written outside the package, from :class:`Family`, works with every solver.
"""

from .base import FAMILIES, Family, domain_message, get_family, register_family
from .binomial import Binomial, Logistic
from .gamma import Gamma
from .gaussian import Gaussian, Normal
from .inverse_gaussian import InverseGaussian
from .negative_binomial import NegativeBinomial
from .poisson import Poisson
from .tweedie import Tweedie

__all__ = [
    "Family",
    "Logistic",
    "Binomial",
    "Normal",
    "Gaussian",
    "Poisson",
    "Gamma",
    "InverseGaussian",
    "NegativeBinomial",
    "Tweedie",
    "get_family",
    "register_family",
    "FAMILIES",
    "domain_message",
]
