"""Translation models: GMM-UNIT (ours), UNIT and CycleGAN behind one interface.

Example:
    >>> from ctbridge.models import ModelConfig, build_model
    >>> model = build_model(ModelConfig(kind="unit", width=0.125))
    >>> model.domains, model.downsampling
    (['nc', 'ce'], 2)
"""

from __future__ import annotations

from ctbridge.models.base import TranslationModel
from ctbridge.models.build import MODEL_TITLES, build_model
from ctbridge.models.config import ModelConfig

__all__ = ["MODEL_TITLES", "ModelConfig", "TranslationModel", "build_model"]
