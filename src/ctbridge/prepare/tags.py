"""Phase from the Contrast/Bolus module: :mod:`ctbridge.data.contrast_tags`.

The phase evidence lives in ``data/`` so that inference checks a scan's phase with the same
code (:mod:`ctbridge.inference.phase_guard`); this module keeps ``prepare``'s name for it.
"""

from __future__ import annotations

from ctbridge.data.contrast_tags import (
    ARTERIAL_MAX_S,
    DELAYED_MIN_S,
    NO_AGENT,
    VENOUS_S,
    dicom_seconds,
    phase_of_delay,
    tag_evidence,
)

__all__ = [
    "ARTERIAL_MAX_S", "DELAYED_MIN_S", "NO_AGENT", "VENOUS_S", "dicom_seconds", "phase_of_delay",
    "tag_evidence"
]
