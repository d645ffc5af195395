"""Public alias of :mod:`daskglm.math.penalties`."""

from .math.penalties import *  # noqa: F401,F403
from .math.penalties import __all__  # noqa: F401
