"""Find the training scans of each domain on disk.

Two layouts are accepted:

* a phantom folder (``dataset.json`` with ``"phases"``, ``<phase>/patient_XXX.nii.gz``): each
  domain maps to a phase, and patients are split so that no patient appears in two domains
  (the data are then truly unpaired, as real data are);
* a folder per domain (``DATA/<domain>/`` holding NIfTI files or DICOM series folders). When
  the folder is a ``ctbridge prepare`` output, its ``manifest.csv`` says which patient each file
  is; a patient with scans in several domains is then used in one of them only, as for the
  phantom, and the training log says so.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ctbridge.errors import DataError
from ctbridge.io.nifti import is_nifti


def is_phantom_folder(root: Path) -> bool:
    meta = root / "dataset.json"
    if not meta.is_file():
        return False
    try:
        return "phases" in json.loads(meta.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{meta}: not valid JSON ({exc})") from None


def list_scans(folder: Path) -> list[Path]:
    """NIfTI files and DICOM series folders directly inside ``folder``, sorted by name."""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    def is_scan(p: Path) -> bool:
        if p.name.startswith("."):
            return False
        return p.is_dir() or is_nifti(p) or p.suffix.lower() == ".dcm"

    return [p for p in sorted(folder.iterdir()) if is_scan(p)]


def phantom_patients(root: Path, phase: str) -> list[str]:
    folder = root / phase
    if not folder.is_dir():
        available = json.loads((root / "dataset.json").read_text()).get("phases", [])
        raise DataError(f"{root}: phase {phase!r} not in this phantom (phases: {available})")
    return [p.name for p in list_scans(folder)]


def split_patients(names: Sequence[str], n_groups: int, seed: int) -> list[list[str]]:
    """Shuffle ``names`` with ``seed``, deal them round-robin into ``n_groups`` disjoint groups."""
    order = np.random.default_rng(seed).permutation(len(names))
    groups: list[list[str]] = [[] for _ in range(n_groups)]
    for i, idx in enumerate(order):
        groups[i % n_groups].append(names[idx])
    return [sorted(g) for g in groups]


PREPARE_MANIFEST = "manifest.csv"


def prepared_patients(root: Path) -> dict[Path, str]:
    """File -> patient from a ``ctbridge prepare`` manifest in ``root`` (empty if none)."""
    manifest = root / PREPARE_MANIFEST
    if not manifest.is_file():
        return {}
    try:
        with manifest.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{manifest}: unreadable ({exc})") from None
    if rows and not {"patient", "output"} <= set(rows[0]):
        return {}  # some other manifest: nothing to learn from it
    return {root / row["output"]: row["patient"] for row in rows if row.get("output")}


def one_domain_per_patient(scans: Mapping[str, Sequence[Path]], patient_of: Mapping[Path, str],
                           seed: int) -> tuple[dict[str, list[Path]], list[str]]:
    """Keep each patient's scans in one domain only, so that the domains stay unpaired.

    A patient found in several domains is dealt to one of them (seeded shuffle, round-robin
    over that patient's domains). Returns the scans and lines for the training log.
    """
    domains_of: dict[str, list[str]] = {}
    for domain, paths in scans.items():
        for path in paths:
            patient = patient_of.get(path)
            if patient is not None and domain not in domains_of.setdefault(patient, []):
                domains_of[patient].append(domain)
    shared = sorted(p for p, ds in domains_of.items() if len(ds) > 1)
    if not shared:
        return {d: list(ps) for d, ps in scans.items()}, []
    order = np.random.default_rng(seed).permutation(len(shared))
    keep = {shared[i]: domains_of[shared[i]][j % len(domains_of[shared[i]])]
            for j, i in enumerate(order)}
    result = {d: [p for p in ps if keep.get(patient_of.get(p, ""), d) == d]
              for d, ps in scans.items()}
    notes = [f"{len(shared)} patient(s) have scans in several domains ({PREPARE_MANIFEST}); "
             "each is used in one domain only, so the data stay unpaired: "
             + ", ".join(f"{p} -> {keep[p]}" for p in shared)]
    return result, notes


def domain_scans(
    root: str | Path,
    domains: Sequence[str],
    *,
    phase_of: Mapping[str, str] | None = None,
    exclude: Sequence[str] = (),
    seed: int = 0,
    log: logging.Logger | None = None,
) -> dict[str, list[Path]]:
    """Paths of the training scans of each domain.

    Args:
        root: phantom folder or folder with one sub-folder per domain.
        domains: domain names, e.g. ``["nc", "ce"]``.
        phase_of: phantom only: domain -> phantom phase (``{"ce": "arterial"}``); a domain not
            listed is taken to be a phase of the same name.
        exclude: phantom only: patient file names kept out of training (held-out test patients).
        seed: seed of the patient split between domains (phantom, or a prepare output with
            patients in several domains).
        log: where to say how patients were split (the training log).

    Raises:
        DataError: a domain without scans, a layout that fits neither form, or an ``exclude``
            name that is no patient of the phantom.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    phase_of = dict(phase_of or {})
    if is_phantom_folder(root):
        phases = [phase_of.get(d, d) for d in domains]
        common = set(phantom_patients(root, phases[0]))
        for phase in phases[1:]:
            common &= set(phantom_patients(root, phase))
        unknown = sorted(set(exclude) - common)
        if unknown:  # a misspelt hold-out would silently train on the test patients
            raise DataError(f"{root}: data.holdout names {', '.join(unknown)}, which is not a "
                            f"patient file of this phantom (e.g. {min(common, default='-')})")
        names = sorted(common - set(exclude))
        if len(names) < len(domains):
            raise DataError(f"{root}: {len(names)} patients for {len(domains)} domains; an "
                            "unpaired split needs at least one patient per domain")
        groups = split_patients(names, len(domains), seed)
        split = zip(domains, phases, groups, strict=True)
        return {d: [root / ph / n for n in g] for d, ph, g in split}
    result: dict[str, list[Path]] = {}
    for domain in domains:
        folder = root / domain
        if not folder.is_dir():
            raise DataError(f"{root}: expected a phantom folder (dataset.json) or one folder per "
                            f"domain; {folder.name}/ is missing")
        scans = list_scans(folder)
        if not scans:
            raise DataError(f"{folder}: no NIfTI files or DICOM series")
        result[domain] = scans
    patient_of = prepared_patients(root)
    if patient_of:
        result, notes = one_domain_per_patient(result, patient_of, seed)
        for note in notes:
            if log is not None:
                log.info(note)
        empty = [d for d, ps in result.items() if not ps]
        if empty:
            raise DataError(f"{root}: no scans left in {', '.join(empty)} once each patient is "
                            "kept in one domain (unpaired); add patients scanned in one phase")
    return result
