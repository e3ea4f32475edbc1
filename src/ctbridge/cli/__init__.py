"""`ctbridge <command>`: the command-line interface, one module per command group.

``app`` holds the root commands (info, convert, train, translate, demo) and registers the
groups kept in their own modules (evaluate, experiment, phantom, prepare, qc, select-k,
synthesize). Torch and MONAI are imported inside the commands, so `ctbridge --help` is fast.
"""

from ctbridge.cli.app import main

__all__ = ["main"]
