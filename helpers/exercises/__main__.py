"""`python -m helpers.exercises check|progress`: see :mod:`helpers.exercises.cli`."""
from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
