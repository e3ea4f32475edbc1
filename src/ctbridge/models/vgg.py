"""VGG-16-topology encoders and their mirrored generators, with UNIT's weight sharing.

The encoder has VGG-16's five conv stages (Simonyan & Zisserman 2015: [2, 2, 3, 3, 3] 3x3
convolutions with [64, 128, 256, 512, 512] channels, times ``width``). VGG pools after every
stage, which would take a 32x32 patch to 1x1 -- no room for a plaque. Here only the first
``n_down`` stages end with a 2x2 max-pool (default 2: 32x32 -> 8x8 latent, 512x512 slice ->
128x128), the deeper stages keep that resolution and keep adding receptive field and features,
so the latent stays spatial and every latent location covers a 4x4 pixel block. Every stage
has a lossless shortcut around it (:class:`~ctbridge.models.blocks.StageShortcut`): same
convolutions, channels and resolutions as VGG-16 (why: docs/method.md, Networks).

The generator mirrors the encoder stage by stage; where the encoder pooled, the mirrored stage
starts with a resize-convolution (nearest 2x + 3x3 conv). Its last layer is a linear 3x3 conv to
the image channels: the model range of the intensity scaling is about [-1, 1] but bright
calcium maps above 1 and must not be squashed by a tanh.

Weight sharing (UNIT, Liu et al. 2017): the last ``shared_layers`` encoder stages and the first
``shared_layers`` generator stages are single modules used by every domain, which ties the
domains' high-level representations to one latent space.

Both networks are fully convolutional: any H, W divisible by ``2 ** n_down`` works.

Example:
    >>> import torch
    >>> enc = VGGEncoder(["nc", "ce"], width=0.125, n_down=2, shared_layers=1)
    >>> enc(torch.zeros(2, 1, 32, 32), "nc").shape
    torch.Size([2, 64, 8, 8])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ctbridge.models.blocks import (
    ActKind,
    ConvNormAct,
    NormKind,
    ResizeConv,
    StageShortcut,
    scaled,
)

VGG16_STAGES: tuple[tuple[int, int], ...] = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
"""(convolutions, channels) of VGG-16's five stages."""


def stage_channels(width: float) -> list[int]:
    """Channels of the five VGG stages at ``width``."""
    return [scaled(c, width) for _, c in VGG16_STAGES]


def _check_split(n_down: int, shared_layers: int) -> None:
    if not 0 <= n_down <= len(VGG16_STAGES):
        raise ValueError(f"n_down must be in 0..5, got {n_down}")
    if not 0 <= shared_layers <= len(VGG16_STAGES):
        raise ValueError(f"shared_layers must be in 0..5, got {shared_layers}")


def encoder_stage(index: int, in_channels: int, *, width: float, pool: bool, norm: NormKind,
                  act: ActKind) -> nn.Sequential:
    """VGG stage ``index`` (0-based): its 3x3 convs, then a 2x2 max-pool if ``pool``, with a
    lossless :class:`StageShortcut` around them."""
    n_convs, _ = VGG16_STAGES[index]
    out = stage_channels(width)[index]
    layers: list[nn.Module] = []
    for i in range(n_convs):
        layers.append(ConvNormAct(in_channels if i == 0 else out, out, 3, norm=norm, act=act))
    body = nn.Sequential(*layers, *([nn.MaxPool2d(2)] if pool else []))
    return nn.Sequential(StageShortcut(body, in_channels, out,
                                       resample="down" if pool else "none"))


def generator_stage(index: int, in_channels: int, *, width: float, upsample: bool,
                    norm: NormKind, act: ActKind) -> nn.Sequential:
    """Mirror of encoder stage ``index``: (resize-)conv in, 3x3 convs, out to the stage below.

    The output has the channels of stage ``index - 1`` (stage 0 keeps its own), so stacking
    mirrored stages 4, 3, ..., 0 walks the VGG channel ladder back down.
    """
    n_convs, _ = VGG16_STAGES[index]
    chans = stage_channels(width)
    mid, out = chans[index], chans[max(index - 1, 0)]
    layers: list[nn.Module] = []
    for i in range(n_convs):
        c_in = in_channels if i == 0 else mid
        c_out = out if i == n_convs - 1 else mid
        if i == 0 and upsample:
            layers.append(ResizeConv(c_in, c_out, 3, norm=norm, act=act))
        else:
            layers.append(ConvNormAct(c_in, c_out, 3, norm=norm, act=act))
    return nn.Sequential(StageShortcut(nn.Sequential(*layers), in_channels, out,
                                       resample="up" if upsample else "none"))


