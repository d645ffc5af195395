"""daskglm: generalized linear models on dask, with statsmodels' statistics
and scikit-learn's manners."""

from . import families, links, regularizers, solvers
from .exceptions import ConvergenceWarning, PerfectSeparationWarning
from .math.families import Binomial, Family, Gaussian, Logistic, Normal, Poisson
from .math.penalties import L1, L2, ElasticNet
from .frontend.model import GLM, glm
from .inference.results import GLMResults

__version__ = "0.1.0"

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
    "L1",
    "L2",
    "ElasticNet",
    "ConvergenceWarning",
    "PerfectSeparationWarning",
]


def __getattr__(name):
    # the estimators load scikit-learn's estimator machinery: only when used
    if name == "estimators":
        import importlib

        return importlib.import_module(".estimators", __name__)
    raise AttributeError(f"module 'daskglm' has no attribute {name!r}")
