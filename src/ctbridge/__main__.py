"""`python -m ctbridge ...`: the same CLI as the ``ctbridge`` console script."""

import sys

from ctbridge.cli import main

sys.exit(main())
