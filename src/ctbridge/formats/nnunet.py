"""nnU-Net v2 raw data sets: read, write, and check them against nnU-Net's documented rules.

Layout (nnU-Net v2, documentation/dataset_format.md)::

    DatasetXXX_Name/dataset.json             channel_names, labels, numTraining, file_ending
    DatasetXXX_Name/imagesTr/<case>_0000.nii.gz   one file per channel (ctbridge: CT only)
    DatasetXXX_Name/labelsTr/<case>.nii.gz        the case's label map, same grid
    DatasetXXX_Name/imagesTs/<case>_0000.nii.gz   optional, unlabelled

Rules that :func:`integrity_problems` checks (the ones nnU-Net's own
``verify_dataset_integrity`` enforces): the four keys of ``dataset.json``; labels are
integers, ``background`` is 0 and the ids are consecutive (0, 1, 2, ...); every image
``<case>_0000`` has a label ``<case>``; ``numTraining`` is the number of cases; label maps hold
only declared labels; image and label share shape, spacing, origin and direction; no NaN.

Example:
    >>> image_name("liver_003"), label_name("liver_003")
    ('liver_003_0000.nii.gz', 'liver_003.nii.gz')
    >>> label_problems({"background": 0, "liver": 1, "tumour": 3})
    ['labels must be consecutive integers 0, 1, 2, ...: got [0, 1, 3]']
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ctbridge.errors import CTBridgeError, DataError, one_line
from ctbridge.formats.cases import Case, SourceDataset, check_unique, read_json
from ctbridge.formats.geometry import grid_difference
from ctbridge.io.atomic import atomic_path

DATASET_JSON = "dataset.json"
SPLITS_FILE = "splits_final.json"
REQUIRED_KEYS = ("channel_names", "labels", "numTraining", "file_ending")
CHANNEL = "_0000"
FOLDER_NAME = re.compile(r"Dataset\d{3}_[A-Za-z0-9_\-]+")


def image_name(case: str, ending: str = ".nii.gz") -> str:
    """File name of a case's (first and only) channel in ``imagesTr``."""
    return f"{case}{CHANNEL}{ending}"


def label_name(case: str, ending: str = ".nii.gz") -> str:
    """File name of a case's label map in ``labelsTr``."""
    return f"{case}{ending}"


def is_nnunet_dataset(root: Path) -> bool:
    """A folder whose ``dataset.json`` has nnU-Net v2 keys and no Decathlon ``training`` list."""
    meta_path = Path(root) / DATASET_JSON
    if not meta_path.is_file():
        return False
    meta = read_json(meta_path)
    return isinstance(meta, dict) and "training" not in meta and (
        "file_ending" in meta or "channel_names" in meta)


def label_ids(labels: Mapping[str, Any]) -> list[int]:
    """The integer ids a ``labels`` mapping declares (region lists flattened), sorted."""
    ids: set[int] = set()
    for value in labels.values():
        for v in value if isinstance(value, list | tuple) else [value]:
            ids.add(int(v))
    return sorted(ids)


def label_problems(labels: Any) -> list[str]:
    """What breaks nnU-Net's label rules in a ``dataset.json`` ``labels`` mapping (name -> id)."""
    if not isinstance(labels, Mapping) or not labels:
        return ["labels must be a non-empty mapping of names to integer ids"]
    problems = []
    for name, value in labels.items():
        values = value if isinstance(value, list | tuple) else [value]
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            problems.append(f"label {name!r}: id {value!r} is not an integer")
    if problems:
        return problems
    if labels.get("background") != 0:
        problems.append("labels must declare background as 0 (\"background\": 0)")
    ids = label_ids(labels)
    if ids != list(range(len(ids))):
        problems.append(f"labels must be consecutive integers 0, 1, 2, ...: got {ids}")
    return problems


def meta_problems(meta: Any) -> list[str]:
    """What breaks nnU-Net's rules in a parsed ``dataset.json`` (keys, types, labels)."""
    if not isinstance(meta, dict):
        return ["dataset.json must hold a JSON object"]
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        return [f"dataset.json lacks {', '.join(missing)} (required: {', '.join(REQUIRED_KEYS)})"]
    problems = []
    if not isinstance(meta["channel_names"], dict) or not meta["channel_names"]:
        problems.append("channel_names must map channel index strings to names")
    if not isinstance(meta["numTraining"], int) or isinstance(meta["numTraining"], bool):
        problems.append(f"numTraining must be an integer, got {meta['numTraining']!r}")
    if not isinstance(meta["file_ending"], str) or not meta["file_ending"].startswith("."):
        problems.append(f"file_ending must be like \".nii.gz\", got {meta['file_ending']!r}")
    return problems + label_problems(meta["labels"])


def _identifiers(folder: Path, ending: str, channels: int) -> tuple[list[str], list[str]]:
    """(case ids, problems) of ``imagesTr``: files must be ``<case>_XXXX<ending>``."""
    pattern = re.compile(r"(.+)_(\d{4})" + re.escape(ending))
    found: dict[str, set[int]] = {}
    problems = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.name.endswith(ending):
            continue
        match = pattern.fullmatch(path.name)
        if match is None:
            problems.append(f"{path}: image names must be <case>_0000{ending}")
            continue
        found.setdefault(match.group(1), set()).add(int(match.group(2)))
    for case, chans in found.items():
        if chans != set(range(channels)):
            problems.append(f"{folder}: case {case!r} has channels {sorted(chans)}, dataset.json "
                            f"declares {channels}")
    return sorted(found), problems


