"""Public alias of :mod:`daskglm.math.links`."""

from .math.links import *  # noqa: F401,F403
from .math.links import __all__  # noqa: F401
