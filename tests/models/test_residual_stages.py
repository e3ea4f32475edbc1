"""Residual VGG stages and the posterior initialisation (the measured defaults)."""

from __future__ import annotations

import math

import torch

from ctbridge.models import ModelConfig, build_model
from ctbridge.models.blocks import StageShortcut


def test_every_stage_has_a_shortcut_and_the_posterior_starts_narrow():
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=0.125, n_components=3))
    shortcuts = [m for m in model.modules() if isinstance(m, StageShortcut)]
    # 4 private stages per domain + 1 shared, in the encoder and in the generator
    assert len(shortcuts) == 2 * (2 * 4 + 1)
    assert all(float(m.alpha.detach()) == 1.0 for m in shortcuts)  # identity init
    assert model.translate(torch.zeros(2, 1, 64, 48), "nc", "ce").shape == (2, 1, 64, 48)
    expected = 2 * math.log(0.1)
    assert torch.allclose(model.latent.posterior_log_var, torch.full_like(
        model.latent.posterior_log_var, expected))


def test_unit_keeps_unit_variance():
    unit = build_model(ModelConfig(kind="unit", width=0.125))
    assert torch.count_nonzero(unit.latent.posterior_log_var) == 0
