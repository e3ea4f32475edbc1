"""`python -m ctbridge.cli ...` (and `torchrun -m ctbridge.cli train ...`)."""

import sys

from ctbridge.cli.app import main

sys.exit(main())
