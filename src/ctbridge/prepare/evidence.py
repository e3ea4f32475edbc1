"""Phases and the evidence about a phase: :mod:`ctbridge.data.phase_evidence`.

The phase evidence lives in ``data/`` so that inference checks a scan's phase with the same
code (:mod:`ctbridge.inference.phase_guard`); this module keeps ``prepare``'s name for it.
"""

from __future__ import annotations

from ctbridge.data.phase_evidence import (
    ANY_PHASE,
    CONTRAST,
    DOMAIN_PHASES,
    PHASES,
    Evidence,
    phase_words,
)

__all__ = [
    "ANY_PHASE", "CONTRAST", "DOMAIN_PHASES", "PHASES", "Evidence", "phase_words"
]
