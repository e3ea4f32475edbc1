"""One phantom patient in every phase: the same anatomy, labels and plaques, different contrast.

Example:
    >>> pt = generate_patient(3, size=96, slices=8)
    >>> sorted(pt.volumes), pt.labels.shape
    (['arterial', 'delayed', 'nc', 'venous'], (8, 96, 96))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ctbridge.io import Scan
from ctbridge.phantom.anatomy import Anatomy, random_anatomy
from ctbridge.phantom.hu_table import PHASES, lookup_tables
from ctbridge.phantom.plaques import place_plaques
from ctbridge.phantom.render import Grid, add_correlated_noise, render

GENERATOR_VERSION = "2.0"
FOV_MM = 360.0  # an adult abdomen; spacing grows as the matrix shrinks


@dataclass
class Patient:
    """Volumes (HU, float32, (z, y, x)) per phase with their shared labels and plaques."""

    anatomy: Anatomy
    volumes: dict[str, np.ndarray]
    labels: np.ndarray  # uint8 ids of hu_table.LABELS, identical for every phase
    plaques: np.ndarray  # int16 plaque instance ids 1..n, 0 elsewhere
    spacing: tuple[float, float, float]  # (x, y, z) mm
    origin: tuple[float, float, float]  # LPS mm of voxel [0, 0, 0]
    hu_tables: dict[str, np.ndarray]  # HU per label id and phase drawn for this patient
    plaque_info: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seed(self) -> int:
        return self.anatomy.seed

    def scan(self, phase: str) -> Scan:
        """The ``phase`` volume as a :class:`~ctbridge.io.Scan` with the phantom's geometry."""
        return Scan(self.volumes[phase], spacing=self.spacing, origin=self.origin,
                    metadata={"modality": "CT",
                              "series_description": f"ctbridge phantom {phase}",
                              "patient_id": f"PHANTOM_{self.seed}"})


def check_phases(phases: Sequence[str]) -> tuple[str, ...]:
    """The phases as a tuple; raise ValueError naming any unknown one."""
    phases = tuple(phases)
    unknown = [ph for ph in phases if ph not in PHASES]
    if unknown or not phases or len(set(phases)) != len(phases):
        raise ValueError(f"phases must be distinct names from {list(PHASES)}, got {list(phases)}")
    return phases


def generate_patient(seed: int, *, size: int = 512, slices: int = 64, slice_mm: float = 3.0,
                     phases: Sequence[str] = PHASES, noise_hu: float = 15.0,
                     plaques_max: int = 20, fov_mm: float = FOV_MM) -> Patient:
    """Render patient ``seed`` in ``phases``; the same seed gives the same bytes.

    Args:
        seed: the patient (anatomy, HU draws, plaques) and its noise.
        size: in-plane matrix; the pixel spacing is ``fov_mm / size`` (0.70 mm at 512).
        slices: number of axial slices, spread from the liver dome to the common iliacs.
        slice_mm: slice thickness and spacing.
        phases: any of ``nc``, ``arterial``, ``venous``, ``delayed``.
        noise_hu: standard deviation of the correlated noise in HU (0: none).
        plaques_max: the plaque burden is drawn uniformly in ``[0, plaques_max]``.

    Raises:
        ValueError: unknown phases, or a grid too small to hold the anatomy.
    """
    phases = check_phases(phases)
    if size < 32 or slices < 2 or slice_mm <= 0 or noise_hu < 0 or plaques_max < 0:
        raise ValueError(f"need size >= 32, slices >= 2, slice_mm > 0, noise_hu >= 0 and "
                         f"plaques_max >= 0; got {size}, {slices}, {slice_mm}, {noise_hu}, "
                         f"{plaques_max}")
    anatomy = random_anatomy(seed, plaques_max)
    grid = Grid.make(size, slices, slice_mm, fov_mm)
    # separate streams: the HU draws and the noise never shift the anatomy of a seed
    every_phase = lookup_tables(PHASES, np.random.default_rng([seed, 1]))
    tables = {ph: every_phase[ph] for ph in phases}
    labels, volumes = render(anatomy, grid, tables)
    darkest = np.min(np.stack(list(every_phase.values())), axis=0)
    instances, info = place_plaques(anatomy, grid, volumes, labels, darkest)
    for ph in phases:
        add_correlated_noise(volumes[ph], noise_hu, grid.px,
                             np.random.default_rng([seed, 2, PHASES.index(ph)]))
    for entry in info:
        mask = instances == entry["id"]
        entry["peak_hu"] = {ph: round(float(volumes[ph][mask].max()), 1) for ph in phases}
    return Patient(
        anatomy=anatomy, volumes=volumes, labels=labels, plaques=instances,
        spacing=(grid.px, grid.px, slice_mm),
        origin=(float(grid.xs[0]), float(grid.ys[0]), float(grid.zs[0])),
        hu_tables=tables, plaque_info=info,
    )
