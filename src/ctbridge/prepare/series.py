"""Group an export's files into series and keep those that can be a training scan.

A training scan is an axial CT volume: one frame per file, one orientation and matrix, enough
slices, evenly spaced with none missing. Everything else in an export (localizers, dose
reports, secondary captures, MR, reformats, incomplete transfers) is skipped with the reason,
so a person can check that nothing useful was left behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydicom.uid import UID

from ctbridge.io.dicom import slice_step_problem
from ctbridge.prepare.index import FileHeader

MIN_SLICES = 20  # fewer is a test bolus, a localizer stack or a partial transfer
AXIAL_COSINE = 0.8  # |slice normal . z| at least this: up to ~37 degrees of gantry tilt


@dataclass
class Series:
    """One SeriesInstanceUID's files (duplicates removed) and what was found about them."""

    uid: str
    files: list[FileHeader]
    duplicates: int = 0  # files repeating a SOPInstanceUID already seen
    skip_reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def first(self) -> FileHeader:
        return self.files[0]

    @property
    def patient_id(self) -> str:
        return self.first.patient_id

    @property
    def description(self) -> str:
        return self.first.series_description

    @property
    def kept(self) -> bool:
        return not self.skip_reason


def group_series(headers: Sequence[FileHeader]) -> list[Series]:
    """Series by SeriesInstanceUID (ordered by patient, study, series number); files repeating
    a SOPInstanceUID are dropped and counted (an export often holds a file twice)."""
    by_uid: dict[str, list[FileHeader]] = defaultdict(list)
    for h in headers:
        by_uid[h.series_uid].append(h)
    result = []
    for uid, files in by_uid.items():
        seen: set[str] = set()
        unique = []
        for h in sorted(files, key=lambda h: str(h.path)):
            if h.sop_uid and h.sop_uid in seen:
                continue
            seen.add(h.sop_uid)
            unique.append(h)
        result.append(Series(uid, unique, duplicates=len(files) - len(unique)))
    result.sort(key=lambda s: (s.patient_id, s.first.study_uid, s.first.series_number or 0,
                               s.uid))
    return result


def _sop_class_name(uid: str) -> str:
    name = UID(uid).name if uid else ""
    return name if name and name != uid else (uid or "no SOPClassUID")


def skip_reason(series: Series, min_slices: int = MIN_SLICES) -> str:
    """Why ``series`` cannot be a training scan, or ``""`` when it can."""
    files = series.files
    first = series.first
    if any(h.rows is None for h in files):
        return f"not an image ({_sop_class_name(first.sop_class)}, no Rows)"
    modalities = {h.modality for h in files}
    if modalities != {"CT"}:
        return f"modality {'/'.join(sorted(m or '?' for m in modalities))}, not CT"
    if any("LOCALIZER" in h.image_type for h in files):
        return "localizer (scout image)"
    if "Secondary Capture" in _sop_class_name(first.sop_class):
        return "secondary capture (a screenshot, not a reconstruction)"
    if any(h.frames > 1 for h in files):
        return "multi-frame (enhanced) CT: export it as single-frame images"
    if any(h.position is None or h.orientation is None for h in files):
        return "no ImagePositionPatient/ImageOrientationPatient (cannot stack slices)"
    if len({h.orientation for h in files}) > 1:
        if not np.allclose([h.orientation for h in files], first.orientation, atol=1e-4):
            return "mixed orientations in one series"
    if len({(h.rows, h.columns) for h in files}) > 1:
        return "mixed matrix sizes in one series"
    row, col = np.array(first.orientation[:3]), np.array(first.orientation[3:])  # type: ignore
    normal = np.cross(row, col)
    normal /= np.linalg.norm(normal) or 1.0
    if abs(normal[2]) < AXIAL_COSINE:
        plane = "sagittal" if abs(normal[0]) >= abs(normal[1]) else "coronal"
        return f"not axial ({plane} reformat)"
    if len(files) < min_slices:
        return f"too few slices ({len(files)} < {min_slices})"
    positions = np.array([h.position for h in files])
    positions = positions[np.argsort(positions @ normal, kind="stable")]
    _, problem, i = slice_step_problem(positions)
    if problem:
        return f"{problem} (after slice {i + 1} of {len(files)})"
    return ""


def check_series(series: Sequence[Series], min_slices: int = MIN_SLICES) -> list[Series]:
    """Fill each series' ``skip_reason`` (and a note about duplicate files); returns them."""
    for s in series:
        s.skip_reason = skip_reason(s, min_slices)
        if s.duplicates:
            s.notes.append(f"{s.duplicates} duplicate file(s) ignored")
    return list(series)
