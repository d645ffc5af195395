"""``python -m daskglm.cli``."""

import sys

from .main import main

sys.exit(main())
