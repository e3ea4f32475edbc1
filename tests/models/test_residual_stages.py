"""Residual VGG stages, the init option and the posterior initialisation (the measured defaults)."""

from __future__ import annotations

import math

import pytest
import torch

from ctbridge.models import ModelConfig, build_model
from ctbridge.models.blocks import ALPHA_INIT, StageShortcut


def test_residual_model_shapes_and_every_generator_weight_learns():
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=0.125, n_components=3, residual_stages=True,
                                    posterior_std_init=0.1, shortcut="pool", init="pytorch"))
    shortcuts = [m for m in model.modules() if isinstance(m, StageShortcut)]
    # 4 private stages per domain + 1 shared, in the encoder and in the generator
    assert len(shortcuts) == 2 * (2 * 4 + 1)
    assert all(abs(float(m.alpha.detach()) - ALPHA_INIT) < 1e-7 for m in shortcuts)
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


def test_defaults_are_the_measured_ones_and_unit_keeps_unit_variance():
    cfg = ModelConfig()
    assert (cfg.residual_stages, cfg.shortcut, cfg.init, cfg.posterior_std_init) == (
        True, "shuffle", "identity", 0.1)
    unit = build_model(ModelConfig(kind="unit", width=0.125))
    assert torch.count_nonzero(unit.latent.posterior_log_var) == 0


def _conv_weight_std(model: torch.nn.Module) -> float:
    convs = [m.weight for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)
             and m.kernel_size == (3, 3)]
    return float(torch.stack([w.std() * math.sqrt(w[0].numel()) for w in convs]).mean())


def test_init_option_scales_the_weights_as_documented():
    """kaiming normal (a = 0.2): std sqrt(2 / 1.04) / sqrt(fan_in) = 1.39 / sqrt(fan_in);
    PyTorch's default kaiming-uniform (a = sqrt 5): 1 / sqrt(3 fan_in) = 0.577 / sqrt(fan_in)."""
    torch.manual_seed(0)
    kaiming = _conv_weight_std(build_model(ModelConfig(width=0.25, init="kaiming",
                                                       shortcut="pool")))
    default = _conv_weight_std(build_model(ModelConfig(width=0.25, init="pytorch",
                                                       shortcut="pool")))
    assert kaiming == pytest.approx(math.sqrt(2 / 1.04), rel=0.05)
    assert default == pytest.approx(1 / math.sqrt(3), rel=0.05)
