"""Medical Segmentation Decathlon / MONAI datalists: read them and write them back.

A datalist is a ``dataset.json`` (any name, when given as a file) whose ``training`` list holds
``{"image": path, "label": path}`` items, paths relative to the file's folder; MONAI loads it
with :func:`monai.data.load_decathlon_datalist`, which is what reads it here too. Optional:
``test`` (image paths), ``validation`` (items like ``training``), ``labels`` (id -> name),
``modality``, ``numTraining``, ``numTest``, and a ``fold`` key per training item for
cross-validation (MONAI's convention).

Written data sets use the Decathlon layout: ``imagesTr/<case>.nii.gz``,
``labelsTr/<case>.nii.gz``, ``imagesTs/``; paths in the datalist are relative (``./imagesTr/
...``) so the folder can be moved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ctbridge.errors import DataError
from ctbridge.formats.cases import Case, SourceDataset, check_unique, read_json, strip_ending
from ctbridge.io.atomic import atomic_path

DATASET_JSON = "dataset.json"
LISTS = ("training", "validation", "test")


def datalist_file(path: str | Path) -> Path:
    """The datalist JSON of ``path``: the file itself, or ``path/dataset.json``."""
    path = Path(path)
    return path if path.is_file() else path / DATASET_JSON


def is_datalist(path: str | Path) -> bool:
    """Whether ``path`` (a JSON file or a folder with ``dataset.json``) has a ``training`` list."""
    file = datalist_file(path)
    if not file.is_file():
        return False
    meta = read_json(file)
    return isinstance(meta, dict) and isinstance(meta.get("training"), list)


def _single_path(value: Any, where: str) -> Path:
    if isinstance(value, list):
        if len(value) != 1:
            raise DataError(f"{where}: {len(value)} images per case; ctbridge translates "
                            "single-channel CT")
        value = value[0]
    if not isinstance(value, str | Path):
        raise DataError(f"{where}: expected a file path, got {value!r}")
    return Path(value)


def read_decathlon(path: str | Path) -> SourceDataset:
    """Read a Decathlon/MONAI datalist (paths resolved by MONAI against the file's folder).

    Training items without a ``label`` come back with ``label=None`` (the caller reports them).

    Raises:
        DataError: not JSON, no ``training`` list, multi-channel images, non-NIfTI files or two
            items whose images share a file name.
    """
    from monai.data import load_decathlon_datalist

    file = datalist_file(path)
    meta = read_json(file)
    if not isinstance(meta, dict) or not isinstance(meta.get("training"), list):
        raise DataError(f"{file}: no \"training\" list (not a Decathlon/MONAI datalist)")
    if not meta["training"]:
        raise DataError(f"{file}: the \"training\" list is empty")
    if not all(isinstance(item, dict) and "image" in item for item in meta["training"]):
        raise DataError(f"{file}: every \"training\" item must be an object with an \"image\"")
    resolved = load_decathlon_datalist(file, is_segmentation=True, data_list_key="training")
    cases = []
    for i, (raw, item) in enumerate(zip(meta["training"], resolved, strict=True)):
        where = f"{file}: training item {i}"
        image = _single_path(item["image"], where)
        label = _single_path(item["label"], where) if "label" in item else None
        extra = {k: v for k, v in raw.items() if k not in ("image", "label")}
        cases.append(Case(strip_ending(image.name), image, label, extra))
    check_unique(cases, file)
    endings = {c.image.name[len(c.case_id):] for c in cases}
    others: dict[str, list[dict[str, Any]]] = {}
    for key in ("validation", "test"):
        if isinstance(meta.get(key), list) and meta[key]:
            items = load_decathlon_datalist(file, is_segmentation=True, data_list_key=key)
            others[key] = [{k: Path(v) if k in ("image", "label") else v
                            for k, v in item.items()} for item in items]
    return SourceDataset("decathlon", file.parent, meta, cases,
                         ".nii.gz" if ".nii.gz" in endings else endings.pop(), others)


def relative(path: Path, root: Path) -> str:
    """``./imagesTr/x.nii.gz``: a datalist path relative to its folder, as the MSD writes it."""
    return "./" + path.relative_to(root).as_posix()


def write_datalist(file: Path, meta: Mapping[str, Any]) -> Path:
    """Write a datalist JSON atomically."""
    with atomic_path(file) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    return Path(file)
