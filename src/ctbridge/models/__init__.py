"""Translation models: GMM-UNIT (ours), UNIT and CycleGAN behind one interface.

Example:
    >>> from ctbridge.models import ModelConfig, build_model
    >>> model = build_model(ModelConfig(kind="unit", width=0.125))
    >>> model.domains, model.downsampling
    (['nc', 'ce'], 2)
"""

from __future__ import annotations

from ctbridge.models.base import TranslationModel
from ctbridge.models.config import ModelConfig, build_model

__all__ = ["ModelConfig", "TranslationModel", "build_model"]
