"""Public alias of :mod:`daskglm.math.families`."""

from .math.families import *  # noqa: F401,F403
from .math.families import __all__  # noqa: F401
