"""What every training loop here shares: the learning-rate schedule and the readable log file.

The translators' trainer (:mod:`ctbridge.training.trainer`) and the QC network's loop
(:mod:`ctbridge.qc.train`) both use them.

Example:
    >>> [round(learning_rate_factor(s, 100, 0.8, floor=0.05), 2) for s in (0, 80, 90, 100)]
    [1.0, 1.0, 0.5, 0.05]
"""

from __future__ import annotations

import logging
from pathlib import Path


def learning_rate_factor(step: int, total: int, decay_start: float, floor: float = 0.0
                         ) -> float:
    """1 until ``decay_start * total``, then linearly down to 0 at ``total``, never below
    ``floor``."""
    start = int(decay_start * total)
    if step < start or total <= start:
        return 1.0
    return max(floor, 1.0 - (step - start) / (total - start))


def log_to_file(log: logging.Logger, path: Path, fmt: str = "%(asctime)s %(message)s",
                mode: str = "a") -> logging.Handler:
    """Send ``log`` (INFO and up) to ``path`` only, replacing earlier handlers; returns the
    handler so the caller can close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode=mode)
    handler.setFormatter(logging.Formatter(fmt))
    log.handlers = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler
