"""DICOM CT: one file or a folder holding one series, read to HU with geometry; series writer.

Reading follows what scanners actually write: slices are sorted by ImagePositionPatient projected
on the slice normal (not by InstanceNumber, which is often wrong), the modality LUT
(RescaleSlope/Intercept) is applied with pydicom's own `apply_modality_lut`, and the slice step is
measured from the positions (SliceThickness is not the spacing). Missing slices and uneven spacing
are refused with their location instead of silently producing a stretched volume.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

import ctbridge
from ctbridge.errors import InvalidScanError, one_line
from ctbridge.io.atomic import atomic_path
from ctbridge.io.dicom_header import check_ct_header, numbers
from ctbridge.io.scan import Scan

SPACING_TOLERANCE = 0.01  # relative deviation of one slice step from the median step
# Type 2 attributes of the CT Image IOD that a derived series cannot know: present and empty
TYPE_2_UNKNOWN = ("PositionReferenceIndicator", "AcquisitionNumber")
# ... and those repeated from the source when known: the patient's and the acquisition's always,
# the study's only when the series is filed in the source's study (else empty)
FROM_SOURCE = {"PatientBirthDate": "patient_birth_date", "PatientSex": "patient_sex",
               "PatientPosition": "patient_position", "KVP": "kvp"}
FROM_SOURCE_STUDY = {"ReferringPhysicianName": "referring_physician_name",
                     "StudyID": "study_id", "AccessionNumber": "accession_number"}


def _read_header(path: Path) -> Dataset | None:
    """The header of ``path`` if it is a DICOM image file, else None.

    pydicom decodes elements lazily, so a damaged one (an unknown VR, a value of the wrong
    length) would otherwise fail later, wherever it is first touched; every element is decoded
    here, and a damaged header is refused naming the file."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        return None
    if not ("SeriesInstanceUID" in ds or "PixelData" in ds or "Rows" in ds):
        return None
    try:
        for _ in ds.iterall():
            pass
    except Exception as exc:
        raise InvalidScanError(f"{path}: damaged DICOM header ({one_line(exc)})") from None
    return ds


def _single_slice_step(path: Path, ds: Dataset) -> float:
    """Slice step of a one-file series: SpacingBetweenSlices, else SliceThickness, else 1 mm."""
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        if ds.get(keyword) in (None, ""):
            continue
        value = numbers(ds, keyword, 1)
        if isinstance(value, str):
            raise InvalidScanError(f"{path}: {value}")
        if value[0] <= 0:
            raise InvalidScanError(f"{path}: {keyword} is {value[0]:g}; a slice step must be "
                                   "positive")
        return value[0]
    return 1.0


def _series_files(folder: Path) -> dict[str, list[tuple[Path, Dataset]]]:
    series: dict[str, list[tuple[Path, Dataset]]] = defaultdict(list)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.upper() == "DICOMDIR":
            continue
        ds = _read_header(path)
        if ds is not None:
            series[str(ds.get("SeriesInstanceUID", "<no SeriesInstanceUID>"))].append((path, ds))
    return series


def _description(ds: Dataset) -> str:
    return str(ds.get("SeriesDescription", "")).strip() or "no description"


def _hu(path: Path) -> np.ndarray:
    """Decode one file's pixels and apply the modality LUT (HU)."""
    ds = pydicom.dcmread(path)
    try:
        pixels = ds.pixel_array
    except Exception as exc:
        ts = ds.file_meta.get("TransferSyntaxUID", "unknown")
        name = getattr(ts, "name", str(ts))
        raise InvalidScanError(
            f"{path}: cannot decode pixel data compressed as {name!r}: {one_line(exc)}"
        ) from None
    if pixels.ndim != 2:
        raise InvalidScanError(f"{path}: expected one greyscale slice, got pixels {pixels.shape}")
    return np.asarray(apply_modality_lut(pixels, ds), dtype=np.float32)


