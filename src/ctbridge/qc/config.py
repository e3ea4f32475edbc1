"""Typed config of `ctbridge qc train` (every field documented) and its presets.

Defaults are the ``full`` (GPU) sizes; the built-in ``configs/qc.yaml`` holds the presets as
dotted overrides, like the training configs: ``tiny`` (tests, well under a minute on one CPU
thread) and ``cpu-small`` (a few minutes on a 2-core CPU, at the pixel size of the demo's 256-px
phantom so it can judge the demo's translations).
The config used is saved in ``QC_DIR/qc.json``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ctbridge.config import load_config
from ctbridge.data.intensity import DEFAULT_KNOTS_HU, DEFAULT_KNOTS_MODEL
from ctbridge.qc.artefacts import KINDS

QC_COHORT_SEED = 20251  # the demo's phantom uses seed 0: these patients are never its patients


class CohortConfig(BaseModel):
    """The phantom cohort generated when no ``--data`` is given."""

    model_config = ConfigDict(extra="forbid")

    patients: int = Field(16, ge=2, description="phantom patients (train + validation)")
    size: int = Field(512, ge=32, description="in-plane matrix (pixel = 360 mm / size)")
    slices: int = Field(32, ge=2, description="axial slices per volume")
    phases: list[str] = Field(default_factory=lambda: ["nc", "arterial", "venous", "delayed"],
                              description="phases rendered; every phase is a real slice")
    plaques_max: int = Field(30, ge=0, description="plaque burden drawn in [0, plaques_max]")
    seed: int = Field(QC_COHORT_SEED, description="cohort seed (the demo uses 0: keep apart)")


class QCModelConfig(BaseModel):
    """:class:`~ctbridge.qc.network.QCNet` hyper-parameters."""

    model_config = ConfigDict(extra="forbid")

    width: int = Field(16, ge=1, description="stem channels (x2 per stage, at most x8)")
    depth: int = Field(4, ge=1, description="stride-2 stages")
    norm: Literal["batch", "instance", "group", "none"] = Field("batch", description="norm layer")
    window_hu: tuple[float, float] | None = Field(
        (-160.0, 240.0), description="soft-tissue window added as an input channel (null: none)")
    residual_clip_hu: float | None = Field(
        60.0, gt=0, description="truncated 3x3 high-pass residual channel, clipped at this many "
                                "HU of soft tissue (null: none)")


class QCConfig(BaseModel):
    """Everything `ctbridge qc train` needs besides the data folder and output folder."""

    model_config = ConfigDict(extra="forbid")

    cohort: CohortConfig = Field(default_factory=CohortConfig)
    model: QCModelConfig = Field(default_factory=QCModelConfig)
    kinds: list[str] = Field(default_factory=lambda: list(KINDS),
                             description="artefact kinds evaluated (train on those not held out)")
    held_out: list[str] = Field(
        default_factory=lambda: ["checkerboard", "hallucinated_spots"],
        description="kinds never produced in training; evaluated to measure generalisation")
    val_patients: int = Field(4, ge=1, description="patients kept out of training (evaluation "
                                                   "and threshold)")
    min_body_fraction: float = Field(0.05, ge=0, lt=1,
                                     description="slices with less body than this are skipped")
    crop: int | None = Field(256, ge=16, description="training crop (px) around the body; "
                                                     "null = whole slices")
    strength: tuple[float, float] = Field((0.25, 1.0), description="training strengths: uniform "
                                                                   "in [low, high]")
    paired: bool = Field(True, description="real half of a batch = the clean versions of the "
                                           "artefact half (learns far faster, see qc.dataset)")
    eval_strengths: list[float] = Field(default_factory=lambda: [0.5, 1.0],
                                        description="strengths at which AUCs are reported")
    steps: int = Field(4000, ge=1, description="Adam steps")
    batch_size: int = Field(32, ge=2, description="slices per step, half real, half artefact")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate (linear decay to 5% over "
                                                   "the last 20% of steps)")
    keep_real: float = Field(0.95, gt=0, le=1, description="threshold = the score that keeps "
                                                           "this fraction of validation real "
                                                           "slices")
    knots_hu: list[float] = Field(default_factory=lambda: list(DEFAULT_KNOTS_HU),
                                  description="IntensityScaler HU knots (the translators')")
    knots_model: list[float] = Field(default_factory=lambda: list(DEFAULT_KNOTS_MODEL),
                                     description="IntensityScaler model-range knots")
    seed: int = Field(0, description="weights, batches, artefacts, patient split")
    device: str = Field("auto", description="cpu, cuda, cuda:N or auto")
    threads: int | None = Field(None, ge=1, description="torch CPU threads (null: torch's)")
    log_every: int = Field(50, ge=1, description="steps between log lines")
    progress: bool = Field(True, description="tqdm progress bar")

    @model_validator(mode="after")
    def _check(self) -> QCConfig:
        unknown = [k for k in (*self.kinds, *self.held_out) if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown artefact kinds {unknown} (known: {list(KINDS)})")
        missing = [k for k in self.held_out if k not in self.kinds]
        if missing:
            raise ValueError(f"held_out kinds {missing} are not in kinds")
        if not self.train_kinds:
            raise ValueError("every kind is held out: nothing to train on")
        lo, hi = self.strength
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"strength must satisfy 0 < low <= high <= 1, got {self.strength}")
        if any(not 0 < s <= 1 for s in self.eval_strengths) or not self.eval_strengths:
            raise ValueError(f"eval_strengths must be in (0, 1], got {self.eval_strengths}")
        return self

    @property
    def train_kinds(self) -> list[str]:
        """Kinds produced in training: ``kinds`` minus ``held_out``."""
        return [k for k in self.kinds if k not in self.held_out]


def qc_config(preset: str | None = None, overrides: dict[str, Any] | None = None) -> QCConfig:
    """The config of ``preset`` in the built-in ``qc.yaml`` (None = the full defaults) with
    dotted ``overrides``: the same mechanism as the training configs."""
    return load_config(QCConfig, "qc", preset=preset, overrides=overrides or {})
