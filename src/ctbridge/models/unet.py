"""Residual U-Net encoders and generators around the shared latent (``model.generator: unet``).

The paper's VGG pair carries every pixel through a 1/4-resolution latent; told the answer, it
learns the phase change about 9x slower than a plain batch-normalised U-Net (docs/results.md,
the paired ceiling). This pair keeps GMM-UNIT's frame -- per-domain encoders E_i and
generators G_j, the deepest encoder block and the first generator block shared by every
domain (UNIT's weight sharing), the K-component mixture latent at the bottleneck -- and gives
the generator the U-Net's skip connections from the *source's* encoder and a residual output:

    E_i(x)          -> bottleneck h (1/16 resolution) and skips s_0..s_3 (full .. 1/8)
    z ~ q_i(z | h)     the shared mixture latent (models.latent), as with the VGG pair
    G_j(z, s, x)    =  x + U_j(z, s)      the change from the source, zero at the start

so a translation starts as "no translation" (the last convolution is zero) and learns the
change from the source: where tissue is homogeneous in the source, its features are too. The
blocks are MONAI's BasicUNet blocks (two 3x3 conv-norm-LeakyReLU per level, 2x2 max-pool
down, 2x2 transposed conv up, concatenated skips) with batch normalisation, whose running
statistics make a 32x32 training patch and a whole slice at inference behave the same.

Example:
    >>> import torch
    >>> enc = UNetEncoder(["nc", "ce"], width=0.125)
    >>> h, skips = enc(torch.zeros(2, 1, 32, 32), "nc")
    >>> h.shape, [s.shape[-1] for s in skips]
    (torch.Size([2, 64, 2, 2]), [32, 16, 8, 4])
    >>> gen = UNetGenerator(["nc", "ce"], latent_dim=64, width=0.125)
    >>> x = torch.randn(2, 1, 32, 32)
    >>> bool((gen(h, "ce", skips, x) == x).all())  # the identity at the start
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.nets.basic_unet import Down, TwoConv, UpCat
from torch import nn

from ctbridge.models.blocks import NormKind, scaled
from ctbridge.models.guided import guided_filter

UNET_FEATURES = (64, 128, 256, 512, 512, 64)
"""Channels of the five U-Net levels and of the last up-block at width 1 (BasicUNet's
defaults times 2: width 0.125 gives the paired ceiling's 8-16-32-64-64-8)."""
N_DOWN = 4
"""2x2 poolings: inputs need H, W divisible by 16."""
ACT = ("LeakyReLU", {"negative_slope": 0.1, "inplace": True})


def unet_features(width: float) -> list[int]:
    """The six channel counts at ``width``."""
    return [scaled(c, width) for c in UNET_FEATURES]


def _norm(norm: NormKind) -> str | tuple:
    return ("batch", {"affine": True}) if norm == "batch" else (
        ("instance", {"affine": True}) if norm == "instance" else
        ("group", {"num_groups": 1}) if norm == "group" else "")


class UNetEncoder(nn.Module):
    """Per-domain U-Net down paths; the last ``shared_layers`` blocks are one module."""

    def __init__(self, domains: Sequence[str], *, width: float = 1.0, norm: NormKind = "batch",
                 shared_layers: int = 1) -> None:
        super().__init__()
        if not 0 <= shared_layers <= N_DOWN:
            raise ValueError(f"shared_layers must be in 0..{N_DOWN}, got {shared_layers}")
        f = unet_features(width)
        n = _norm(norm)

        def block(level: int) -> nn.Module:
            if level == 0:
                return TwoConv(2, 1, f[0], ACT, n, bias=True)
            return Down(2, f[level - 1], f[level], ACT, n, bias=True)

        levels = range(N_DOWN + 1)
        n_private = len(levels) - shared_layers
        self.private = nn.ModuleDict(
            {d: nn.ModuleList(block(i) for i in levels[:n_private]) for d in domains})
        self.shared = nn.ModuleList(block(i) for i in levels[n_private:])
        self.out_channels = f[N_DOWN]

    def forward(self, x: torch.Tensor, domain: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B, 1, H, W) -> bottleneck (B, C, H/16, W/16) and the four skips (full .. 1/8)."""
        features = []
        h = x
        for block in (*self.private[domain], *self.shared):
            h = block(h)
            features.append(h)
        return features[-1], features[:-1]


class UNetGenerator(nn.Module):
    """Per-domain U-Net up paths; the first ``shared_layers`` blocks are one module; the
    output is the source plus a change whose last convolution starts at zero."""

    def __init__(self, domains: Sequence[str], *, latent_dim: int, width: float = 1.0,
                 norm: NormKind = "batch", shared_layers: int = 1,
                 filtered: Sequence[str] = (), filter_px: int = 0,
                 filter_eps: float = 0.0) -> None:
        super().__init__()
        # the targets whose change is guided-filtered by the source (models.guided)
        self.filtered, self.filter_px, self.filter_eps = set(filtered), filter_px, filter_eps
        if not 0 <= shared_layers <= N_DOWN:
            raise ValueError(f"shared_layers must be in 0..{N_DOWN}, got {shared_layers}")
        f = unet_features(width)
        n = _norm(norm)
        # (from, skip, to) per up-block, deepest first; the last one keeps the skip's width
        ups = [(latent_dim, f[3], f[3], True), (f[3], f[2], f[2], True),
               (f[2], f[1], f[1], True), (f[1], f[0], f[5], False)]

        def block(i: int) -> nn.Module:
            src, cat, out, halves = ups[i]
            return UpCat(2, src, cat, out, ACT, n, bias=True, halves=halves)

        self.shared = nn.ModuleList(block(i) for i in range(shared_layers))
        self.private = nn.ModuleDict({d: nn.ModuleList(
            [*(block(i) for i in range(shared_layers, N_DOWN)), nn.Conv2d(f[5], 1, 1)])
            for d in domains})
        with torch.no_grad():
            for d in domains:
                self.private[d][-1].weight.zero_()
                self.private[d][-1].bias.zero_()

    def forward(self, z: torch.Tensor, domain: str, skips: Sequence[torch.Tensor],
                source: torch.Tensor) -> torch.Tensor:
        """G_domain(z, skips of the source's encoding, source) -> (B, 1, H, W)."""
        *ups, last = (*self.shared, *self.private[domain])
        h = z
        for block, skip in zip(ups, reversed(skips), strict=True):
            h = block(h, skip)
        change = last(h)  # (B, 1, H, W)
        if self.filter_px and domain in self.filtered:
            change = guided_filter(source, change, radius=self.filter_px, eps=self.filter_eps)
        return source + change
