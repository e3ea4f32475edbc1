"""Read and write CT scans in HU with their geometry: NIfTI and DICOM series.

`read_scan` / `write_scan` choose the format from the path: ``.nii`` / ``.nii.gz`` is NIfTI,
anything else (a ``.dcm`` file or a folder) is DICOM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ctbridge.errors import InvalidScanError
from ctbridge.io.dicom import read_dicom, write_dicom_series
from ctbridge.io.nifti import is_nifti, read_labelmap, read_nifti, write_labelmap, write_nifti
from ctbridge.io.scan import Scan

__all__ = [
    "Scan", "read_scan", "write_scan", "read_labelmap", "write_labelmap", "is_nifti",
    "read_nifti", "write_nifti", "read_dicom", "write_dicom_series", "InvalidScanError",
]


def read_scan(path: str | Path) -> Scan:
    """Read a CT volume in HU: NIfTI file, DICOM file, or folder holding one DICOM series."""
    path = Path(path)
    if not path.exists():
        raise InvalidScanError(f"{path}: no such file or folder")
    if is_nifti(path):
        return read_nifti(path)
    return read_dicom(path)


def write_scan(scan: Scan, path: str | Path, *, dtype: str | None = None, **dicom: Any) -> Path:
    """Write ``scan`` to ``path`` atomically; NIfTI by suffix, otherwise a DICOM series folder.

    Args:
        dtype: NIfTI only: ``None`` keeps float32, ``"int16"`` rounds HU.
        **dicom: DICOM only: keyword arguments of :func:`write_dicom_series`.
    """
    if is_nifti(path):
        if dicom:
            raise TypeError(f"DICOM options {sorted(dicom)} do not apply to NIfTI output {path}")
        return write_nifti(scan, path, dtype=dtype)
    if Path(path).suffix.lower() in {".dcm", ".png", ".jpg", ".mha", ".nrrd"}:
        raise InvalidScanError(f"{path}: write a DICOM series to a folder name, or use .nii.gz")
    return write_dicom_series(scan, path, **dicom)
