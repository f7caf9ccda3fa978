"""``python -m harness`` is ``taxstorm``."""

import sys

from harness.cli import main

sys.exit(main())
