"""Table 1: calcified-plaque segmentation trained on NC (+ synthetic CE), tested on NC and CE.

The clinical question behind it: calcium scoring is annotated on non-contrast scans, but most
scans are contrast-enhanced, where bright iodine in the lumen hides plaques touching it. Does
adding NC scans translated to CE (labels carried over: translation keeps the geometry) teach a
segmenter to find plaques in real CE scans, and does a translator that keeps plaques (GMM-UNIT)
help more than one that erases or blurs them? The oracle trains on the real CE scans of the same
patients, the upper bound that real data (never both phases of one patient) cannot give.

Segmenter: 2D MONAI U-Net, binary (the phantom's ``plaque`` label), full in-plane resolution.
Scores (``metrics``): per-plaque precision and recall on 3D instances, voxel Dice, pooled over a
fold's test patients, then mean ± std over folds; and recall and lesion-wise Dice per plaque-size
bin (``sizes``).

Example:
    >>> from ctbridge.experiments.downstream.plaque import run_plaque
    >>> run_plaque("runs/demo/phantom", "runs/exp_plaque", preset="cpu-small",
    ...            translators={"gmm_unit": "runs/demo/runs/gmm_unit"})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ctbridge.config import load_config
from ctbridge.errors import DataError
from ctbridge.experiments.downstream.cohort import Cohort
from ctbridge.experiments.downstream.config import PlaqueConfig
from ctbridge.experiments.downstream.experiment import Experiment
from ctbridge.experiments.downstream.metrics import (
    DetectionCounts,
    VoxelCounts,
    detection_counts,
    instances_from_mask,
    plaque_scores,
    remove_small,
    voxel_counts,
)
from ctbridge.experiments.downstream.results import Column
from ctbridge.experiments.downstream.runner import run_experiment
from ctbridge.experiments.downstream.segmenter import SegVolume
from ctbridge.experiments.downstream.sizes import SizeCounts, bin_labels, size_counts, size_scores
from ctbridge.inference.translator import Translator
from ctbridge.io import Scan, read_labelmap


@dataclass
class PlaqueCounts:
    """Lesion, voxel and per-size-bin counts of one or more test scans."""

    detection: DetectionCounts = field(default_factory=DetectionCounts)
    voxels: VoxelCounts = field(default_factory=VoxelCounts)
    sizes: SizeCounts = field(default_factory=SizeCounts)

    def __add__(self, other: PlaqueCounts) -> PlaqueCounts:
        return PlaqueCounts(self.detection + other.detection, self.voxels + other.voxels,
                            self.sizes + other.sizes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlaqueCounts:
        """Inverse of ``dataclasses.asdict`` (the per-patient counts of results.json)."""
        return cls(DetectionCounts(**data["detection"]), VoxelCounts(**data["voxels"]),
                   SizeCounts(**data.get("sizes", {})))


class PlaqueExperiment(Experiment):
    """2D binary plaque segmentation; rows train on NC (+ CE), tests on NC and CE."""

    name = "plaque"
    train_domain = "nc"
    other_domain = "ce"
    spatial_dims = 2
    required_labels = ("plaque",)
    columns = (Column("precision", "precision"), Column("recall", "recall"),
               Column("dice", "Dice"))
    compared_metrics = ("dice", "recall")

    def __init__(self, config: PlaqueConfig, cohort: Cohort) -> None:  # type: ignore[override]
        super().__init__(config, cohort)
        self.config: PlaqueConfig = config
        self._truth: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def title(self) -> str:
        return "Plaque segmentation (Table 1): trained on NC labels, tested on NC and CE"

    @property
    def caption(self) -> str:
        c = self.config
        return (f"2D MONAI U-Net, {c.segmenter.steps} steps per row, {len(self.cohort.names)} "
                f"phantom patients, {c.folds} patient-disjoint folds; CE = phantom phase "
                f"'{c.ce_phase}'. Per-plaque precision (predicted 3D components touching a "
                "plaque) and recall (plaques touched by the prediction), voxel Dice, pooled per "
                "fold, mean ± std over folds (n/a: undefined, e.g. nothing predicted). "
                "Synthetic rows add the training patients' NC scans translated to CE by that "
                "translator (labels carried over; translators are used as given, trained without "
                "labels); the oracle adds their real CE scans.")

    def truth(self, patient: str) -> tuple[np.ndarray, np.ndarray]:
        """(binary plaque mask, plaque instance ids) of ``patient``, read once."""
        if patient not in self._truth:
            labels = read_labelmap(self.cohort.labels_path(patient))
            mask = labels == self.cohort.label_id("plaque")
            path = self.cohort.plaques_path(patient)
            instances = read_labelmap(path) if path is not None else instances_from_mask(mask)
            if instances.shape != mask.shape:
                raise DataError(f"{path}: shape {instances.shape} differs from the label map's "
                                f"{mask.shape}")
            self._truth[patient] = (mask, instances)
        return self._truth[patient]

    def volume(self, scan: Scan, patient: str) -> SegVolume:
        mask, _ = self.truth(patient)
        if scan.shape != mask.shape:
            raise DataError(f"{scan.metadata.get('source', patient)}: shape {scan.shape} differs "
                            f"from its label map's {mask.shape}")
        return SegVolume.from_hu(scan.array, mask.astype(np.uint8), patient)

    def score(self, pred: np.ndarray, volume: SegVolume, patient: str) -> PlaqueCounts:
        mask, instances = self.truth(patient)
        found = remove_small(pred > 0, self.config.min_component_voxels)
        return PlaqueCounts(detection_counts(found, instances), voxel_counts(found, mask),
                            size_counts(found, instances, self.config.size_bins))

    def counts_from_dict(self, data: dict[str, Any]) -> PlaqueCounts:
        return PlaqueCounts.from_dict(data)

    def summarise(self, counts: PlaqueCounts) -> dict[str, Any]:
        return {**plaque_scores(counts.detection, counts.voxels),
                "by_size": size_scores(counts.sizes, self.size_labels)}

    @property
    def size_labels(self) -> tuple[str, ...]:
        return bin_labels(self.config.size_bins)


def run_plaque(data: str | Path, out: str | Path, *, config: str | Path | None = None,
               preset: str | None = None, overrides: Sequence[str] = (),
               translators: Mapping[str, Translator | str | Path] | None = None) -> Path:
    """Load the config (default: the built-in ``experiment_plaque``) and run; returns results.md."""
    cfg = load_config(PlaqueConfig, config or "experiment_plaque", preset=preset,
                      overrides=overrides)
    return run_experiment(PlaqueExperiment, cfg, data, out, translators)
