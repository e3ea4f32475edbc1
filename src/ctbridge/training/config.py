"""The typed config of `ctbridge train` (one file, every field documented with its default).

The defaults are ctbridge's measured recipe for (GMM-)UNIT at the paper's full width (the
model's in :class:`~ctbridge.models.ModelConfig`, the patch sampling and discriminator warm-up
here; docs/method.md); the built-in YAML configs state only what differs and their presets
only size and time. CycleGAN keeps its paper's recipe: the warm-up defaults to 0 for it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ctbridge.config import drop_retired
from ctbridge.data.intensity import IntensityConfig
from ctbridge.models import ModelConfig


class DataConfig(BaseModel):
    """Where patches come from and how they are drawn."""

    model_config = ConfigDict(extra="forbid")

    phase_of: dict[str, str] = Field(
        default_factory=lambda: {"ce": "arterial"},
        description="phantom folders: domain -> phantom phase; unlisted domains use their name")
    holdout: list[str] = Field(
        default_factory=list, description="phantom patient files kept out of training")
    patch_size: int | None = Field(32, description="training patch side; null = whole slices")
    batch_size: int = Field(16, ge=1, description="patches per domain per step (per rank)")
    body_fraction: float = Field(0.4, ge=0, le=1, description=(
        "P(patch centre inside the body; the paper: 0.75); the rest of the 1 left by the three "
        "fractions is anywhere in the slice"))
    bright_fraction: float = Field(0.35, ge=0, le=1, description=(
        "P(patch centre on a small bright structure, e.g. plaque; the paper: 0.25)"))
    contrast_fraction: float = Field(0.25, ge=0, le=1, description=(
        "P(patch centre on a voxel whose HU is typical of its own domain and rare in the "
        "others: where the phases differ, see ctbridge.data.phase_contrast; the paper: 0)"))
    split_seed: int = Field(0, description="seed of the patient split between domains")

    @model_validator(mode="after")
    def _fractions(self) -> DataConfig:
        if self.body_fraction + self.bright_fraction + self.contrast_fraction > 1.0 + 1e-9:
            raise ValueError("body_fraction + bright_fraction + contrast_fraction must be <= 1")
        return self


RETIRED: dict[str, Any] = {"lr_d": None, "ema_decay": 0.0}
"""Removed optimiser switches -> the value whose behaviour was kept (``drop_retired``)."""


class OptimConfig(BaseModel):
    """Adam for G and D, constant learning rate then linear decay to zero (UNIT/CycleGAN)."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(100_000, ge=1, description="training iterations (one D and one G step)")
    lr: float = Field(1e-4, gt=0, description="Adam learning rate (UNIT: 1e-4; CycleGAN: 2e-4)")
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    weight_decay: float = Field(1e-4, ge=0, description="UNIT uses 1e-4; CycleGAN 0")
    d_warmup_steps: int = Field(2000, ge=0, description=(
        "discriminator-only steps before the adversarial game, on real patches of the other "
        "domains as fakes (TranslationModel.discriminator_warmup_losses; meant for "
        "(GMM-)UNIT, which starts as the identity: that is what its first fakes are); "
        "defaults to 0 for model.kind cyclegan, which has no such start"))
    decay_start: float = Field(0.5, ge=0, le=1,
                               description="fraction of steps after which the lr decays linearly")

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        return drop_retired(data, RETIRED, "optim")


class TrainConfig(BaseModel):
    """Everything `ctbridge train` needs; saved as ``config.yaml`` beside every checkpoint."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    intensity: IntensityConfig = Field(default_factory=IntensityConfig)
    seed: int = Field(0, description="torch seed (weights, latent sampling) and sampler seed")
    device: str = Field("auto", description="'cpu', 'cuda', 'cuda:1' or 'auto' (cuda when "
                                            "there is one)")
    precision: Literal["fp32", "bf16", "auto"] = Field("fp32", description=(
        "bf16 = autocast (the weights and the Adam state stay fp32); auto = bf16 where the "
        "device computes bf16 natively (CPU: avx512_bf16 / amx_bf16), fp32 elsewhere"))
    channels_last: bool = Field(True, description=(
        "NHWC memory layout for weights and activations (oneDNN's fast path on CPUs, tensor "
        "cores on GPUs); the results are the same up to float rounding"))
    log_every: int = Field(50, ge=1, description="steps between CSV/TensorBoard rows")
    sample_every: int = Field(1000, ge=1, description="steps between PNG sample grids")
    checkpoint_every: int = Field(1000, ge=1, description="steps between checkpoints")
    tensorboard: bool = Field(True, description="also write TensorBoard event files")

    @model_validator(mode="after")
    def _warmup_by_kind(self) -> TrainConfig:
        if self.model.kind == "cyclegan" and "d_warmup_steps" not in self.optim.model_fields_set:
            self.optim = self.optim.model_copy(update={"d_warmup_steps": 0})
        return self

    @model_validator(mode="after")
    def _histogram_tiles_fit(self) -> TrainConfig:
        cells, patch = self.model.histogram_cells, self.data.patch_size
        if cells > 1 and (patch is None or patch % cells):
            raise ValueError(f"model.histogram_cells {cells} needs data.patch_size divisible "
                             f"by it (got {patch})")
        return self
