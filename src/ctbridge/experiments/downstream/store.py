"""Segmenter volumes loaded once per run, with quality control of the synthetic ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ctbridge.experiments.downstream.experiment import Experiment
from ctbridge.experiments.downstream.segmenter import BODY_HU, SCALER, SegVolume
from ctbridge.io import read_scan


class VolumeStore:
    """Volumes loaded once per run: real phases for the whole run, a synthetic set per row.

    With a quality-control model (``qc``), synthetic volumes (tags ``syn:*``) lose the slices
    it rejects (2D experiments) or are left out when too many are rejected (3D); the counts
    are kept in ``qc_counts[tag]`` for the results.
    """

    def __init__(self, experiment: Experiment, qc: Any = None) -> None:
        self.experiment = experiment
        self.qc = qc
        self.cache: dict[tuple[str, str], SegVolume | None] = {}
        self.qc_counts: dict[str, dict[str, int]] = {}

    def get(self, tag: str, patient: str, path: Path) -> SegVolume | None:
        """The volume, or None for a synthetic 3D volume that QC rejects."""
        key = (tag, patient)
        if key not in self.cache:
            scan = read_scan(path)
            volume = self.experiment.volume(scan, patient)
            if self.qc is not None and tag.startswith("syn:"):
                volume = self._quality_controlled(tag, scan.array, volume)
            self.cache[key] = volume
        return self.cache[key]

    def _quality_controlled(self, tag: str, hu: np.ndarray, volume: SegVolume
                            ) -> SegVolume | None:
        rejected = np.asarray(self.qc.rejected(hu), bool)  # (z,)
        counts = self.qc_counts.setdefault(tag, {"slices": 0, "rejected_slices": 0,
                                                 "volumes": 0, "rejected_volumes": 0})
        counts["slices"] += int(rejected.size)
        counts["rejected_slices"] += int(rejected.sum())
        counts["volumes"] += 1
        if self.experiment.spatial_dims == 3:
            if rejected.mean() > self.experiment.config.qc_max_rejected:
                counts["rejected_volumes"] += 1
                return None
            return volume
        keep = ~rejected
        if not keep.any():
            counts["rejected_volumes"] += 1
            return None
        if keep.all():
            return volume
        scaled = volume.image[keep]
        body = np.argwhere(scaled > SCALER.to_model(np.float32(BODY_HU)))
        box = None if body.size == 0 else (tuple(int(v) for v in body.min(0)),
                                           tuple(int(v) for v in body.max(0)))
        return SegVolume(scaled, volume.target[keep], volume.name, box)

    def real(self, domain: str, patient: str) -> SegVolume:
        """A real scan's volume (never filtered by QC)."""
        volume = self.get(f"real:{domain}", patient,
                          self.experiment.cohort.scan_path(domain, patient))
        assert volume is not None  # only synthetic volumes can be dropped
        return volume

    def drop(self, tag: str) -> None:
        for key in [k for k in self.cache if k[0] == tag]:
            del self.cache[key]