class VGGEncoder(nn.Module):
    """Per-domain VGG-16 encoders whose last ``shared_layers`` stages are one shared module.

    Args:
        domains: domain names (any number >= 1).
        in_channels: image channels.
        width: channel multiplier (1.0 = VGG-16).
        n_down: 2x2 poolings, after the first ``n_down`` stages.
        shared_layers: trailing stages shared by all domains.
        norm: normalisation after each conv.
        act: activation after each conv.
    """

    def __init__(self, domains: Sequence[str], *, in_channels: int = 1, width: float = 1.0,
                 n_down: int = 2, shared_layers: int = 1, norm: NormKind = "none",
                 act: ActKind = "lrelu") -> None:
        super().__init__()
        _check_split(n_down, shared_layers)
        self.n_down = n_down
        n_private = len(VGG16_STAGES) - shared_layers
        chans = stage_channels(width)

        def stages(indices: range, c_in: int) -> nn.Sequential:
            mods = []
            for s in indices:
                mods.append(encoder_stage(s, c_in, width=width, pool=s < n_down, norm=norm,
                                          act=act))
                c_in = chans[s]
            return nn.Sequential(*mods)

        self.private = nn.ModuleDict(
            {d: stages(range(n_private), in_channels) for d in domains})
        shared_in = chans[n_private - 1] if n_private > 0 else in_channels
        self.shared = stages(range(n_private, len(VGG16_STAGES)), shared_in)
        self.out_channels = chans[-1]

    def forward(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        h = self.private[domain](x)  # (B, c_private, H / 2**min(n_down, n_private), ...)
        return self.shared(h)  # (B, 512*width, H / 2**n_down, W / 2**n_down)


class VGGGenerator(nn.Module):
    """Per-domain mirrored generators whose first ``shared_layers`` stages are shared.

    Args:
        domains: domain names.
        latent_dim: channels of the latent z fed in.
        out_channels: image channels produced (linear output, no tanh).
        width, n_down, shared_layers, norm, act: as :class:`VGGEncoder`, mirrored.
    """

    def __init__(self, domains: Sequence[str], *, latent_dim: int, out_channels: int = 1,
                 width: float = 1.0, n_down: int = 2, shared_layers: int = 1,
                 norm: NormKind = "none", act: ActKind = "lrelu") -> None:
        super().__init__()
        _check_split(n_down, shared_layers)
        order = list(reversed(range(len(VGG16_STAGES))))  # stages 4, 3, 2, 1, 0
        chans = stage_channels(width)

        def stages(indices: list[int], c_in: int) -> nn.Sequential:
            mods = []
            for s in indices:
                mods.append(generator_stage(s, c_in, width=width, upsample=s < n_down,
                                            norm=norm, act=act))
                c_in = chans[max(s - 1, 0)]
            return nn.Sequential(*mods)

        shared_idx, private_idx = order[:shared_layers], order[shared_layers:]
        self.shared = stages(shared_idx, latent_dim)
        private_in = chans[max(shared_idx[-1] - 1, 0)] if shared_idx else latent_dim
        self.private = nn.ModuleDict({
            d: nn.Sequential(
                stages(private_idx, private_in),
                # linear output: no norm, no activation, nothing clipped
                nn.Conv2d(chans[0], out_channels, 3, padding=1),
            )
            for d in domains
        })

    def forward(self, z: torch.Tensor, domain: str) -> torch.Tensor:
        h = self.shared(z)  # (B, c, h', w') after the shared (input-side) stages
        return self.private[domain](h)  # (B, out_channels, h * 2**n_down, w * 2**n_down)
