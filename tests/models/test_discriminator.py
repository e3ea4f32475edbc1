from __future__ import annotations

import pytest
import torch

from ctbridge.models.discriminator import PatchDiscriminator


@pytest.mark.parametrize("size,expected", [(32, 2), (128, 14), (256, 30)])
def test_patchgan_output_sizes(size, expected):
    d = PatchDiscriminator(width=0.125, norm="instance")
    assert d(torch.randn(2, 1, size, size)).shape == (2, 1, expected, expected)


def test_small_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="at least 32"):
        PatchDiscriminator(width=0.125)(torch.randn(1, 1, 16, 16))


def test_layers_and_width():
    d = PatchDiscriminator(width=1.0, n_layers=2, norm="none")
    assert d(torch.randn(1, 1, 32, 32)).shape == (1, 1, 6, 6)
    assert d.net[0][0].out_channels == 64
