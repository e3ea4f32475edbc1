"""Write a phantom cohort in the nnU-Net-like layout every ctbridge command reads.

    OUT/dataset.json                    labels (name -> id), phases, geometry, seeds, plaques
    OUT/<phase>/patient_XXX.nii.gz      int16 HU, one folder per phase
    OUT/labels/patient_XXX.nii.gz       organ labels (identical in every phase)
    OUT/plaques/patient_XXX.nii.gz      plaque instance ids (1..n)
    OUT/contact_sheets/patient_XXX.png  the phases side by side at a plaque slice
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ctbridge.io import write_labelmap, write_scan
from ctbridge.io.atomic import atomic_path
from ctbridge.io.progress import progress_bar
from ctbridge.phantom.contact_sheet import contact_sheet
from ctbridge.phantom.generate import FOV_MM, GENERATOR_VERSION, check_phases, generate_patient
from ctbridge.phantom.hu_table import HU_TABLE, LABELS, PHASES


def patient_seed(seed: int, index: int) -> int:
    """Seed of patient ``index`` in a cohort seeded with ``seed`` (stable and well mixed)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def patient_name(index: int) -> str:
    return f"patient_{index:03d}"


def render_patient(entry: Mapping[str, Any], meta: Mapping[str, Any], noise_hu: float
                   ) -> dict[str, np.ndarray]:
    """A written cohort's patient again, every phase, with ``noise_hu`` noise (0: none).

    ``entry`` is the patient's record in ``dataset.json``'s ``patients`` and ``meta`` the whole
    ``dataset.json``; the noise has its own random stream, so the anatomy is the same bytes as
    the scans on disk and only the noise differs (how the research tools get the noise-free
    truth of a phase).
    """
    return generate_patient(entry["seed"], size=meta["size"], slices=meta["slices"],
                            slice_mm=meta["slice_mm"], phases=meta["phases"],
                            noise_hu=noise_hu, plaques_max=meta["plaques_max"],
                            fov_mm=meta["fov_mm"]).volumes


def write_phantom_dataset(out: str | Path, *, patients: int = 4, size: int = 512,
                          slices: int = 64, slice_mm: float = 3.0,
                          phases: Sequence[str] = PHASES, seed: int = 0, noise_hu: float = 15.0,
                          plaques_max: int = 20, sheets: bool = True, progress: bool = True
                          ) -> Path:
    """Generate ``patients`` patients into ``out`` (layout in the module docstring).

    Patient ``i`` is :func:`generate_patient` of ``patient_seed(seed, i)``, so a cohort is
    reproducible byte for byte and patient ``i`` does not depend on how many were asked for.

    Returns:
        ``out``.
    """
    out = Path(out)
    phases = check_phases(phases)
    if patients < 1:
        raise ValueError(f"patients must be >= 1, got {patients}")
    entries: list[dict[str, Any]] = []
    for i in progress_bar(range(patients), desc="phantom", unit="patient", enabled=progress):
        name = patient_name(i)
        pt = generate_patient(patient_seed(seed, i), size=size, slices=slices, slice_mm=slice_mm,
                              phases=phases, noise_hu=noise_hu, plaques_max=plaques_max)
        for phase in phases:
            write_scan(pt.scan(phase), out / phase / f"{name}.nii.gz", dtype="int16")
        reference = pt.scan(phases[0])
        write_labelmap(pt.labels, reference, out / "labels" / f"{name}.nii.gz")
        write_labelmap(pt.plaques, reference, out / "plaques" / f"{name}.nii.gz")
        if sheets:
            contact_sheet(pt, out / "contact_sheets" / f"{name}.png", title=name)
        entries.append({"name": name, "seed": pt.seed, "n_plaques": len(pt.plaque_info),
                        "plaques": pt.plaque_info})
    meta = {
        "name": "ctbridge multi-phase abdominal CT phantom",
        "generator_version": GENERATOR_VERSION,
        "labels": LABELS,
        "phases": list(phases),
        "channel_names": {"0": "CT"},
        "file_ending": ".nii.gz",
        "numTraining": patients,
        "size": size, "slices": slices, "slice_mm": slice_mm, "fov_mm": FOV_MM,
        "spacing_xyz_mm": [FOV_MM / size, FOV_MM / size, slice_mm],
        "seed": seed, "noise_hu": noise_hu, "plaques_max": plaques_max,
        "hu_ranges": {name: {ph: list(HU_TABLE[name][ph]) for ph in phases} for name in LABELS},
        "patients": entries,
    }
    with atomic_path(out / "dataset.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    return out
