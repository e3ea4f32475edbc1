"""Typed configs of `ctbridge experiment plaque|pancreas` (every field documented, with defaults).

Defaults are the ``full`` (GPU) sizes; ``configs/experiment_*.yaml`` hold the same values plus a
``cpu-small`` preset that finishes on a 2-core CPU. Translators are not trained here: a row of
the table is run only when its translator's run folder is given (``translators.<name>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class SegmenterConfig(BaseModel):
    """The MONAI U-Net segmenter and its training budget (the same for every row of a table)."""

    model_config = ConfigDict(extra="forbid")

    channels: list[int] = Field(
        default_factory=lambda: [32, 64, 128, 256], description="U-Net channels per level")
    strides: list[int | list[int]] = Field(
        default_factory=lambda: [2, 2, 2],
        description="downsampling per level (len(channels) - 1); a list per level for "
                    "anisotropic 3D strides, (z, y, x)")
    num_res_units: int = Field(2, ge=0, description="residual units per U-Net block")
    norm: Literal["instance", "batch"] = Field("instance", description="normalisation layer")
    dropout: float = Field(0.0, ge=0, lt=1)
    patch: list[int] = Field(
        default_factory=lambda: [128, 128],
        description="training patch and inference window: (y, x) in 2D, (z, y, x) in 3D")
    batch_size: int = Field(16, ge=1, description="patches per step")
    steps: int = Field(4000, ge=1, description="training iterations (fixed budget per row, "
                                               "so augmented rows do not train longer)")
    lr: float = Field(1e-3, gt=0, description="AdamW learning rate (cosine decay to 5%)")
    weight_decay: float = Field(1e-5, ge=0)
    fg_fraction: float = Field(
        0.5, ge=0, le=1, description="P(patch centred on a foreground voxel); the rest are "
                                     "centred uniformly inside the body's bounding box")
    overlap: float = Field(0.5, ge=0, lt=1, description="sliding-window overlap at inference")
    sw_batch_size: int = Field(16, ge=1, description="windows per forward pass at inference")


class ExperimentConfig(BaseModel):
    """Fields common to both experiments."""

    model_config = ConfigDict(extra="forbid")

    patients: int | None = Field(
        None, ge=2, description="cohort size: the first N phantom patients by name (null = all)")
    folds: int = Field(4, ge=2, description="k of the patient-disjoint k-fold cross-validation")
    seed: int = Field(0, description="fold shuffle, segmenter weights and patch sampling")
    ce_phase: str = Field("arterial", description="phantom phase that is the 'ce' domain")
    translators: dict[str, Path] = Field(
        default_factory=dict,
        description="translator name (cyclegan, unit, gmm_unit) -> run folder; missing names "
                    "are skipped rows")
    translate_mode: Literal["full", "window"] = Field(
        "full", description="Translator mode used to make the synthetic scans")
    bounds: bool = Field(
        True, description="hold the synthetic scans to the physical bounds of `ctbridge "
                          "translate` (contrast only adds; fat and gas copied; the change "
                          "into contrast smoothed where small and flat); false: the network's "
                          "raw translations")
    qc: Path | None = Field(
        None, description="QC folder (ctbridge qc train): synthetic slices it rejects are "
                          "dropped from training, as in the paper (2D: those slices; 3D: a "
                          "synthetic volume with more than qc_max_rejected of its slices "
                          "rejected)")
    qc_max_rejected: float = Field(
        0.5, ge=0, le=1, description="3D experiments: largest rejected-slice fraction of a "
                                     "synthetic volume that is still used")
    qc_max_real_rejected: float = Field(
        0.25, ge=0, le=1, description="refuse a QC model that rejects more than this fraction "
                                      "of the cohort's real slices of the synthetic phase (it "
                                      "was trained on other data)")
    oracle: bool = Field(True, description="also train on the real other phase (upper bound)")
    cache_dir: Path | None = Field(
        None, description="synthetic scans cache (null = OUT/synthetic); shared between runs")
    device: str = Field("auto", description="cpu, cuda, cuda:N or auto")
    threads: int | None = Field(
        None, ge=1, description="torch CPU threads (null = torch default); 1 avoids spin-waits "
                                "on a busy small machine")
    progress: bool = Field(True, description="tqdm progress bars")
    comparisons: list[tuple[str, str]] = Field(
        default_factory=lambda: [("gmm_unit", "baseline"), ("gmm_unit", "unit")],
        description="pairs of rows (row, against) whose paired difference is tested: a "
                    "bootstrap CI over test patients and a Wilcoxon test over folds; a pair "
                    "with a row that did not run is skipped")
    bootstrap_resamples: int = Field(
        2000, ge=100, description="bootstrap resamples of the test patients per comparison "
                                  "(seeded with seed)")
    segmenter: SegmenterConfig = Field(default_factory=SegmenterConfig)

    @field_validator("comparisons")
    @classmethod
    def _distinct_pairs(cls, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for row, against in pairs:
            if row == against:
                raise ValueError(f"a row is compared with itself ({row})")
        return pairs


class PlaqueConfig(ExperimentConfig):
    """Table 1: 2D plaque segmentation trained on NC (+ synthetic CE), tested on NC and CE."""

    experiment: Literal["plaque"] = "plaque"
    min_component_voxels: int = Field(
        1, ge=1, description="predicted 3D components smaller than this are dropped")
    size_bins: list[int] = Field(
        default_factory=lambda: [3, 10],
        description="upper edges (voxels) of the plaque-size bins of the by-size table: "
                    "[3, 10] = 1-3, 4-10, >10 voxels")

    @model_validator(mode="after")
    def _two_d(self) -> PlaqueConfig:
        if len(self.segmenter.patch) != 2:
            raise ValueError("plaque segmenter.patch must be (y, x)")
        edges = self.size_bins
        if any(e < 1 for e in edges) or any(b <= a for a, b in zip(edges[:-1], edges[1:],
                                                                     strict=True)):
            raise ValueError("size_bins must be increasing positive voxel counts, e.g. [3, 10]")
        return self


class PancreasConfig(ExperimentConfig):
    """Table 2: 3D pancreas segmentation trained on CE (+ synthetic NC), tested on CE and NC."""

    experiment: Literal["pancreas"] = "pancreas"
    spacing_mm: list[float] | None = Field(
        default_factory=lambda: [1.4, 1.4, 3.0],
        description="(x, y, z) mm grid the segmenter works and is scored on (null = native)")

    @model_validator(mode="after")
    def _three_d(self) -> PancreasConfig:
        if len(self.segmenter.patch) != 3:
            raise ValueError("pancreas segmenter.patch must be (z, y, x)")
        if self.spacing_mm is not None and (len(self.spacing_mm) != 3
                                            or min(self.spacing_mm) <= 0):
            raise ValueError("spacing_mm must be three positive numbers (x, y, z)")
        return self


CONFIG_CLASSES: dict[str, type[ExperimentConfig]] = {
    "plaque": PlaqueConfig, "pancreas": PancreasConfig}
