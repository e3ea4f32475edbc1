from __future__ import annotations

import pytest
import torch
from torch import nn

from ctbridge.models.vgg import VGG16_STAGES, VGGEncoder, VGGGenerator, stage_channels


def test_vgg16_topology_at_width_one():
    enc = VGGEncoder(["a"], width=1.0, shared_layers=0)
    convs = [m for m in enc.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 13  # 2 + 2 + 3 + 3 + 3
    assert [c.out_channels for c in convs] == [64] * 2 + [128] * 2 + [256] * 3 + [512] * 6
    # beside them only the stage shortcuts' 1x1 projections
    others = [m for m in enc.modules() if isinstance(m, nn.Conv2d) and m not in convs]
    assert all(c.kernel_size == (1, 1) for c in others)
    assert [n for n, _ in VGG16_STAGES] == [2, 2, 3, 3, 3]


@pytest.mark.parametrize("n_down", [0, 1, 2, 3])
@pytest.mark.parametrize("size", [(32, 32), (128, 96)])
def test_encoder_generator_shapes(n_down, size):
    domains = ["nc", "ce", "venous"]
    enc = VGGEncoder(domains, width=0.125, n_down=n_down)
    gen = VGGGenerator(domains, latent_dim=5, width=0.125, n_down=n_down)
    x = torch.randn(2, 1, *size)
    for d in domains:
        h = enc(x, d)
        assert h.shape == (2, stage_channels(0.125)[-1], size[0] >> n_down, size[1] >> n_down)
        z = torch.randn(2, 5, *h.shape[-2:])
        assert gen(z, d).shape == (2, 1, *size)


@pytest.mark.parametrize("shared", [0, 1, 2, 5])
def test_shared_stages_are_one_module(shared):
    enc = VGGEncoder(["a", "b"], width=0.125, shared_layers=shared)
    gen = VGGGenerator(["a", "b"], latent_dim=4, width=0.125, shared_layers=shared)
    assert len(enc.shared) == shared and len(gen.shared) == shared
    assert len(enc.private["a"]) == 5 - shared
    x = torch.randn(1, 1, 16, 16)
    assert enc(x, "a").shape[1] == 64
    assert gen(torch.randn(1, 4, 4, 4), "b").shape == (1, 1, 16, 16)
    if shared:  # changing a shared weight changes every domain's output
        before = {d: enc(x, d) for d in "ab"}
        with torch.no_grad():
            next(enc.shared.parameters()).add_(0.5)
        assert all(not torch.equal(enc(x, d), before[d]) for d in "ab")


def test_generator_has_linear_output_and_no_transposed_convs():
    gen = VGGGenerator(["a"], latent_dim=4, width=0.125)
    mods = list(gen.modules())
    assert not any(isinstance(m, (nn.Tanh, nn.Sigmoid, nn.ConvTranspose2d)) for m in mods)
    last = gen.private["a"][-1]
    assert isinstance(last, nn.Conv2d) and last.out_channels == 1
    with torch.no_grad():
        last.bias.fill_(3.0)  # nothing after the last conv squashes values above 1
        last.weight.zero_()
    assert torch.allclose(gen(torch.randn(1, 4, 2, 2), "a"), torch.full((1, 1, 8, 8), 3.0))
