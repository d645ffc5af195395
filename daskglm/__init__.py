"""daskglm: generalized linear models on dask, with statsmodels' statistics
and scikit-learn's manners.

``import daskglm`` is cheap: it loads no numpy, dask, scipy, numba, patsy,
scikit-learn or statsmodels. The public names below are looked up on first
use (a module-level ``__getattr__``, SPEC 1's lazy loading written by hand)
and then kept in the module's namespace, so ``daskglm.glm``,
``from daskglm import L1`` and ``daskglm.solvers.newton`` work as if they had
been imported eagerly. The ``TYPE_CHECKING`` block names them for type
checkers and IDEs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from . import estimators as estimators
    from . import exceptions as exceptions
    from . import families as families
    from . import links as links
    from . import plotting as plotting
    from . import progress as progress
    from . import regularizers as regularizers
    from . import solvers as solvers
    from .exceptions import ConvergenceWarning, PerfectSeparationWarning
    from .frontend.model import GLM, glm
    from .inference.results import GLMResults
    from .math.families import (
        Binomial,
        Family,
        Gamma,
        Gaussian,
        InverseGaussian,
        Logistic,
        NegativeBinomial,
        Normal,
        Poisson,
        Tweedie,
    )
    from .math.penalties import L1, L2, ElasticNet

#: The submodules and layer packages ``daskglm.<name>`` reaches without an
#: explicit import; each is imported on first attribute access.
_SUBMODULES = frozenset({
    "cli",
    "estimators",
    "exceptions",
    "families",
    "frontend",
    "inference",
    "links",
    "math",
    "passes",
    "plotting",
    "progress",
    "regularizers",
    "solvers",
})

#: Public names other than submodules: the module each one lives in.
_ATTRIBUTE_HOMES = {
    "glm": ".frontend.model",
    "GLM": ".frontend.model",
    "GLMResults": ".inference.results",
    "Family": ".math.families",
    "Logistic": ".math.families",
    "Binomial": ".math.families",
    "Normal": ".math.families",
    "Gaussian": ".math.families",
    "Poisson": ".math.families",
    "Gamma": ".math.families",
    "InverseGaussian": ".math.families",
    "NegativeBinomial": ".math.families",
    "Tweedie": ".math.families",
    "L1": ".math.penalties",
    "L2": ".math.penalties",
    "ElasticNet": ".math.penalties",
    "ConvergenceWarning": ".exceptions",
    "ClusterError": ".passes.client",
    "PerfectSeparationWarning": ".exceptions",
}

__all__ = [
    "glm",
    "GLM",
    "GLMResults",
    "estimators",
    "links",
    "solvers",
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
    "L1",
    "L2",
    "ElasticNet",
    "ClusterError",
    "ConvergenceWarning",
    "PerfectSeparationWarning",
]


def __getattr__(name: str) -> object:
    """Import a public submodule or name the first time it is asked for."""
    if name in _SUBMODULES:
        value: object = importlib.import_module(f".{name}", __name__)
    elif name in _ATTRIBUTE_HOMES:
        home = importlib.import_module(_ATTRIBUTE_HOMES[name], __name__)
        value = getattr(home, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_ATTRIBUTE_HOMES))
