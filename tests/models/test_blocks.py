from __future__ import annotations

import pytest
import torch
from torch import nn

from ctbridge.models.blocks import (
    ConvNormAct,
    HighPass,
    ResidualBlock,
    ResizeConv,
    init_weights,
    make_act,
    make_norm,
    scaled,
)


@pytest.mark.parametrize("norm", ["none", "batch", "instance", "group"])
def test_conv_norm_act_keeps_size_and_has_bias_only_without_norm(norm):
    block = ConvNormAct(3, 12, 3, norm=norm, act="lrelu")
    assert block(torch.randn(2, 3, 16, 20)).shape == (2, 12, 16, 20)
    assert (block[0].bias is not None) == (norm == "none")


def test_stride_two_halves():
    assert ConvNormAct(1, 4, 3, stride=2)(torch.randn(1, 1, 32, 32)).shape == (1, 4, 16, 16)


def test_resize_conv_doubles_without_transposed_conv():
    up = ResizeConv(4, 2)
    assert up(torch.randn(1, 4, 8, 8)).shape == (1, 2, 16, 16)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in up.modules())


def test_residual_block_is_identity_when_body_is_zero():
    block = ResidualBlock(4, norm="none")
    for p in block.parameters():
        nn.init.zeros_(p)
    x = torch.randn(1, 4, 8, 8)
    assert torch.equal(block(x), x)


def test_factories_and_scaling():
    assert isinstance(make_norm("none", 3), nn.Identity)
    assert isinstance(make_norm("group", 24), nn.GroupNorm)
    assert isinstance(make_act("lrelu"), nn.LeakyReLU)
    with pytest.raises(ValueError):
        make_norm("layer", 3)  # type: ignore[arg-type]
    assert scaled(64, 0.125) == 8 and scaled(64, 0.001) == 1


def test_init_weights_normal():
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 64, 3)
    init_weights(conv, "normal", 0.02)
    assert abs(float(conv.weight.detach().std()) - 0.02) < 0.002
    assert float(conv.bias.detach().abs().max()) == 0.0


def test_high_pass_is_the_image_minus_its_gaussian_blur():
    hp = HighPass(1.5)
    flat = torch.full((2, 1, 24, 20), -0.7)
    assert float(hp(flat).abs().max()) < 1e-6  # replicate padding: no border edge
    ramp = torch.linspace(-1, 1, 20).expand(1, 1, 24, 20).clone()
    assert float(hp(ramp)[..., 7:-7].abs().max()) < 1e-5  # a symmetric blur keeps a ramp
    dot = torch.zeros(1, 1, 33, 33)
    dot[0, 0, 16, 16] = 1.0
    # a one-pixel spot keeps 1 - 1 / (2 pi sigma^2) of its height (the Gaussian's centre)
    assert float(hp(dot)[0, 0, 16, 16]) == pytest.approx(1 - 1 / (2 * torch.pi * 1.5**2),
                                                         abs=0.01)
    assert float(hp(dot).sum()) == pytest.approx(0.0, abs=1e-5)  # the band has no mean
    noise = torch.randn(1, 1, 256, 256, generator=torch.Generator().manual_seed(0))
    # white noise keeps sum (delta - g)^2 = 1 - 2 g(0) + sum g^2 = 1 - 3 / (4 pi sigma^2)
    assert float(hp(noise).var()) == pytest.approx(1 - 3 / (4 * torch.pi * 1.5**2), abs=0.01)
    assert not list(hp.parameters()) and not hp.state_dict()  # nothing to train or save
    with pytest.raises(ValueError, match="sigma"):
        HighPass(0.0)
