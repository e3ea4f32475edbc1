"""Read the header of every file under a DICOM export once, without pixel data.

A hospital export is thousands of files with names that say nothing, at any depth, often
without a ``.dcm`` suffix, mixed with DICOMDIR indexes, viewer programs and text files. Every
file is tried; one that is not DICOM or cannot be read is listed with its reason and the walk
goes on. Only the attributes the later steps need are kept, as plain Python values.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from ctbridge.errors import one_line
from ctbridge.io.progress import progress_bar


@dataclass(frozen=True)
class FileHeader:
    """What :mod:`ctbridge.prepare` needs from one DICOM file (strings empty when absent)."""

    path: Path
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class: str
    modality: str
    image_type: tuple[str, ...]
    series_number: int | None
    series_description: str
    protocol_name: str
    study_description: str
    rows: int | None
    columns: int | None
    frames: int
    position: tuple[float, ...] | None
    orientation: tuple[float, ...] | None
    contrast_agent: str
    contrast_route: str
    contrast_start_time: str
    acquisition_time: str
    series_time: str
    content_time: str


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str


# FileHeader's text fields and the DICOM keywords they are read from
TEXT_FIELDS = {"patient_id": "PatientID", "study_uid": "StudyInstanceUID",
               "sop_uid": "SOPInstanceUID", "sop_class": "SOPClassUID",
               "series_description": "SeriesDescription", "protocol_name": "ProtocolName",
               "study_description": "StudyDescription", "contrast_agent": "ContrastBolusAgent",
               "contrast_route": "ContrastBolusRoute",
               "contrast_start_time": "ContrastBolusStartTime",
               "acquisition_time": "AcquisitionTime", "series_time": "SeriesTime",
               "content_time": "ContentTime"}


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip()


def _floats(ds: Dataset, keyword: str, count: int) -> tuple[float, ...] | None:
    value = ds.get(keyword)
    try:
        numbers = tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == count else None


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        return int(ds.get(keyword))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def read_file_header(path: Path) -> FileHeader | SkippedFile:
    """The header of ``path``, or why it cannot be one of a series' files."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        return SkippedFile(path, "not a DICOM file")
    except Exception as exc:  # truncated, damaged: pydicom raises many kinds
        return SkippedFile(path, f"unreadable DICOM ({one_line(exc)})")
    try:
        if ds.get("DirectoryRecordSequence") is not None:
            return SkippedFile(path, "DICOMDIR (an index of the export, not an image)")
        series_uid = _text(ds, "SeriesInstanceUID")
        if not series_uid:
            return SkippedFile(path, "no SeriesInstanceUID")
        image_type = tuple(v.strip().upper() for v in _text(ds, "ImageType").split("\\") if v)
        return FileHeader(
            path=path, series_uid=series_uid, image_type=image_type,
            modality=_text(ds, "Modality").upper(),
            **{field: _text(ds, keyword) for field, keyword in TEXT_FIELDS.items()},
            series_number=_int(ds, "SeriesNumber"), rows=_int(ds, "Rows"),
            columns=_int(ds, "Columns"), frames=_int(ds, "NumberOfFrames") or 1,
            position=_floats(ds, "ImagePositionPatient", 3),
            orientation=_floats(ds, "ImageOrientationPatient", 6),
        )
    except Exception as exc:  # a damaged element, decoded on first access
        return SkippedFile(path, f"damaged DICOM header ({one_line(exc)})")


def walk_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root`` (any depth, sorted, hidden files left out)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def index_tree(root: str | Path, *, progress: bool = True
               ) -> tuple[list[FileHeader], list[SkippedFile]]:
    """Headers of every DICOM file under ``root``, and the files that are not (with reasons)."""
    root = Path(root)
    files = list(walk_files(root))
    headers: list[FileHeader] = []
    skipped: list[SkippedFile] = []
    for path in progress_bar(files, desc="headers", unit="file", enabled=progress):
        with warnings.catch_warnings():  # pydicom's complaints about odd values: not ours
            warnings.simplefilter("ignore")
            record = read_file_header(path)
        (headers if isinstance(record, FileHeader) else skipped).append(record)  # type: ignore
    return headers, skipped
