"""A labelled phantom cohort on disk and its patient-disjoint k-fold split.

The layout is the phantom's (``ctbridge.phantom.dataset``)::

    ROOT/dataset.json                 "labels" (name -> id), "phases"
    ROOT/<phase>/patient_XXX.nii.gz   HU
    ROOT/labels/patient_XXX.nii.gz    organ labels, identical in every phase
    ROOT/plaques/patient_XXX.nii.gz   plaque instance ids (optional)

Folds split *patients*, never slices: a patient's NC and CE scans are nearly the same image, so
a slice-level split would test on training anatomy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ctbridge.datasets.splits import make_folds
from ctbridge.errors import DataError
from ctbridge.formats.cases import read_json

NIFTI = ".nii.gz"


@dataclass(frozen=True)
class Fold:
    """One fold: its index, training and test patient file names (disjoint)."""

    index: int
    train: tuple[str, ...]
    test: tuple[str, ...]


@dataclass
class Cohort:
    """The patients of a phantom folder usable by an experiment.

    Attributes:
        root: the phantom folder.
        names: patient file names (``patient_000.nii.gz``), sorted.
        label_ids: label name -> id from ``dataset.json``.
        phase_of: domain (``nc``, ``ce``) -> phantom phase folder.
    """

    root: Path
    names: list[str]
    label_ids: dict[str, int]
    phase_of: dict[str, str]

    def scan_path(self, domain: str, name: str) -> Path:
        return self.root / self.phase_of[domain] / name

    def labels_path(self, name: str) -> Path:
        return self.root / "labels" / name

    def plaques_path(self, name: str) -> Path | None:
        path = self.root / "plaques" / name
        return path if path.is_file() else None

    def label_id(self, label: str) -> int:
        if label not in self.label_ids:
            raise DataError(f"{self.root / 'dataset.json'}: no label {label!r} (labels: "
                            f"{sorted(self.label_ids)})")
        return self.label_ids[label]

    def fingerprint(self) -> str:
        """Identity of the data set (path + dataset.json), for caches derived from it."""
        import hashlib

        meta = (self.root / "dataset.json").read_bytes()
        return f"{self.root.resolve()}:{hashlib.sha1(meta).hexdigest()[:16]}"


def load_cohort(root: str | Path, *, ce_phase: str = "arterial", patients: int | None = None,
                required_labels: Sequence[str] = ()) -> Cohort:
    """Read ``dataset.json`` and list the patients that have NC, CE and a label map.

    Args:
        root: phantom folder.
        ce_phase: phantom phase used as the ``ce`` domain.
        patients: keep the first N patients by name (None = all).
        required_labels: label names the experiment needs (e.g. ``plaque``).

    Raises:
        DataError: no dataset.json, a missing phase or label, or too few patients.
    """
    root = Path(root)
    meta_path = root / "dataset.json"
    if not meta_path.is_file():
        raise DataError(f"{root}: no dataset.json (expected a phantom folder: ctbridge phantom)")
    meta = read_json(meta_path)
    labels = meta.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise DataError(f"{meta_path}: no \"labels\" mapping of names to ids")
    label_ids = {str(k): int(v) for k, v in labels.items()}
    phase_of = {"nc": "nc", "ce": ce_phase}
    for domain, phase in phase_of.items():
        if not (root / phase).is_dir():
            raise DataError(f"{root}: no {phase}/ folder for the {domain!r} domain (phases: "
                            f"{meta.get('phases')}); set ce_phase to one of them")
    names = sorted(p.name for p in (root / "labels").glob(f"*{NIFTI}")) \
        if (root / "labels").is_dir() else []
    names = [n for n in names if all((root / ph / n).is_file() for ph in phase_of.values())]
    if patients is not None:
        names = names[:patients]
    if len(names) < 2:
        raise DataError(f"{root}: {len(names)} patients with nc, {ce_phase} and labels; an "
                        "experiment needs at least 2")
    cohort = Cohort(root, names, label_ids, phase_of)
    for label in required_labels:
        cohort.label_id(label)
    return cohort


def kfold(names: Sequence[str], folds: int, seed: int = 0) -> list[Fold]:
    """Patient-disjoint k-fold split: shuffle with ``seed``, deal round-robin into ``folds``.

    Every patient is tested exactly once; fold sizes differ by at most one.

    Raises:
        DataError: fewer patients than folds (a fold would have no test patient).
    """
    groups = make_folds(names, folds, seed, what="patients")
    out = []
    for k, test in enumerate(groups):
        train = sorted(n for g, group in enumerate(groups) if g != k for n in group)
        out.append(Fold(k, tuple(train), tuple(sorted(test))))
    return out
