"""One phantom patient in every phase: the same anatomy, labels and plaques, different contrast.

Example:
    >>> ph = generate_patient(seed=3, size=96, slices=8)
    >>> sorted(ph.volumes), ph.labels.shape
    (['arterial', 'delayed', 'nc', 'venous'], (8, 96, 96))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ctbridge.io import Scan
from ctbridge.phantom.patient import Patient, random_patient
from ctbridge.phantom.raster import Grid, correlated_noise, plaque_coverage, render_fine_slices
from ctbridge.phantom.tissues import LABELS, PHASES

GENERATOR_VERSION = "1.0"
FOV_MM = 360.0  # an adult abdomen; spacing grows as the matrix shrinks
PLAQUE_LABEL_FRACTION = 0.3  # a voxel is labelled plaque when this much of it is calcium
VISIBLE_PEAK_HU = 170.0  # noise-free peak a plaque must reach to count (Agatston: 130 HU)
MAX_CALCIUM_HU = 2000.0


@dataclass
class PhantomPatient:
    """Volumes (HU, float32, (z, y, x)) per phase, shared labels and plaque instances."""

    patient: Patient
    volumes: dict[str, np.ndarray]
    labels: np.ndarray  # uint8, ids of tissues.LABELS
    plaques: np.ndarray  # int16 plaque instance ids (1..n), 0 elsewhere
    spacing: tuple[float, float, float]  # (x, y, z) mm
    origin: tuple[float, float, float]  # LPS mm of voxel [0, 0, 0]
    plaque_info: list[dict[str, Any]] = field(default_factory=list)

    def scan(self, phase: str) -> Scan:
        return Scan(self.volumes[phase], spacing=self.spacing, origin=self.origin,
                    metadata={"modality": "CT",
                              "series_description": f"ctbridge phantom {phase}",
                              "patient_id": f"PHANTOM_{self.patient.seed}"})


def _place_plaques(p: Patient, grid: Grid, volumes: dict[str, np.ndarray], labels: np.ndarray
                   ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Blend plaques into every phase by coverage; label voxels; describe each plaque."""
    instances = np.zeros(labels.shape, np.int16)
    info = []
    reference = next(iter(volumes.values()))
    for pv in plaque_coverage(p, grid):
        f = pv.fraction
        # Partial volume can hide a small plaque entirely (as on a scanner). Ground truth
        # keeps only plaques a calcium score would see: brighten the calcium up to a
        # physical maximum so the noise-free peak clears VISIBLE_PEAK_HU, else skip it.
        at = np.unravel_index(int(np.argmax(f)), f.shape)
        background = float(reference[pv.box][at])
        fmax = float(f[at])
        needed = (VISIBLE_PEAK_HU - (1 - fmax) * background) / fmax
        if needed > MAX_CALCIUM_HU:
            continue
        mask = f >= PLAQUE_LABEL_FRACTION
        if not mask.any():  # tiny plaque: its most covered voxel still carries it
            mask = f == fmax
        inst = instances[pv.box]
        mask &= inst == 0  # plaques that touch keep separate instances
        if not mask.any():
            continue
        pv.peak_hu = max(pv.peak_hu, needed)
        for vol in volumes.values():
            region = vol[pv.box]
            region[...] = (1 - f) * region + f * pv.peak_hu
        ident = len(info) + 1
        inst[mask] = ident
        labels[pv.box][mask] = LABELS["plaque"]
        zz, yy, xx = np.nonzero(mask)
        z0, y0, x0 = (s.start for s in pv.box)
        pl = p.plaques[pv.index]
        centre_vox = [float(z0 + zz.mean()), float(y0 + yy.mean()), float(x0 + xx.mean())]
        info.append({
            "id": ident, "vessel": pl.vessel, "voxels": int(mask.sum()),
            "centre_voxel_zyx": [round(v, 2) for v in centre_vox],
            "centre_mm_xyz": [round(v, 2) for v in pv.centre_mm],
            "diameter_mm": round(pl.diameter, 2), "length_mm": round(pl.length, 2),
            "calcium_hu": round(pv.peak_hu, 1), "max_coverage": round(float(f.max()), 3),
        })
    return instances, info


def generate_patient(seed: int, *, size: int = 512, slices: int = 64, slice_mm: float = 3.0,
                     phases: tuple[str, ...] | list[str] = PHASES, noise_hu: float = 15.0,
                     plaques_max: int = 20, fov_mm: float = FOV_MM) -> PhantomPatient:
    """Render patient ``seed`` in ``phases``.

    Args:
        seed: the patient (anatomy, plaques) and its noise.
        size: in-plane matrix; spacing is ``fov_mm / size``.
        slices, slice_mm: number and thickness of axial slices.
        phases: any of ``nc``, ``arterial``, ``venous``, ``delayed``.
        noise_hu: standard deviation of the (correlated) noise in HU; 0 for none.
        plaques_max: plaque burden is drawn uniformly in [0, plaques_max].
    """
    phases = tuple(phases)
    unknown = [ph for ph in phases if ph not in PHASES]
    if unknown or not phases:
        raise ValueError(f"unknown phases {unknown}; choose from {PHASES}")
    if size < 32 or slices < 2:
        raise ValueError(f"size must be >= 32 and slices >= 2, got {size} and {slices}")
    patient = random_patient(seed, plaques_max)
    grid = Grid.make(size, slices, slice_mm, fov_mm)
    labels, volumes = render_fine_slices(patient, grid, phases)
    instances, info = _place_plaques(patient, grid, volumes, labels)
    for ph in phases:
        rng = np.random.default_rng([seed, PHASES.index(ph), 7])
        volumes[ph] += correlated_noise(volumes[ph].shape, noise_hu, rng)
    for entry in info:
        mask = instances == entry["id"]
        entry["peak_hu"] = {ph: round(float(volumes[ph][mask].max()), 1) for ph in phases}
    return PhantomPatient(
        patient=patient, volumes=volumes, labels=labels, plaques=instances,
        spacing=(grid.px, grid.px, slice_mm),
        origin=(float(grid.xs[0]), float(grid.ys[0]), float(grid.zs[0])),
        plaque_info=info,
    )
