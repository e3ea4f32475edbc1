"""The cases `ctbridge evaluate` scores: matching NIfTI files of a prediction, truth, label and
optional plaque / input folder, label ids from a phantom's ``dataset.json``, shapes checked.

Every problem is a :class:`~ctbridge.errors.DataError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ctbridge.errors import DataError

NIFTI_SUFFIXES = (".nii.gz", ".nii")


def nifti_files(folder: Path) -> list[Path]:
    """NIfTI files of ``folder`` sorted by name; DataError when there are none."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.name.lower().endswith(NIFTI_SUFFIXES))
    if not files:
        raise DataError(f"{folder}: no .nii/.nii.gz files")
    return files


def matching(folder: Path, name: str, what: str) -> Path:
    """The file ``name`` in ``folder``, or DataError naming what is missing."""
    path = folder / name
    if not path.is_file():
        raise DataError(f"{path}: missing {what} for {name}")
    return path


def _parse_label_ids(data: Any, source: Path) -> dict[str, int]:
    """name -> id from ``{"labels": {...}}`` or a bare mapping; nnU-Net v1's id -> name too."""
    labels = data.get("labels", data) if isinstance(data, dict) else None
    if not isinstance(labels, dict) or not labels:
        raise DataError(f"{source}: no \"labels\" mapping of names to ids")
    try:
        if all(isinstance(v, str) for v in labels.values()):  # {"1": "aorta"}
            return {str(v): int(k) for k, v in labels.items()}
        return {str(k): int(v) for k, v in labels.items()}
    except (TypeError, ValueError):
        raise DataError(f"{source}: label ids must be integers") from None


def load_label_ids(labels_dir: Path, label_ids: Path | None = None) -> dict[str, int]:
    """Label name -> id from ``label_ids`` (a JSON file) or ``labels_dir/../dataset.json``."""
    source = label_ids or labels_dir.resolve().parent / "dataset.json"
    if not source.is_file():
        raise DataError(f"{source}: no label ids (pass --label-ids FILE.json)")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{source}: not readable JSON ({exc})") from None
    ids = _parse_label_ids(data, source)
    if not any(n in ids for n in ("aorta", "iliac")):
        raise DataError(f"{source}: labels name neither 'aorta' nor 'iliac' (the lumen)")
    return ids


def _check_shape(array: np.ndarray, shape: tuple[int, ...], path: Path) -> np.ndarray:
    if array.shape != shape:
        raise DataError(f"{path}: shape {array.shape} differs from the truth's {shape}")
    return array


def plaque_instances(labels: np.ndarray, label_ids: dict[str, int]) -> np.ndarray:
    """Plaque instances as 3D connected components of the ``plaque`` label (no --plaques)."""
    from scipy import ndimage

    if "plaque" not in label_ids:
        return np.zeros(labels.shape, np.int32)
    instances, _ = ndimage.label(labels == label_ids["plaque"], structure=np.ones((3, 3, 3)))
    return instances.astype(np.int32)


def load_case(name: str, pred: Path, truth: Path, labels: Path, plaques: Path | None,
              input: Path | None, label_ids: dict[str, int]) -> dict[str, Any]:
    """Read one case's volumes, checking that every shape equals the truth's."""
    from ctbridge.io import read_labelmap, read_scan

    truth_scan = read_scan(matching(truth, name, "truth scan"))
    shape = truth_scan.shape
    pred_path = pred / name
    case: dict[str, Any] = {
        "truth": truth_scan.array,
        "spacing": truth_scan.spacing,
        "pred": _check_shape(read_scan(pred_path).array, shape, pred_path),
    }
    label_path = matching(labels, name, "label map")
    case["labels"] = _check_shape(read_labelmap(label_path), shape, label_path)
    if plaques is not None:
        plaque_path = matching(plaques, name, "plaque map")
        case["plaques"] = _check_shape(read_labelmap(plaque_path), shape, plaque_path)
    else:
        case["plaques"] = plaque_instances(case["labels"], label_ids)
    case["input"] = None
    if input is not None:
        input_path = matching(input, name, "input scan")
        case["input"] = _check_shape(read_scan(input_path).array, shape, input_path)
    return case
