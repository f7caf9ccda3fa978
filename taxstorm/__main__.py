"""``python -m taxstorm`` is ``taxstorm``."""

import sys

from taxstorm.cli import main

sys.exit(main())
