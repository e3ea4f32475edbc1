"""PatchGAN discriminator (Isola et al. 2017; CycleGAN's 70x70 PatchGAN at ``n_layers=3``).

A stack of 4x4 stride-2 convolutions that scores every overlapping patch of the input as real
or fake, so it judges local texture and fine structure -- the thing we care about -- and is
fully convolutional: a 32x32 patch gives a 2x2 score map, a 256x256 slice a 30x30 one.

Example:
    >>> import torch
    >>> PatchDiscriminator(width=0.125)(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 1, 2, 2])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ctbridge.models.blocks import ConvNormAct, NormKind, scaled


class PatchDiscriminator(nn.Module):
    """C64 - C128 - C256 - C512(stride 1) - 1 (widths times ``width``), leaky ReLU 0.2.

    Args:
        in_channels: image channels.
        width: channel multiplier (1.0 = 64 filters in the first layer).
        n_layers: stride-2 layers; inputs need at least ``2 ** n_layers * 4`` pixels a side
            (3 -> 32x32 works, receptive field 70x70).
        norm: normalisation (never on the first layer, as in the paper).

    Output: raw scores (B, 1, h, w), no sigmoid (least-squares GAN targets 1 and 0).
    """

    def __init__(self, in_channels: int = 1, *, width: float = 1.0, n_layers: int = 3,
                 norm: NormKind = "instance") -> None:
        super().__init__()
        ndf = scaled(64, width)
        layers: list[nn.Module] = [
            ConvNormAct(in_channels, ndf, 4, stride=2, padding=1, norm="none", act="lrelu")]
        c_in = ndf
        for n in range(1, n_layers):
            c_out = ndf * min(2 ** n, 8)
            layers.append(ConvNormAct(c_in, c_out, 4, stride=2, padding=1, norm=norm,
                                      act="lrelu"))
            c_in = c_out
        c_out = ndf * min(2 ** n_layers, 8)
        layers.append(ConvNormAct(c_in, c_out, 4, stride=1, padding=1, norm=norm, act="lrelu"))
        layers.append(nn.Conv2d(c_out, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        self.min_size = 2 ** n_layers * 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(f"PatchDiscriminator with {len(self.net) - 2} stride-2 layers needs "
                             f"inputs of at least {self.min_size} pixels, got {tuple(x.shape)}")
        return self.net(x)  # (B, 1, ~H / 2**n_layers - 2, ~W / 2**n_layers - 2)


def domain_discriminators(domains: Sequence[str], *, width: float, n_layers: int,
                          norm: NormKind) -> nn.ModuleDict:
    """One :class:`PatchDiscriminator` D_i of one-channel images per domain, keyed by name."""
    return nn.ModuleDict({d: PatchDiscriminator(width=width, n_layers=n_layers, norm=norm)
                          for d in domains})

