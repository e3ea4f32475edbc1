"""Table 2: pancreas segmentation trained on CE (+ synthetic NC), tested on CE and NC.

The reverse direction of Table 1: organ annotations mostly exist on contrast scans, where the
enhancing pancreas stands out; on non-contrast scans it blends with bowel and vessels. Does
adding the training patients' CE scans translated to NC make the segmenter work on real NC,
without false positives in look-alike tissue? The oracle adds their real NC scans.

Segmenter: 3D MONAI U-Net on a coarse grid (``spacing_mm``, so 3D patches fit a CPU), binary
(the phantom's ``pancreas`` label). Images are area-averaged onto the grid; the label is the
area-averaged mask thresholded at 0.5. Scores are computed on that grid: voxel precision,
recall and Dice pooled over a fold's test scans, and false-positive voxels per scan (also in
mL); mean ± std over folds.

Example:
    >>> from ctbridge.experiments.downstream.pancreas import run_pancreas
    >>> run_pancreas("runs/demo/phantom", "runs/exp_pancreas", preset="cpu-small",
    ...              translators={"gmm_unit": "runs/demo/runs/gmm_unit"})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ctbridge.config import load_config
from ctbridge.errors import DataError
from ctbridge.experiments.downstream.cohort import Cohort
from ctbridge.experiments.downstream.config import PancreasConfig
from ctbridge.experiments.downstream.experiment import Experiment
from ctbridge.experiments.downstream.metrics import VoxelCounts, organ_scores, voxel_counts
from ctbridge.experiments.downstream.results import Column
from ctbridge.experiments.downstream.runner import run_experiment
from ctbridge.experiments.downstream.segmenter import SegVolume
from ctbridge.inference.translator import Translator
from ctbridge.io import Scan, read_labelmap


def grid_shape(shape_zyx: Sequence[int], spacing_xyz: Sequence[float],
               target_xyz: Sequence[float] | None) -> tuple[int, int, int]:
    """Shape ``(z, y, x)`` of a volume resampled from ``spacing_xyz`` to ``target_xyz`` mm."""
    z, y, x = (int(n) for n in shape_zyx)
    if target_xyz is None:
        return z, y, x
    sx, sy, sz = (float(s) for s in spacing_xyz)
    tx, ty, tz = (float(t) for t in target_xyz)
    return (max(1, round(z * sz / tz)), max(1, round(y * sy / ty)), max(1, round(x * sx / tx)))


def resample(volume: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Resize a ``(z, y, x)`` float volume: area average when shrinking, else trilinear."""
    if tuple(volume.shape) == tuple(shape):
        return np.asarray(volume, np.float32)
    x = torch.from_numpy(np.ascontiguousarray(volume, np.float32))[None, None]
    if all(n <= o for n, o in zip(shape, volume.shape, strict=True)):
        y = F.interpolate(x, size=tuple(shape), mode="area")
    else:
        y = F.interpolate(x, size=tuple(shape), mode="trilinear", align_corners=False)
    return y[0, 0].numpy()


class PancreasExperiment(Experiment):
    """3D binary pancreas segmentation; rows train on CE (+ NC), tests on NC and CE."""

    name = "pancreas"
    train_domain = "ce"
    other_domain = "nc"
    spatial_dims = 3
    required_labels = ("pancreas",)
    columns = (Column("precision", "precision"), Column("recall", "recall"),
               Column("dice", "Dice"), Column("fp_voxels", "FP voxels", ".0f"))

    def __init__(self, config: PancreasConfig, cohort: Cohort) -> None:  # type: ignore[override]
        super().__init__(config, cohort)
        self.config: PancreasConfig = config
        self._truth: dict[str, np.ndarray] = {}
        self.voxel_ml = 0.0

    @property
    def title(self) -> str:
        return "Pancreas segmentation (Table 2): trained on CE labels, tested on NC and CE"

    @property
    def caption(self) -> str:
        c = self.config
        grid = ("native grid" if c.spacing_mm is None
                else "grid of " + " x ".join(f"{s:g}" for s in c.spacing_mm) + " mm (x, y, z)")
        return (f"3D MONAI U-Net on a {grid}, {c.segmenter.steps} steps per row, "
                f"{len(self.cohort.names)} phantom patients, {c.folds} patient-disjoint folds; "
                f"CE = phantom phase '{c.ce_phase}'. Voxel precision, recall and Dice pooled per "
                "fold, false-positive voxels per test scan on that grid; mean ± std over folds. "
                "Synthetic rows add the training patients' CE scans translated to NC by that "
                "translator (labels carried over; translators are used as given, trained without "
                "labels); the oracle adds their real NC scans.")

    def _grid(self, scan_shape: Sequence[int], spacing: Sequence[float]) -> tuple[int, ...]:
        shape = grid_shape(scan_shape, spacing, self.config.spacing_mm)
        if self.config.spacing_mm is not None:
            self.voxel_ml = float(np.prod(self.config.spacing_mm)) / 1000.0
        else:
            self.voxel_ml = float(np.prod(spacing)) / 1000.0
        return shape

    def volume(self, scan: Scan, patient: str) -> SegVolume:
        shape = self._grid(scan.shape, scan.spacing)
        if patient not in self._truth:
            labels = read_labelmap(self.cohort.labels_path(patient))
            if labels.shape != scan.shape:
                raise DataError(f"{self.cohort.labels_path(patient)}: shape {labels.shape} "
                                f"differs from the scan's {scan.shape}")
            mask = (labels == self.cohort.label_id("pancreas")).astype(np.float32)
            self._truth[patient] = resample(mask, shape) >= 0.5
        target = self._truth[patient]
        if target.shape != tuple(shape):
            raise DataError(f"{patient}: phases have different geometry ({target.shape} vs "
                            f"{tuple(shape)} on the experiment grid)")
        return SegVolume.from_hu(resample(scan.array, shape), target.astype(np.uint8), patient)

    def score(self, pred: np.ndarray, volume: SegVolume, patient: str) -> VoxelCounts:
        return voxel_counts(pred > 0, self._truth[patient])

    def counts_from_dict(self, data: dict[str, Any]) -> VoxelCounts:
        return VoxelCounts(**data)

    def summarise(self, counts: VoxelCounts) -> dict[str, float]:
        return organ_scores(counts, self.voxel_ml)


def run_pancreas(data: str | Path, out: str | Path, *, config: str | Path | None = None,
                 preset: str | None = None, overrides: Sequence[str] = (),
                 translators: Mapping[str, Translator | str | Path] | None = None) -> Path:
    """Load the config (default: the built-in ``experiment_pancreas``), run; returns results.md."""
    cfg = load_config(PancreasConfig, config or "experiment_pancreas", preset=preset,
                      overrides=overrides)
    return run_experiment(PancreasExperiment, cfg, data, out, translators)
