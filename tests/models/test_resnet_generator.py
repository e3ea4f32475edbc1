from __future__ import annotations

import pytest
import torch
from torch import nn

from ctbridge.models.blocks import ResidualBlock
from ctbridge.models.resnet_generator import ResNetGenerator


@pytest.mark.parametrize("size", [(32, 32), (128, 64)])
def test_shapes(size):
    g = ResNetGenerator(width=0.125, n_res_blocks=2)
    assert g(torch.randn(2, 1, *size)).shape == (2, 1, *size)


def test_topology():
    g = ResNetGenerator(width=1.0)
    assert sum(isinstance(m, ResidualBlock) for m in g.modules()) == 9
    assert not any(isinstance(m, (nn.ConvTranspose2d, nn.Tanh)) for m in g.modules())
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].kernel_size == (7, 7) and convs[0].out_channels == 64
    assert convs[-1].kernel_size == (7, 7) and convs[-1].out_channels == 1
    assert max(c.out_channels for c in convs) == 256
