"""Phase from SeriesDescription, else ProtocolName: :mod:`ctbridge.data.phase_keywords`.

The phase evidence lives in ``data/`` so that inference checks a scan's phase with the same
code (:mod:`ctbridge.inference.phase_guard`); this module keeps ``prepare``'s name for it.
"""

from __future__ import annotations

from ctbridge.data.phase_keywords import (
    NON_CONTRAST,
    PHASE_WORDS,
    description_evidence,
    text_evidence,
)

__all__ = [
    "NON_CONTRAST", "PHASE_WORDS", "description_evidence", "text_evidence"
]
