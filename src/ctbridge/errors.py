"""Exception families raised at the boundaries (files, checkpoints, configs).

The CLI turns every :class:`CTBridgeError` into a one-line message and exit code 2, so each
message names the file and the problem and nothing else is needed to understand it.
"""

from __future__ import annotations


class CTBridgeError(Exception):
    """Base class of all errors the CLI reports as one line."""


class InvalidScanError(CTBridgeError):
    """A file or folder that cannot be read as one CT volume in HU."""


class CheckpointError(CTBridgeError):
    """A model checkpoint that is missing, corrupt, unsafe (pickle) or incompatible."""


class ConfigError(CTBridgeError):
    """A configuration file or override that does not validate."""


class DataError(CTBridgeError):
    """A data folder whose layout or content does not fit the command."""


class PhaseError(CTBridgeError):
    """A scan whose phase, by its own evidence, is not the translation's source domain."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (libraries such as pydicom and nibabel spread theirs
    over several lines); its type name when it has no message."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__
