"""The typed config of `ctbridge train` (one file, every field documented with its default)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ctbridge.data.intensity import DEFAULT_KNOTS_HU, DEFAULT_KNOTS_MODEL
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
    body_fraction: float = Field(0.9, ge=0, le=1, description="P(patch centre inside the body)")
    bright_fraction: float = Field(
        0.25, ge=0, le=1, description="P(patch centre on a small bright structure, e.g. plaque)")
    split_seed: int = Field(0, description="seed of the patient split between domains")

    @model_validator(mode="after")
    def _fractions(self) -> DataConfig:
        if self.body_fraction + self.bright_fraction > 1.0 + 1e-9:
            raise ValueError("body_fraction + bright_fraction must be <= 1")
        return self


class OptimConfig(BaseModel):
    """Adam for G and D, constant learning rate then linear decay to zero (UNIT/CycleGAN)."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(100_000, ge=1, description="training iterations (one D and one G step)")
    lr: float = Field(1e-4, gt=0, description="Adam learning rate (UNIT: 1e-4; CycleGAN: 2e-4)")
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    weight_decay: float = Field(1e-4, ge=0, description="UNIT uses 1e-4; CycleGAN 0")
    decay_start: float = Field(0.5, ge=0, le=1,
                               description="fraction of steps after which the lr decays linearly")


class IntensityConfig(BaseModel):
    """HU <-> model range knots (see ctbridge.data.intensity)."""

    model_config = ConfigDict(extra="forbid")

    knots_hu: list[float] = Field(default_factory=lambda: list(DEFAULT_KNOTS_HU))
    knots_model: list[float] = Field(default_factory=lambda: list(DEFAULT_KNOTS_MODEL))


class TrainConfig(BaseModel):
    """Everything `ctbridge train` needs; saved as ``config.yaml`` beside every checkpoint."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    intensity: IntensityConfig = Field(default_factory=IntensityConfig)
    seed: int = Field(0, description="torch seed (weights, latent sampling) and sampler seed")
    device: str = Field("cpu", description="'cpu', 'cuda', 'cuda:1' ... ('auto' picks cuda if any)")
    precision: Literal["fp32", "bf16"] = Field("fp32", description="bf16 = autocast")
    log_every: int = Field(50, ge=1, description="steps between CSV/TensorBoard rows")
    sample_every: int = Field(1000, ge=1, description="steps between PNG sample grids")
    checkpoint_every: int = Field(1000, ge=1, description="steps between checkpoints")
    tensorboard: bool = Field(True, description="also write TensorBoard event files")
