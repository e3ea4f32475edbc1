"""Contrast from the pixels (the aorta): :mod:`ctbridge.data.aorta_contrast`.

The phase evidence lives in ``data/`` so that inference checks a scan's phase with the same
code (:mod:`ctbridge.inference.phase_guard`); this module keeps ``prepare``'s name for it.
"""

from __future__ import annotations

from ctbridge.data.aorta_contrast import (
    AORTA_AREA_MM2,
    BLOOD_HU,
    ENHANCED_HU,
    MAJORITY,
    MIN_SLICES_FOUND,
    SliceFinding,
    image_evidence,
    slice_finding,
)

__all__ = [
    "AORTA_AREA_MM2", "BLOOD_HU", "ENHANCED_HU", "MAJORITY", "MIN_SLICES_FOUND", "SliceFinding",
    "image_evidence", "slice_finding"
]
