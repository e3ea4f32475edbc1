"""A labelled data set as ctbridge sees it, whatever its format: a list of cases.

nnU-Net raw data sets and Decathlon/MONAI datalists differ in file names and in their
``dataset.json``; once read, both are a :class:`SourceDataset` of :class:`Case` (an image, its
label map and the datalist keys that travel with it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ctbridge.errors import DataError

Format = Literal["nnunet", "decathlon"]
NIFTI_ENDINGS = (".nii.gz", ".nii")


@dataclass(frozen=True)
class Case:
    """One training case of a data set.

    Attributes:
        case_id: the case identifier (``liver_007``): nnU-Net's file stem without channel.
        image: the (single-channel CT) image file.
        label: its label map, or None when the data set lacks it (a bad case, reported).
        extra: datalist keys other than image and label (e.g. ``fold``); copied to the
            synthetic case.
    """

    case_id: str
    image: Path
    label: Path | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceDataset:
    """A labelled data set read from disk.

    Attributes:
        format: ``nnunet`` or ``decathlon``.
        root: the folder holding ``dataset.json``.
        meta: the parsed ``dataset.json``.
        cases: its training cases, in file order.
        file_ending: ``.nii.gz`` or ``.nii``.
        others: datalist lists other than ``training`` (``test``, ``validation``): key ->
            items with absolute ``image`` (and ``label``) paths; nnU-Net's ``imagesTs`` files
            are under ``test``.
    """

    format: Format
    root: Path
    meta: dict[str, Any]
    cases: list[Case]
    file_ending: str = ".nii.gz"
    others: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def case_ids(self) -> list[str]:
        return [c.case_id for c in self.cases]


def read_json(path: Path) -> Any:
    """A JSON file's content; DataError naming the file when it is missing or not JSON."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def nifti_ending(name: str) -> str | None:
    """``.nii.gz`` or ``.nii`` when ``name`` ends with it, else None."""
    lower = name.lower()
    return next((e for e in NIFTI_ENDINGS if lower.endswith(e)), None)


def strip_ending(name: str) -> str:
    """``liver_7.nii.gz`` -> ``liver_7`` (DataError for a file that is not NIfTI)."""
    ending = nifti_ending(name)
    if ending is None:
        raise DataError(f"{name}: not a NIfTI file (.nii.gz or .nii); ctbridge reads NIfTI data "
                        "sets")
    return name[: -len(ending)]


def check_unique(cases: list[Case], source: Path) -> None:
    """DataError when two cases share an identifier (their outputs would overwrite each other)."""
    seen: dict[str, Path] = {}
    for case in cases:
        if case.case_id in seen:
            raise DataError(f"{source}: two training cases are named {case.case_id!r} "
                            f"({seen[case.case_id]} and {case.image})")
        seen[case.case_id] = case.image
