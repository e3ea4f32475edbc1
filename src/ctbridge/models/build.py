"""``build_model``: the translation model a ``ModelConfig`` names, and how reports name it.

Beside the models rather than in the config module, so the config imports no network and the
networks import the config, never the other way round.
"""

from __future__ import annotations

from ctbridge.models.base import TranslationModel
from ctbridge.models.config import ModelConfig
from ctbridge.models.cyclegan import CycleGAN
from ctbridge.models.gmm_unit import GMMUNIT

# how reports, tables and figures name each kind
MODEL_TITLES: dict[str, str] = {"cyclegan": "CycleGAN", "unit": "UNIT",
                                "gmm_unit": "GMM-UNIT (ours)"}


def build_model(cfg: ModelConfig) -> TranslationModel:
    """The model named by ``cfg.kind``, with freshly initialised weights."""
    if cfg.kind in ("gmm_unit", "unit"):
        return GMMUNIT(cfg)
    if cfg.kind == "cyclegan":
        return CycleGAN(cfg)
    raise ValueError(f"unknown model kind {cfg.kind!r}")
