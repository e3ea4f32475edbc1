"""A tiny synthetic vessel whose fine-structure metrics can be computed by hand.

Three slices of 40 x 40 px at 0.7 mm (pixel area 0.49 mm²). Background (vessel wall and
everything else) 40 HU; an aortic lumen disk of radius 6 px centred at (20, 20) at 300 HU (a
contrast phase); three plaques of 2 x 2 px on the wall of the middle slice at 600 HU:

* plaque 1 above the lumen: rows 12-13, columns 19-20
* plaque 2 below the lumen: rows 27-28, columns 19-20
* plaque 3 left of the lumen: rows 19-20, columns 12-13

So the calcium mask of the truth is exactly the 12 plaque voxels, and each plaque is one
Agatston lesion of 4 px = 1.96 mm² with weight 4 (peak 600 HU): 7.84 each, 23.52 in all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHAPE = (3, 40, 40)
SPACING = (0.7, 0.7, 3.0)  # (x, y, z) mm
WALL_HU, LUMEN_HU, PLAQUE_HU = 40.0, 300.0, 600.0
AORTA, ILIAC, PANCREAS, PLAQUE = 3, 4, 9, 20
LABEL_IDS = {"background": 0, "aorta": AORTA, "iliac": ILIAC, "pancreas": PANCREAS,
             "plaque": PLAQUE}
PLAQUE_BOXES = {1: (slice(12, 14), slice(19, 21)), 2: (slice(27, 29), slice(19, 21)),
                3: (slice(19, 21), slice(12, 14))}
PLAQUE_Z = 1


@dataclass
class Vessel:
    """Truth volume, organ labels and plaque instances of the synthetic vessel."""

    hu: np.ndarray
    labels: np.ndarray
    plaques: np.ndarray

    def copy_hu(self) -> np.ndarray:
        return self.hu.copy()


def lumen_disk() -> np.ndarray:
    yy, xx = np.mgrid[:SHAPE[1], :SHAPE[2]]
    return (yy - 20) ** 2 + (xx - 20) ** 2 <= 36


def make_vessel() -> Vessel:
    hu = np.full(SHAPE, WALL_HU, np.float32)
    labels = np.zeros(SHAPE, np.int32)
    plaques = np.zeros(SHAPE, np.int32)
    disk = lumen_disk()
    hu[:, disk] = LUMEN_HU
    labels[:, disk] = AORTA
    labels[:, 30:34, 5:10] = PANCREAS
    for pid, (rows, cols) in PLAQUE_BOXES.items():
        hu[PLAQUE_Z, rows, cols] = PLAQUE_HU
        labels[PLAQUE_Z, rows, cols] = PLAQUE
        plaques[PLAQUE_Z, rows, cols] = pid
    return Vessel(hu=hu, labels=labels, plaques=plaques)


def plaque_index(pid: int) -> tuple:
    rows, cols = PLAQUE_BOXES[pid]
    return (PLAQUE_Z, rows, cols)
