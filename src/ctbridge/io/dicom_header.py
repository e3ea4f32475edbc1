"""Check every DICOM attribute ctbridge relies on, before any pixel is decoded.

Why one checker: a damaged header otherwise fails far from its cause (six zeros in
ImageOrientationPatient surfaced as numpy's "SVD did not converge"), silently (RescaleSlope 0
gave a constant image; a missing RescaleIntercept took stored values as HU, 1024 HU off) or
misleadingly (BitsStored > BitsAllocated was reported as an undecodable compression). The rules
are the standard's for the CT Image, Image Plane and Image Pixel modules (PS3.3 C.8.2.1,
C.7.6.2, C.7.6.3): type-1 attributes present and non-empty, direction cosines unit length and
orthogonal, a finite non-zero slope, consistent bit depths. Every message names the file and the
attribute.

Example:
    >>> from pydicom.dataset import Dataset
    >>> ds = Dataset()
    >>> ds.Modality = "CT"
    >>> ct_header_problems(ds)[0]
    'Rows is missing (type 1)'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from ctbridge.errors import InvalidScanError

UNIT_TOLERANCE = 1e-2  # |1 - |v||, and |row . col|: scanners round cosines to ~6 digits
TYPE_1 = ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
          "SamplesPerPixel", "PhotometricInterpretation", "ImageOrientationPatient",
          "ImagePositionPatient", "PixelSpacing", "RescaleIntercept", "RescaleSlope")


def numbers(ds: Dataset, keyword: str, count: int) -> list[float] | str:
    """``count`` finite numbers from ``keyword``, or the problem with them as text."""
    try:
        value = ds.get(keyword)
        items = list(value) if isinstance(value, Sequence) and not isinstance(value, str) \
            else [value]
        out = [float(v) for v in items]
    except Exception:  # malformed DS/IS strings raise from pydicom's converters
        return f"{keyword} is not numeric"
    if len(out) != count:
        return f"{keyword} has {len(out)} value(s), expected {count}"
    if not all(math.isfinite(v) for v in out):
        return f"{keyword} is not finite ({out})"
    return out


def ct_header_problems(ds: Dataset) -> list[str]:
    """Every violated rule of a CT slice header, in reading order; empty when it is usable."""
    modality = str(ds.get("Modality", "") or "").strip()
    if modality != "CT":
        return [f"not a CT image (Modality is {modality or 'missing'!r}); ctbridge reads CT only"]
    missing = [k for k in TYPE_1 if ds.get(k) in (None, "")]
    if missing:
        return [f"{k} is missing (type 1)" for k in missing]
    problems: list[str] = []
    frames = numbers(ds, "NumberOfFrames", 1) if "NumberOfFrames" in ds else [1.0]
    if isinstance(frames, list) and frames[0] > 1:
        problems.append("multi-frame (enhanced) CT is not supported yet; convert it to "
                        "single-frame slices first")
    problems += _pixel_module(ds) + _plane_module(ds) + _rescale(ds)
    return problems


def _pixel_module(ds: Dataset) -> list[str]:
    problems = []
    ints = {k: numbers(ds, k, 1) for k in ("Rows", "Columns", "BitsAllocated", "BitsStored",
                                           "HighBit", "PixelRepresentation", "SamplesPerPixel")}
    bad = [v for v in ints.values() if isinstance(v, str)]
    if bad:
        return bad
    rows, cols, allocated, stored, high, representation, samples = (
        int(v[0]) for v in ints.values())  # type: ignore[index]
    if rows < 1 or cols < 1:
        problems.append(f"Rows x Columns is {rows} x {cols}")
    if samples != 1:
        problems.append(f"SamplesPerPixel is {samples}; a CT slice has 1")
    photometric = str(ds.PhotometricInterpretation).strip()
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        problems.append(f"PhotometricInterpretation is {photometric!r}; a CT slice is MONOCHROME2")
    if allocated not in (8, 16, 32):
        problems.append(f"BitsAllocated is {allocated}; expected 8, 16 or 32")
    if not 1 <= stored <= allocated:
        problems.append(f"BitsStored ({stored}) must be between 1 and BitsAllocated "
                        f"({allocated})")
    elif high != stored - 1:
        problems.append(f"HighBit ({high}) must be BitsStored - 1 ({stored - 1})")
    if representation not in (0, 1):
        problems.append(f"PixelRepresentation is {representation}; expected 0 or 1")
    return problems


def _plane_module(ds: Dataset) -> list[str]:
    problems = []
    iop = numbers(ds, "ImageOrientationPatient", 6)
    if isinstance(iop, str):
        problems.append(iop)
    else:
        row, col = np.array(iop[:3]), np.array(iop[3:])
        norms = np.linalg.norm(row), np.linalg.norm(col)
        if any(abs(1 - n) > UNIT_TOLERANCE for n in norms):
            problems.append(f"ImageOrientationPatient {iop} is not two unit vectors (lengths "
                            f"{norms[0]:.3g}, {norms[1]:.3g})")
        elif abs(float(row @ col)) > UNIT_TOLERANCE:
            problems.append(f"ImageOrientationPatient {iop}: row and column directions are not "
                            f"orthogonal (cosine {float(row @ col):.3g})")
    ipp = numbers(ds, "ImagePositionPatient", 3)
    if isinstance(ipp, str):
        problems.append(ipp)
    spacing = numbers(ds, "PixelSpacing", 2)
    if isinstance(spacing, str):
        problems.append(spacing)
    elif min(spacing) <= 0:
        problems.append(f"PixelSpacing {spacing} must be positive")
    return problems


def _rescale(ds: Dataset) -> list[str]:
    problems = []
    slope, intercept = numbers(ds, "RescaleSlope", 1), numbers(ds, "RescaleIntercept", 1)
    for value in (slope, intercept):
        if isinstance(value, str):
            problems.append(value)
    if isinstance(slope, list) and slope[0] == 0:
        problems.append("RescaleSlope is 0: every voxel would have the same HU")
    return problems


def check_ct_header(path: Path, ds: Dataset) -> None:
    """Raise :class:`InvalidScanError` naming ``path`` and every violated rule."""
    problems = ct_header_problems(ds)
    if problems:
        raise InvalidScanError(f"{path}: " + "; ".join(problems))
