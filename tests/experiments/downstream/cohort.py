"""A tiny labelled two-phase cohort written on the fly (no dependence on the phantom).

Each patient: 4 slices of 32 x 32 px at 2 x 2 x 3 mm. Air outside a body disk of soft tissue
(40 HU); an aortic disk (40 HU NC, 300 HU CE), a pancreas block (45 HU NC, 110 HU CE) and
2 plaques of 2 x 2 px at 600 HU touching the aorta (identical in both phases).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ctbridge.io import Scan, write_labelmap, write_scan

SHAPE = (4, 32, 32)
SPACING = (2.0, 2.0, 3.0)
LABELS = {"background": 0, "fat": 1, "aorta": 2, "pancreas": 3, "plaque": 4}
PHASES = ("nc", "arterial")


def make_patient(seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """HU per phase, label map and plaque instances of one tiny patient."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SHAPE[1], :SHAPE[2]]
    body = (yy - 16) ** 2 + (xx - 16) ** 2 < 14 ** 2
    cy, cx = 14 + rng.integers(-2, 3), 16 + rng.integers(-2, 3)
    aorta = (yy - cy) ** 2 + (xx - cx) ** 2 <= 9
    labels = np.zeros(SHAPE, np.int16)
    labels[:, body] = LABELS["fat"]
    labels[:, aorta] = LABELS["aorta"]
    labels[1:3, 22:26, 8:14] = LABELS["pancreas"]
    plaques = np.zeros(SHAPE, np.int16)
    for pid, (z, dy, dx) in enumerate([(1, -4, 0), (2, 0, 3)], start=1):
        y0, x0 = cy + dy, cx + dx
        plaques[z, y0:y0 + 2, x0:x0 + 2] = pid
    labels[plaques > 0] = LABELS["plaque"]
    hu = {}
    for phase, (aorta_hu, pancreas_hu) in {"nc": (40, 45), "arterial": (300, 110)}.items():
        v = np.full(SHAPE, -1000.0, np.float32)
        v[:, body] = 40.0
        v[labels == LABELS["aorta"]] = aorta_hu
        v[labels == LABELS["pancreas"]] = pancreas_hu
        v[plaques > 0] = 600.0
        v[:, body] += rng.normal(0, 5, (SHAPE[0], int(body.sum())))
        hu[phase] = v
    return hu, labels, plaques


def write_cohort(root: Path, patients: int = 4) -> Path:
    """Write the phantom-like layout (dataset.json, phases, labels, plaques) under ``root``."""
    for i in range(patients):
        name = f"patient_{i:03d}.nii.gz"
        hu, labels, plaques = make_patient(i)
        ref = Scan(hu["nc"], spacing=SPACING)
        for phase in PHASES:
            write_scan(Scan(hu[phase], spacing=SPACING), root / phase / name, dtype="int16")
        write_labelmap(labels, ref, root / "labels" / name)
        write_labelmap(plaques, ref, root / "plaques" / name)
    (root / "dataset.json").write_text(json.dumps({"labels": LABELS, "phases": list(PHASES)}))
    return root


class ShiftModule(torch.nn.Module):
    """A stand-in translator network: adds ``shift`` (model range) to its input."""

    domains = ["nc", "ce"]
    downsampling = 0

    def __init__(self, shift: float = 0.05) -> None:
        super().__init__()
        self.shift = shift
        self.calls = 0

    def translate(self, x, source, target, *, sample=False):
        self.calls += 1
        return x + self.shift
