"""Write a phantom cohort in the nnU-Net-like layout every ctbridge command reads.

    OUT/dataset.json                    labels (name -> id), phases, geometry, seeds, plaques
    OUT/<phase>/patient_XXX.nii.gz      int16 HU, one folder per phase
    OUT/labels/patient_XXX.nii.gz       organ labels (identical in every phase)
    OUT/plaques/patient_XXX.nii.gz      plaque instance ids
    OUT/contact_sheets/patient_XXX.png  the phases side by side at a plaque
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ctbridge.io import write_labelmap, write_scan
from ctbridge.io.atomic import atomic_path
from ctbridge.phantom.generate import FOV_MM, GENERATOR_VERSION, generate_patient
from ctbridge.phantom.sheet import contact_sheet
from ctbridge.phantom.tissues import LABELS, PHASES


def patient_seed(seed: int, index: int) -> int:
    """Seed of patient ``index`` in a cohort seeded with ``seed`` (stable, well mixed)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def write_phantom_dataset(out: str | Path, *, patients: int = 4, size: int = 512,
                          slices: int = 64, slice_mm: float = 3.0,
                          phases: Sequence[str] = PHASES, seed: int = 0, noise_hu: float = 15.0,
                          plaques_max: int = 20, sheets: bool = True, progress: bool = True
                          ) -> Path:
    """Generate ``patients`` phantom patients into ``out`` (see the module docstring)."""
    out = Path(out)
    phases = tuple(phases)
    entries: list[dict[str, Any]] = []
    for i in tqdm(range(patients), desc="phantom patients", disable=not progress, unit="patient"):
        name = f"patient_{i:03d}"
        ph = generate_patient(patient_seed(seed, i), size=size, slices=slices,
                              slice_mm=slice_mm, phases=phases, noise_hu=noise_hu,
                              plaques_max=plaques_max)
        reference = ph.scan(phases[0])
        for phase in phases:
            write_scan(ph.scan(phase), out / phase / f"{name}.nii.gz", dtype="int16")
        write_labelmap(ph.labels, reference, out / "labels" / f"{name}.nii.gz")
        write_labelmap(ph.plaques, reference, out / "plaques" / f"{name}.nii.gz")
        if sheets:
            contact_sheet(ph, out / "contact_sheets" / f"{name}.png", title=name)
        entries.append({"name": name, "seed": ph.patient.seed,
                        "n_plaques": len(ph.plaque_info), "plaques": ph.plaque_info})
    meta = {
        "name": "ctbridge multi-phase abdominal CT phantom",
        "generator_version": GENERATOR_VERSION,
        "labels": LABELS,
        "phases": list(phases),
        "file_ending": ".nii.gz",
        "numTraining": patients,
        "size": size, "slices": slices, "slice_mm": slice_mm, "fov_mm": FOV_MM,
        "spacing_xyz_mm": [FOV_MM / size, FOV_MM / size, slice_mm],
        "seed": seed, "noise_hu": noise_hu, "plaques_max": plaques_max,
        "patients": entries,
    }
    with atomic_path(out / "dataset.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    return out
