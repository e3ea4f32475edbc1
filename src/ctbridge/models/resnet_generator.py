"""CycleGAN's ResNet generator (Zhu et al. 2017, appendix 7.2; Johnson et al. 2016).

c7s1-64, d128, d256, R256 x n_res_blocks, u128, u64, c7s1-1 (channels times ``width``).
Two changes from the paper, both for CT: the ups are resize-convolutions (nearest 2x + 3x3
conv) instead of fractionally strided convolutions, which paint checkerboards; and the output
is linear instead of tanh, because the model range puts bright calcium above 1 and a tanh
would squash exactly the plaques we want to keep.

Example:
    >>> import torch
    >>> ResNetGenerator(width=0.125, n_res_blocks=2)(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 1, 32, 32])
"""

from __future__ import annotations

import torch
from torch import nn

from ctbridge.models.blocks import ConvNormAct, NormKind, ResidualBlock, ResizeConv, scaled


class ResNetGenerator(nn.Module):
    """Image-to-image generator; H and W must be divisible by 4.

    Args:
        in_channels: input image channels.
        out_channels: output image channels (linear).
        width: channel multiplier (1.0 = ngf 64).
        n_res_blocks: residual blocks at 1/4 resolution (9 for 256px, as the paper).
        norm: normalisation (instance, as the paper).
    """

    downsampling = 2

    def __init__(self, in_channels: int = 1, out_channels: int = 1, *, width: float = 1.0,
                 n_res_blocks: int = 9, norm: NormKind = "instance") -> None:
        super().__init__()
        ngf = scaled(64, width)
        reflect = "reflect"
        self.net = nn.Sequential(
            ConvNormAct(in_channels, ngf, 7, norm=norm, act="relu", padding_mode=reflect),
            ConvNormAct(ngf, 2 * ngf, 3, stride=2, norm=norm, act="relu"),
            ConvNormAct(2 * ngf, 4 * ngf, 3, stride=2, norm=norm, act="relu"),
            *[ResidualBlock(4 * ngf, norm=norm, act="relu", padding_mode=reflect)
              for _ in range(n_res_blocks)],
            ResizeConv(4 * ngf, 2 * ngf, 3, norm=norm, act="relu"),
            ResizeConv(2 * ngf, ngf, 3, norm=norm, act="relu"),
            nn.Conv2d(ngf, out_channels, 7, padding=3, padding_mode=reflect),  # linear output
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1, H, W) -> (B, 4*ngf, H/4, W/4) inside -> (B, 1, H, W)
