from __future__ import annotations

import pytest
import torch
from torch import nn

from ctbridge.models.blocks import (
    ConvNormAct,
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
