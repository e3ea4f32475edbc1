"""The QC network: a small fully convolutional CNN, body-masked global pooling, one logit.

Why this shape: translation artefacts live at two scales -- pixel patterns (checkerboard, noise
grain, a 1-px invented plaque) that only full-resolution convolutions see, and regional ones
(seams, drift) that need the strided stages' context. Pooling is restricted to the body so a
slice's score does not depend on how much air surrounds the patient, which lets the network
train on crops and score whole slices of any size (64 to 512 px). The max half of the pooling
keeps one small artefact from being averaged away on a large slice.

Example:
    >>> import torch
    >>> net = QCNet(width=4, depth=2)
    >>> net(torch.zeros(3, 1, 64, 80)).shape
    torch.Size([3])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ctbridge.models.blocks import ConvNormAct, NormKind, init_weights


class QCNet(nn.Module):
    """Artefact logit of each slice.

    Args:
        width: channels of the full-resolution stem; stage i has ``width * 2**i`` channels,
            capped at ``8 * width``.
        depth: stride-2 stages (the slice shrinks by ``2**depth``).
        norm: normalisation; ``'batch'`` is a fixed per-pixel affine map at inference, so the
            network stays a local function of the image before the masked pooling.
        window: (low, high) in model range: adds the slice seen through that window (clipped
            to [-1, 1]) as an input channel, so soft-tissue contrast is not dwarfed by bone/air.
        residual_clip: adds the residual after a 3x3 mean, divided by this (model range) and
            clipped to [-1, 1] (a truncated high-pass as in steganalysis CNNs): noise grain,
            checkerboards and seams then have the same scale as organ edges.

    The head's weights on the max-pooled half start at zero: the max of a feature over a slice
    is dominated early on by organ edges, and with it live from step 0 the network was measured
    to learn an added noise texture far more slowly (train loss 0.68 vs 0.08 after 150 tiny
    steps); it still gets gradients and grows where a local artefact needs it.
    """

    def __init__(self, width: int = 16, depth: int = 4, norm: NormKind = "batch", *,
                 window: tuple[float, float] | list[float] | None = None,
                 residual_clip: float | None = None) -> None:
        super().__init__()
        if width < 1 or depth < 1:
            raise ValueError(f"width and depth must be >= 1, got {width}, {depth}")
        if window is not None and not window[0] < window[1]:
            raise ValueError(f"window must be (low, high) with low < high, got {window}")
        if residual_clip is not None and residual_clip <= 0:
            raise ValueError(f"residual_clip must be > 0, got {residual_clip}")
        self.window = None if window is None else (float(window[0]), float(window[1]))
        self.residual_clip = None if residual_clip is None else float(residual_clip)
        self.hparams: dict[str, Any] = {"width": width, "depth": depth, "norm": norm,
                                        "window": None if window is None else list(self.window),
                                        "residual_clip": self.residual_clip}
        in_ch = 1 + (window is not None) + (residual_clip is not None)
        layers: list[nn.Module] = [
            ConvNormAct(in_ch, width, 3, norm="none", act="lrelu"),
            ConvNormAct(width, width, 3, norm=norm, act="lrelu"),
        ]
        ch = width
        for i in range(depth):
            out = min(width * 2 ** (i + 1), 8 * width)
            layers += [ConvNormAct(ch, out, 3, stride=2, norm=norm, act="lrelu"),
                       ConvNormAct(out, out, 3, norm=norm, act="lrelu")]
            ch = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * ch, 1)
        init_weights(self)
        with torch.no_grad():  # the max half starts silent (see class docstring)
            self.head.weight[:, ch:] = 0.0

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` model range -> ``(B, C_in, H, W)``: the slice, window, residual."""
        chans = [x]
        if self.window is not None:
            lo, hi = self.window
            chans.append(((x - lo) * (2.0 / (hi - lo)) - 1.0).clamp(-1.0, 1.0))
        if self.residual_clip is not None:
            mean = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
            chans.append(((x - mean) / self.residual_clip).clamp(-1.0, 1.0))
        return torch.cat(chans, dim=1)

    def forward(self, x: torch.Tensor, body: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B,)`` of slices ``x`` ``(B, 1, H, W)`` (model range) with body masks.

        ``body`` is ``(B, 1, H, W)`` bool/float; ``None`` pools over the whole slice. A slice
        whose body vanishes at feature resolution is pooled over all of it.
        """
        f = self.features(self.inputs(x))  # (B, C, h, w)
        if body is None:
            w = torch.ones_like(f[:, :1])  # (B, 1, h, w)
        else:
            w = F.adaptive_max_pool2d(body.to(f.dtype), f.shape[-2:])  # (B, 1, h, w)
            empty = w.flatten(1).sum(1) == 0  # (B,)
            w = torch.where(empty[:, None, None, None], torch.ones_like(w), w)
        mean = (f * w).flatten(2).sum(2) / w.flatten(2).sum(2)  # (B, C)
        peak = f.masked_fill(w == 0, float("-inf")).flatten(2).amax(2)  # (B, C)
        return self.head(torch.cat([mean, peak], dim=1))[:, 0]  # (B,)
