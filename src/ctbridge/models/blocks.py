"""Building blocks shared by every network: norm/activation factories, conv-norm-act,
resize-convolution upsampling, residual blocks and stage shortcuts, weight initialisation.

Upsampling is always nearest-neighbour resize followed by a convolution (Odena et al. 2016,
"Deconvolution and checkerboard artifacts"): a transposed convolution's uneven kernel overlap
paints a checkerboard, and a periodic pattern of a few pixels is exactly what must not appear
next to a 2-pixel calcified plaque.

Example:
    >>> import torch
    >>> block = ConvNormAct(1, 8, kernel_size=3, norm="instance", act="lrelu")
    >>> block(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 8, 32, 32])
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

NormKind = Literal["none", "batch", "instance", "group"]
ActKind = Literal["none", "relu", "lrelu", "tanh"]
PadKind = Literal["zeros", "reflect", "replicate"]


def make_norm(kind: NormKind, channels: int) -> nn.Module:
    """A 2-D normalisation layer by name (``'none'`` gives an identity).

    Instance norm has learnable affine parameters; group norm uses up to 32 groups that divide
    ``channels`` (so it works at tiny widths).
    """
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    raise ValueError(f"unknown norm {kind!r}")


def make_act(kind: ActKind) -> nn.Module:
    """An activation by name; ``'lrelu'`` has slope 0.2 (UNIT, PatchGAN)."""
    if kind == "none":
        return nn.Identity()
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "lrelu":
        return nn.LeakyReLU(0.2, inplace=True)
    if kind == "tanh":
        return nn.Tanh()
    raise ValueError(f"unknown activation {kind!r}")


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 1 (the width multiplier of every network)."""
    return max(1, int(round(channels * width)))


class ConvNormAct(nn.Sequential):
    """Conv2d -> norm -> activation with 'same' padding for odd kernels.

    The convolution has a bias only when no normalisation follows (a norm's shift makes it
    redundant).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd for 'same' output size at stride 1.
        stride: 2 halves H and W.
        norm: normalisation after the convolution.
        act: activation after the normalisation.
        padding: explicit padding (default ``kernel_size // 2``).
        padding_mode: 'zeros', 'reflect' (CycleGAN) or 'replicate'.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *,
                 stride: int = 1, norm: NormKind = "none", act: ActKind = "relu",
                 padding: int | None = None, padding_mode: PadKind = "zeros") -> None:
        pad = kernel_size // 2 if padding is None else padding
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=pad,
                      bias=norm == "none", padding_mode=padding_mode),
            make_norm(norm, out_channels),
            make_act(act),
        )


class ResizeConv(nn.Sequential):
    """2x nearest-neighbour upsampling then a ConvNormAct: upsampling without checkerboards."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *,
                 norm: NormKind = "none", act: ActKind = "relu",
                 padding_mode: PadKind = "zeros") -> None:
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"),
            ConvNormAct(in_channels, out_channels, kernel_size, norm=norm, act=act,
                        padding_mode=padding_mode),
        )


ALPHA_INIT = 0.1
Resample = Literal["none", "down", "up"]


class StageShortcut(nn.Module):
    """``proj(x) + alpha * body(x)``: an identity path around a whole VGG stage.

    Keeps the stage's convolutions, channels and resolution change (VGG-16's topology) while
    giving gradients a short path; without it the 26 plain convolutions of a narrow VGG-16
    encoder/generator pair were measured not to learn more than the patch mean in 300 steps.
    ``alpha`` starts small (``ALPHA_INIT``, after ReZero, Bachlechner et al. 2020, which starts
    at 0): with alpha = 1 the un-normalised sums of five stages start with activations growing
    stage by stage; not 0, so that every weight already gets a gradient on the first step.

    ``proj`` maps ``in_channels`` to ``out_channels`` (a 1x1 conv where they differ) and
    follows the stage's resolution change (``resample``) losslessly: space-to-depth
    (``PixelUnshuffle``) then the 1x1 conv (down), or the 1x1 conv then depth-to-space
    (``PixelShuffle``, up; Shi et al. 2016). The path can carry every pixel through the
    1/4-resolution latent and back, so the network can start as the identity
    (:func:`identity_init`); max-pool/nearest shortcuts were blocky at the latent period
    (docs/method.md, Networks). The body includes the stage's max-pool or upsampling.
    """

    def __init__(self, body: nn.Module, in_channels: int, out_channels: int, *,
                 resample: Resample = "none") -> None:
        super().__init__()
        self.body = body
        proj: list[nn.Module] = []
        c_in, c_out = in_channels, out_channels
        if resample == "down":
            proj.append(nn.PixelUnshuffle(2))
            c_in *= 4
        if resample == "up":
            c_out *= 4
        if c_in != c_out:
            proj.append(nn.Conv2d(c_in, c_out, 1, bias=False))
        if resample == "up":
            proj.append(nn.PixelShuffle(2))
        self.proj = nn.Sequential(*proj)
        self.alpha = nn.Parameter(torch.tensor(ALPHA_INIT))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x) + self.alpha * self.body(x)


def eye_(weight: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Set a 1x1 conv weight ``(out, in, 1, 1)`` to ``gain`` times the identity on its first
    ``min(out, in)`` channels (zero elsewhere): channel i goes to channel i."""
    with torch.no_grad():
        weight.zero_()
        n = min(weight.shape[0], weight.shape[1])
        weight[torch.arange(n), torch.arange(n), 0, 0] = gain
    return weight


def identity_init(module: nn.Module) -> None:
    """Make every :class:`StageShortcut` in ``module`` start as its lossless identity path.

    Each projection becomes :func:`eye_` (information sits in the first channels: the
    space-to-depth of channel c is channels 4c..4c+3, so keeping the first channels keeps the
    image), the last convolution of each body starts at zero and ``alpha`` at 1: the stage
    outputs exactly its shortcut at step 0 and the body learns a residual from there
    (zero-initialised residual branches, Goyal et al. 2017; Zhang et al. 2019, Fixup).
    """
    for m in module.modules():
        if not isinstance(m, StageShortcut):
            continue
        for layer in m.proj:
            if isinstance(layer, nn.Conv2d):
                eye_(layer.weight)
        convs = [c for c in m.body.modules() if isinstance(c, nn.Conv2d)]
        with torch.no_grad():
            convs[-1].weight.zero_()
            if convs[-1].bias is not None:
                convs[-1].bias.zero_()
            m.alpha.fill_(1.0)


class ResidualBlock(nn.Module):
    """Two 3x3 ConvNormAct with a skip connection (CycleGAN's ResNet block, He et al. 2016).

    The second convolution has no activation, as in the CycleGAN reference architecture.
    """

    def __init__(self, channels: int, *, norm: NormKind = "instance", act: ActKind = "relu",
                 padding_mode: PadKind = "reflect") -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvNormAct(channels, channels, 3, norm=norm, act=act, padding_mode=padding_mode),
            ConvNormAct(channels, channels, 3, norm=norm, act="none", padding_mode=padding_mode),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)  # (B, C, H, W)


def init_weights(module: nn.Module, scheme: Literal["kaiming", "normal"] = "kaiming",
                 gain: float = 0.02) -> None:
    """Initialise every conv in ``module``.

    ``'kaiming'`` (fan-in, leaky-ReLU 0.2) is the QC network's; ``'normal'`` is CycleGAN's
    N(0, 0.02). Biases start at zero and norm layers at identity.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            if scheme == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
            else:
                nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
