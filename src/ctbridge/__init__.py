"""ctbridge: unpaired CT contrast-phase translation that keeps fine structures intact."""

from __future__ import annotations

__version__ = "0.1.0"
