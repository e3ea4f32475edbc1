"""Calcified plaques: sub-voxel ellipsoids on the vessel wall, integrated over each voxel in 3D.

A plaque is much smaller than a 0.7 x 0.7 x 3 mm voxel, so each voxel gets the fraction ``f`` of
it the plaque covers (by sub-sampling) and its HU becomes ``(1 - f) * tissue + f * calcium`` in
every phase: small plaques lose peak HU to partial volume as on a scanner, and the plaque voxels
are the same in every phase. A plaque whose noise-free peak could not reach ``VISIBLE_PEAK_HU``
even with the densest calcium is left out (a scanner would not show it either), so every plaque
in the ground truth is one a calcium score could see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ctbridge.phantom.anatomy import Anatomy, Plaque
from ctbridge.phantom.hu_table import LABELS
from ctbridge.phantom.render import Grid

SAMPLES = 5  # sub-samples per voxel axis
LABEL_FRACTION = 0.3  # a voxel is labelled plaque when this much of it is calcium
VISIBLE_PEAK_HU = 170.0  # noise-free peak a plaque must reach (Agatston's 130 HU plus margin)
MAX_CALCIUM_HU = 2000.0


@dataclass
class Coverage:
    """The fraction of each voxel of a bounding box covered by one plaque."""

    plaque: Plaque
    box: tuple[slice, slice, slice]  # (z, y, x) voxel box
    fraction: np.ndarray  # float32 (z, y, x) in [0, 1]
    centre_mm: tuple[float, float, float]  # (x, y, z) in the grid's frame


def coverage(p: Anatomy, plaque: Plaque, grid: Grid) -> Coverage | None:
    """Sub-sample the plaque's ellipsoid over the voxels around it (None if it misses them)."""
    vx, vy, r = p.vessel_at(plaque.vessel, plaque.t)
    dist = r + plaque.offset
    centre = (vx + dist * np.cos(plaque.angle), vy + dist * np.sin(plaque.angle),
              grid.z_of_level(plaque.t))
    radii = (plaque.diameter / 2, plaque.diameter / 2, plaque.length / 2)
    axes = [(grid.zs, centre[2], radii[2], grid.slice_mm), (grid.ys, centre[1], radii[1], grid.px),
            (grid.xs, centre[0], radii[0], grid.px)]
    sub = (np.arange(SAMPLES) + 0.5) / SAMPLES - 0.5
    box, norm = [], []
    for coords, c, rad, step in axes:
        lo, hi = np.searchsorted(coords, [c - rad - step, c + rad + step])
        if lo >= hi:
            return None
        box.append(slice(int(lo), int(hi)))
        samples = (coords[lo:hi, None] + sub[None] * step).ravel()
        norm.append(((samples - c) / rad) ** 2)
    inside = norm[0][:, None, None] + norm[1][None, :, None] + norm[2][None, None, :] <= 1.0
    shape = [s.stop - s.start for s in box]
    frac = inside.reshape(shape[0], SAMPLES, shape[1], SAMPLES, shape[2], SAMPLES)
    frac = frac.mean(axis=(1, 3, 5), dtype=np.float32)
    if frac.max() <= 0:
        return None
    return Coverage(plaque, tuple(box), frac, centre)  # type: ignore[arg-type]


def place_plaques(p: Anatomy, grid: Grid, volumes: dict[str, np.ndarray], labels: np.ndarray,
                  darkest: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Blend the patient's plaques into every phase; label them; describe each one.

    Args:
        darkest: HU per label id in this patient's darkest phase; the calcium is chosen against
            it, so the plaques do not depend on which phases are rendered.

    Returns:
        Plaque instance ids (int16, 1..n, 0 elsewhere) and one dict per kept plaque.
    """
    instances = np.zeros(labels.shape, np.int16)
    info: list[dict[str, Any]] = []
    lumen_ids = [LABELS["aorta"], LABELS["iliac"]]
    for plaque in p.plaques:
        cov = coverage(p, plaque, grid)
        if cov is None:
            continue
        f = cov.fraction
        at = np.unravel_index(int(np.argmax(f)), f.shape)
        fmax = float(f[at])
        # calcium bright enough for the most covered voxel to show VISIBLE_PEAK_HU
        background = float(darkest[labels[cov.box][at]])
        needed = (VISIBLE_PEAK_HU - (1 - fmax) * background) / fmax
        if needed > MAX_CALCIUM_HU:
            continue
        mask = f >= LABEL_FRACTION
        if not mask.any():  # tiny plaque: its most covered voxel carries it
            mask = f == fmax
        mask &= instances[cov.box] == 0  # touching plaques keep separate instances
        if not mask.any():
            continue
        calcium = max(plaque.calcium_hu, needed)
        touches_lumen = bool(np.isin(labels[cov.box][mask], lumen_ids).any())
        for vol in volumes.values():
            region = vol[cov.box]
            region += f * (calcium - region)
        ident = len(info) + 1
        instances[cov.box][mask] = ident
        labels[cov.box][mask] = LABELS["plaque"]
        zz, yy, xx = np.nonzero(mask)
        origin = [s.start for s in cov.box]
        info.append({
            "id": ident, "vessel": plaque.vessel, "voxels": int(mask.sum()),
            "centre_voxel_zyx": [round(float(o + v.mean()), 2)
                                 for o, v in zip(origin, (zz, yy, xx), strict=True)],
            "centre_mm_xyz": [round(float(v), 2) for v in cov.centre_mm],
            "diameter_mm": round(plaque.diameter, 2), "length_mm": round(plaque.length, 2),
            "calcium_hu": round(calcium, 1), "max_coverage": round(fmax, 3),
            "touches_lumen": touches_lumen,
        })
    return instances, info
