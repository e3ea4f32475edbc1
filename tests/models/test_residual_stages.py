"""The experimental residual VGG stages and the posterior initialisation option."""

from __future__ import annotations

import math

import torch

from ctbridge.models import ModelConfig, build_model
from ctbridge.models.blocks import ALPHA_INIT, StageShortcut


def test_residual_model_shapes_and_every_generator_weight_learns():
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=0.125, n_components=3, residual_stages=True,
                                    posterior_std_init=0.1))
    shortcuts = [m for m in model.modules() if isinstance(m, StageShortcut)]
    # 4 private stages per domain + 1 shared, in the encoder and in the generator
    assert len(shortcuts) == 2 * (2 * 4 + 1)
    assert all(abs(float(m.alpha) - ALPHA_INIT) < 1e-7 for m in shortcuts)
    assert model.translate(torch.zeros(2, 1, 64, 48), "nc", "ce").shape == (2, 1, 64, 48)
    expected = 2 * math.log(0.1)
    assert torch.allclose(model.latent.posterior_log_var, torch.full_like(
        model.latent.posterior_log_var, expected))
    params = model.generator_parameters()
    before = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=1e-3)
    batch = {d: torch.randn(2, 1, 32, 32) for d in model.domains}
    model.generator_losses(batch)["total"].backward()
    opt.step()
    names = {id(p): n for n, p in model.named_parameters()}
    frozen = [names[id(p)] for b, p in zip(before, params, strict=True) if torch.equal(b, p)]
    assert frozen == []


def test_plain_vgg16_stays_the_default_and_unit_keeps_unit_variance():
    assert ModelConfig().residual_stages is False
    unit = build_model(ModelConfig(kind="unit", width=0.125, posterior_std_init=0.1))
    assert torch.count_nonzero(unit.latent.posterior_log_var) == 0