def _orientation(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Row and column direction cosines (validated by :func:`check_ct_header`), normalised."""
    iop = np.array(numbers(ds, "ImageOrientationPatient", 6), float)
    row, col = iop[:3], iop[3:]
    return row / np.linalg.norm(row), col / np.linalg.norm(col)


def _position(ds: Dataset) -> np.ndarray:
    return np.array(numbers(ds, "ImagePositionPatient", 3), float)


def _pixel_spacing(ds: Dataset) -> tuple[float, float]:
    dy, dx = numbers(ds, "PixelSpacing", 2)  # (between rows = y, between columns = x)
    return float(dy), float(dx)


def _metadata(ds: Dataset, source: Path) -> dict[str, Any]:
    keys = {
        "modality": "Modality", "series_description": "SeriesDescription",
        "study_instance_uid": "StudyInstanceUID", "series_instance_uid": "SeriesInstanceUID",
        "frame_of_reference_uid": "FrameOfReferenceUID", "patient_id": "PatientID",
        "patient_name": "PatientName", "study_description": "StudyDescription",
        "convolution_kernel": "ConvolutionKernel", "kvp": "KVP",
        # the Patient and General Study modules, repeated by a series filed in the same study
        "patient_birth_date": "PatientBirthDate", "patient_sex": "PatientSex",
        "referring_physician_name": "ReferringPhysicianName", "study_id": "StudyID",
        "accession_number": "AccessionNumber", "study_date": "StudyDate",
        "study_time": "StudyTime", "patient_position": "PatientPosition",
        "body_part_examined": "BodyPartExamined", "laterality": "Laterality",
        # the phase evidence (ctbridge.data.phase_evidence): what translate checks a scan by
        "protocol_name": "ProtocolName", "contrast_agent": "ContrastBolusAgent",
        "contrast_route": "ContrastBolusRoute", "contrast_start_time": "ContrastBolusStartTime",
        "acquisition_time": "AcquisitionTime", "content_time": "ContentTime",
        "series_time": "SeriesTime",
    }
    meta: dict[str, Any] = {"source": str(source), "format": "dicom"}
    for key, tag in keys.items():
        value = ds.get(tag)
        if value not in (None, ""):
            meta[key] = str(value)
    return meta


def slice_step_problem(positions: np.ndarray) -> tuple[float, str, int]:
    """Median step of positions sorted along the stack, and what is wrong with the steps.

    Returns ``(step, problem, i)``: ``problem`` is ``""``, ``"duplicate slice positions"``,
    ``"missing slice(s)"`` or ``"uneven slice spacing"``; ``i`` is the first bad step (between
    slices ``i`` and ``i + 1``), -1 when none.
    """
    steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
    step = float(np.median(steps))
    if step <= 1e-6 or steps.min() <= 1e-6:
        return step, "duplicate slice positions", int(np.argmin(steps))
    bad = np.flatnonzero(np.abs(steps - step) > SPACING_TOLERANCE * step)
    if bad.size:
        i = int(bad[0])
        return step, "missing slice(s)" if steps[i] > step else "uneven slice spacing", i
    return step, "", -1


def _check_steps(files: Sequence[Path], positions: np.ndarray) -> float:
    """Median slice step along the stack; raise naming the gap if slices are missing/uneven."""
    step, problem, i = slice_step_problem(positions)
    if problem == "duplicate slice positions":
        raise InvalidScanError(f"{files[0].parent}: several slices share one position "
                               f"(duplicate slices?)")
    if problem:
        gap = float(np.linalg.norm(positions[i + 1] - positions[i]))
        raise InvalidScanError(
            f"{files[0].parent}: {problem}: step {gap:.3f} mm between {files[i].name} and "
            f"{files[i + 1].name} (slices {i} and {i + 1} of {len(files)}, expected {step:.3f} mm)"
        )
    return step


def read_dicom(path: str | Path) -> Scan:
    """Read a single CT DICOM file or a folder holding one CT series as a `Scan` in HU."""
    path = Path(path)
    if not path.exists():
        raise InvalidScanError(f"{path}: no such file or folder")
    if path.is_file():
        ds = _read_header(path)
        if ds is None:
            raise InvalidScanError(f"{path}: not a DICOM image file")
        entries = [(path, ds)]
    else:
        series = _series_files(path)
        if not series:
            raise InvalidScanError(f"{path}: no DICOM image files in this folder")
        if len(series) > 1:
            listing = "; ".join(
                f"{uid} ({_description(items[0][1])}, {len(items)} files)"
                for uid, items in sorted(series.items())
            )
            raise InvalidScanError(f"{path}: holds {len(series)} series, pass one folder per "
                                   f"series: {listing}")
        entries = next(iter(series.values()))
    return _read_entries(entries, path)


def read_dicom_files(files: Sequence[Path], source: str | Path | None = None) -> Scan:
    """Read the CT series made of exactly ``files`` (e.g. one series of an export tree).

    ``source`` names the series in errors and in ``metadata["source"]`` (default: the folder of
    the first file)."""
    if not files:
        raise InvalidScanError(f"{source or '?'}: no files given")
    entries = []
    for p in map(Path, files):
        ds = _read_header(p)
        if ds is None:
            raise InvalidScanError(f"{p}: not a DICOM image file")
        entries.append((p, ds))
    return _read_entries(entries, Path(source) if source is not None else Path(files[0]).parent)


def _read_entries(entries: list[tuple[Path, Dataset]], path: Path) -> Scan:
    """One series' files and their headers -> `Scan` (sorted, checked, in HU)."""
    for p, ds in entries:
        check_ct_header(p, ds)
    first_path, first = entries[0]
    row, col = _orientation(first)
    normal = np.cross(row, col)
    positions = np.array([_position(ds) for _, ds in entries])
    order = np.argsort(positions @ normal, kind="stable")
    entries = [entries[i] for i in order]
    positions = positions[order]
    files = [p for p, _ in entries]
    spacing_y, spacing_x = _pixel_spacing(first)
    shape = (int(first.Rows), int(first.Columns))
    for p, ds in entries[1:]:
        if (int(ds.Rows), int(ds.Columns)) != shape:
            raise InvalidScanError(f"{p}: slice size {ds.Rows}x{ds.Columns} differs from "
                                   f"{first_path.name}'s {shape[0]}x{shape[1]}")
        if not np.allclose(_orientation(ds), (row, col), atol=1e-4):
            raise InvalidScanError(f"{p}: ImageOrientationPatient differs from {first_path.name}")

    if len(entries) > 1:
        step = _check_steps(files, positions)
        stack = positions[-1] - positions[0]
        slice_dir = stack / np.linalg.norm(stack)  # differs from `normal` for tilted gantries
    else:
        step = _single_slice_step(first_path, first)
        slice_dir = normal

    volume = np.stack([_hu(p) for p in files])
    metadata = _metadata(first, path)
    sops = [(str(ds.get("SOPClassUID", "")), str(ds.get("SOPInstanceUID", "")))
            for _, ds in entries]
    if all(cls and uid for cls, uid in sops):  # per slice, bottom to top: derived series cite it
        metadata["source_sops"] = sops
    scan = Scan(
        array=volume,
        spacing=(spacing_x, spacing_y, step),
        origin=tuple(positions[0]),
        direction=np.column_stack([row, col, slice_dir]),
        metadata=metadata,
    )
    return scan.validate(str(path))


def _rescale(array: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) so that int16 stored values hold ``array`` in HU.

    Slope 1 (error <= 0.5 HU) whenever the HU range fits int16, which is every CT; otherwise the
    smallest slope that fits.
    """
    lo, hi = float(array.min()), float(array.max())
    if lo >= -32768 and hi <= 32767:
        return 1.0, 0.0
    slope = (hi - lo) / 65535.0
    return slope, lo + 32768.0 * slope


def _ds_number(value: float) -> str:
    """A DICOM DS string (<= 16 chars) that keeps as much precision as fits."""
    for digits in range(16, 0, -1):
        text = f"{value:.{digits}g}"
        if len(text) <= 16:
            return text
    raise ValueError(value)


def write_dicom_series(
    scan: Scan,
    folder: str | Path,
    *,
    study_instance_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    series_description: str | None = None,
    series_number: int = 9001,
    derivation: str = "ctbridge",
    attributes: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``scan`` as a derived CT series (one file per slice) into ``folder``, atomically.

    New Study/Series/SOP UIDs are generated unless ``study_instance_uid`` (and optionally the
    frame of reference) of the source is passed, which files the result beside its source. When
    the scan was read from DICOM (``metadata["source_sops"]``, one per slice), every slice cites
    its source slice in Source Image Sequence; ``derivation`` becomes DerivationDescription.
    ``attributes`` (keyword -> value) are set on every slice last, overriding the defaults (the
    phantom's DICOM export uses them for acquisition times and contrast tags).
    Type 2 attributes without a known value are written empty, as the standard asks, so the
    series passes dciodvfy (tests/io/test_dicom_valid.py).
    """
    scan.validate(str(folder))
    folder = Path(folder)
    slope, intercept = _rescale(scan.array)
    stored = np.rint((scan.array - intercept) / slope).astype(np.int16)
    direction = scan.direction
    row, col, slice_dir = direction[:, 0], direction[:, 1], direction[:, 2]
    sx, sy, sz = scan.spacing
    origin = np.asarray(scan.origin)
    meta = scan.metadata
    study_uid = study_instance_uid or generate_uid()
    series_uid = generate_uid()
    frame_uid = frame_of_reference_uid or generate_uid()
    now = _dt.datetime.now()
    description = series_description or meta.get("series_description") or "ctbridge derived"
    sources = meta.get("source_sops")
    if sources is not None and len(sources) != scan.shape[0]:
        sources = None  # not slice for slice the source's (resampled, cropped): cite nothing

    with atomic_path(folder) as tmp:
        tmp.mkdir()
        for k in range(scan.shape[0]):
            ds = _slice_dataset(
                stored[k], position=origin + k * sz * slice_dir, row=row, col=col,
                pixel_spacing=(sy, sx), thickness=sz, slope=slope, intercept=intercept,
            )
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.FrameOfReferenceUID = frame_uid
            ds.SeriesDescription = str(description)[:64]
            ds.SeriesNumber, ds.InstanceNumber = series_number, k + 1
            ds.PatientName = str(meta.get("patient_name", "ANONYMOUS^"))
            ds.PatientID = str(meta.get("patient_id", "ANONYMOUS"))
            for keyword in TYPE_2_UNKNOWN:
                setattr(ds, keyword, "")
            same_study = study_instance_uid is not None
            for keyword, key in FROM_SOURCE.items():
                setattr(ds, keyword, str(meta.get(key, "")))
            for keyword, key in FROM_SOURCE_STUDY.items():
                setattr(ds, keyword, str(meta.get(key, "")) if same_study else "")
            if meta.get("body_part_examined"):
                ds.BodyPartExamined = str(meta["body_part_examined"])
                if meta.get("laterality"):  # a paired body part's side
                    ds.Laterality = str(meta["laterality"])
            else:  # unknown body part: Laterality (type 2C) present and empty = unknown
                ds.Laterality = ""
            ds.SeriesDate = ds.ContentDate = now.strftime("%Y%m%d")
            ds.SeriesTime = ds.ContentTime = now.strftime("%H%M%S")
            ds.StudyDate = meta.get("study_date", ds.SeriesDate) if same_study else ds.SeriesDate
            ds.StudyTime = meta.get("study_time", ds.SeriesTime) if same_study else ds.SeriesTime
            ds.DerivationDescription = derivation[:1024]
            if sources is not None:
                ref = Dataset()
                ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = sources[k]
                ds.SourceImageSequence = [ref]
            for keyword, value in (attributes or {}).items():
                setattr(ds, keyword, value)
            ds.save_as(tmp / f"slice_{k:04d}.dcm", enforce_file_format=True)
    return folder


def _slice_dataset(pixels: np.ndarray, *, position: np.ndarray, row: np.ndarray,
                   col: np.ndarray, pixel_spacing: tuple[float, float], thickness: float,
                   slope: float, intercept: float) -> Dataset:
    sop_uid = generate_uid()
    file_meta = FileMetaDataset()
    file_meta.MediaStorageSOPClassUID = CTImageStorage
    file_meta.MediaStorageSOPInstanceUID = sop_uid
    file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    file_meta.ImplementationVersionName = f"CTBRIDGE_{ctbridge.__version__}"[:16]
    ds = Dataset()
    ds.file_meta = file_meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop_uid
    ds.Modality = "CT"
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.Manufacturer = "ctbridge"
    ds.ImagePositionPatient = [_ds_number(v) for v in position]
    ds.ImageOrientationPatient = [_ds_number(v) for v in (*row, *col)]
    ds.PixelSpacing = [_ds_number(v) for v in pixel_spacing]
    ds.SliceThickness = _ds_number(thickness)
    ds.SpacingBetweenSlices = _ds_number(thickness)
    ds.SliceLocation = _ds_number(float(position @ np.cross(row, col)))
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope, ds.RescaleIntercept = _ds_number(slope), _ds_number(intercept)
    ds.RescaleType = "HU"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<i2").tobytes()
    return ds
