"""``python -m daskglm.cli``."""

import sys

from . import main

sys.exit(main())
