"""daskglm: generalized linear models on dask, with statsmodels' statistics
and scikit-learn's manners."""

from . import estimators, links, solvers
from .exceptions import ConvergenceWarning, PerfectSeparationWarning
from .families import Binomial, Family, Gaussian, Logistic, Normal, Poisson
from .regularizers import L1, L2, ElasticNet
from .model import GLM, glm
from .results import GLMResults

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
