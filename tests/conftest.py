"""Shared fixtures: small synthetic scans made on the fly (no binary blobs in the repo)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ctbridge.io import Scan
from tests.labelled_data import checkpoint, nc_dataset, phantom_roots  # noqa: F401 (fixtures)

# Tests use tiny tensors: one thread is as fast and does not spin-wait against other processes
# (with 2 OpenMP threads on a busy 2-core machine a tiny step was measured 50-80x slower).
torch.set_num_threads(1)


def rotation(axis: str, degrees: float) -> np.ndarray:
    """A rotation matrix about a world axis, for oblique geometries."""
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    i, j = {"x": (1, 2), "y": (0, 2), "z": (0, 1)}[axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def make_scan(shape=(6, 20, 24), spacing=(0.7, 0.8, 2.5), origin=(-120.5, -80.25, 33.0),
              direction=None, seed=0) -> Scan:
    """A CT-like volume: air outside, soft tissue, a few bright voxels, full HU range."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    body = (y**2 + x**2) < 0.8
    hu = np.where(body, 40.0 + 30.0 * rng.standard_normal(shape), -1000.0)
    hu[shape[0] // 2, shape[1] // 2, shape[2] // 2] = 2999.0
    hu[0, 0, 0] = -1024.0
    return Scan(array=hu.astype(np.float32), spacing=spacing, origin=origin,
                direction=np.eye(3) if direction is None else direction,
                metadata={"modality": "CT", "series_description": "synthetic"})


@pytest.fixture
def scan() -> Scan:
    return make_scan()


@pytest.fixture
def oblique_scan() -> Scan:
    return make_scan(direction=rotation("x", 17.0) @ rotation("z", -8.0), spacing=(0.62, 0.9, 1.25))


def dciodvfy(path) -> tuple[list[str], list[str]]:
    """(errors, warnings) of dicom3tools' dciodvfy (the standard's IOD checker) on one file."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = shutil.which("dciodvfy") or str(Path(sys.executable).parent / "dciodvfy")
    if not Path(exe).is_file():
        pytest.fail("dciodvfy not found: dicom3tools is a dev dependency (make install)")
    out = subprocess.run([exe, str(path)], capture_output=True, text=True)
    lines = (out.stdout + out.stderr).splitlines()
    return ([x for x in lines if x.startswith("Error")],
            [x for x in lines if x.startswith("Warning")])


class RejectSlices:
    """A stand-in QC model: rejects the listed slice indices of every volume."""

    def __init__(self, bad: list[int]) -> None:
        self.bad = bad

    def rejected(self, volume_hu):
        out = np.zeros(volume_hu.shape[0], bool)
        out[self.bad] = True
        return out