def read_nnunet(root: str | Path) -> SourceDataset:
    """Read an nnU-Net v2 raw data set with one CT channel.

    Cases whose label file is missing are returned with ``label=None`` (the caller reports them
    and goes on); what makes the whole data set unusable raises.

    Raises:
        DataError: no or invalid ``dataset.json``, more than one channel, a non-NIfTI
            ``file_ending``, the ``dataset`` file-list variant, badly named images.
    """
    root = Path(root)
    meta_path = root / DATASET_JSON
    meta = read_json(meta_path)
    problems = meta_problems(meta)
    if problems:
        raise DataError(f"{meta_path}: {problems[0]}")
    if "dataset" in meta:
        raise DataError(f"{meta_path}: the \"dataset\" file list is not supported; use the "
                        "imagesTr/labelsTr layout")
    ending = meta["file_ending"]
    if ending not in (".nii.gz", ".nii"):
        raise DataError(f"{meta_path}: file_ending {ending!r}; ctbridge reads NIfTI data sets "
                        "(.nii.gz, .nii)")
    if len(meta["channel_names"]) != 1:
        raise DataError(f"{meta_path}: {len(meta['channel_names'])} channels "
                        f"({meta['channel_names']}); ctbridge translates single-channel CT")
    images = root / "imagesTr"
    if not images.is_dir():
        raise DataError(f"{root}: no imagesTr/ folder (not an nnU-Net raw data set)")
    ids, problems = _identifiers(images, ending, 1)
    if problems:
        raise DataError(problems[0])
    if not ids:
        raise DataError(f"{images}: no <case>_0000{ending} images")
    cases = []
    for case in ids:
        label = root / "labelsTr" / label_name(case, ending)
        cases.append(Case(case, images / image_name(case, ending),
                          label if label.is_file() else None))
    check_unique(cases, meta_path)
    others: dict[str, list[dict[str, Any]]] = {}
    tests = root / "imagesTs"
    if tests.is_dir():
        others["test"] = [{"image": p} for p in sorted(tests.iterdir())
                          if not p.name.startswith(".") and p.name.endswith(ending)]
    return SourceDataset("nnunet", root, meta, cases, ending, others)


def write_dataset_json(root: Path, meta: Mapping[str, Any]) -> Path:
    """Write ``root/dataset.json`` atomically (nnU-Net reads it with json.load)."""
    with atomic_path(Path(root) / DATASET_JSON) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    return Path(root) / DATASET_JSON


def integrity_problems(root: str | Path, *, check_voxels: bool = True) -> list[str]:
    """Every breach of nnU-Net v2's data set rules (module docstring) in a raw data set folder.

    Args:
        root: the data set folder.
        check_voxels: also read every label (declared values only) and image (no NaN); the
            header checks (grids) always run.

    Returns:
        One line per problem; empty when nnU-Net's checks would pass.
    """
    from ctbridge.io import read_labelmap, read_scan

    root = Path(root)
    try:
        meta = read_json(root / DATASET_JSON)
    except DataError as exc:
        return [str(exc)]
    problems = meta_problems(meta)
    if problems:
        return problems
    for sub in ("imagesTr", "labelsTr"):
        if not (root / sub).is_dir():
            problems.append(f"{root}: no {sub}/ folder")
    if problems:
        return problems
    ending = meta["file_ending"]
    ids, problems = _identifiers(root / "imagesTr", ending, len(meta["channel_names"]))
    if len(ids) != meta["numTraining"]:
        problems.append(f"numTraining is {meta['numTraining']}, imagesTr holds {len(ids)} cases")
    labels = {p.name[: -len(ending)] for p in (root / "labelsTr").iterdir()
              if p.name.endswith(ending) and not p.name.startswith(".")}
    problems += [f"{root / 'labelsTr'}: no label for case {c!r}" for c in ids if c not in labels]
    problems += [f"{root / 'labelsTr'}: label {c!r} has no image" for c in sorted(labels)
                 if c not in ids]
    declared = set(label_ids(meta["labels"]))
    for case in ids:
        if case not in labels:
            continue
        label = root / "labelsTr" / label_name(case, ending)
        try:
            for channel in range(len(meta["channel_names"])):
                image = root / "imagesTr" / f"{case}_{channel:04d}{ending}"
                difference = grid_difference(image, label)
                if difference:
                    problems.append(f"{label}: not on the grid of {image.name} ({difference})")
            if check_voxels:
                values = set(np.unique(read_labelmap(label)).tolist())
                if values - declared:
                    problems.append(f"{label}: undeclared label values "
                                    f"{sorted(values - declared)}")
                image = root / "imagesTr" / image_name(case, ending)
                if np.isnan(read_scan(image).array).any():
                    problems.append(f"{image}: NaN voxels")
        except CTBridgeError as exc:
            problems.append(one_line(exc))
    return problems


def check_folder_name(root: Path) -> str | None:
    """A note when ``root`` is not named ``DatasetXXX_Name`` (nnU-Net finds data sets by it)."""
    if FOLDER_NAME.fullmatch(Path(root).name):
        return None
    return (f"{root}: nnU-Net finds data sets by folder name DatasetXXX_Name (three digits); "
            "rename it before nnUNetv2_plan_and_preprocess")
