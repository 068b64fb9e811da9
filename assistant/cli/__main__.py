"""`python -m assistant.cli`: the same as the `lbw` console script."""

import sys

from assistant.cli import main

sys.exit(main())
