"""A differentiable guided filter (He et al., "Guided image filtering", 2010) for the change.

Inside the generator (``model.change_filter_px``), the change a translation adds to its source
is replaced by its guided filter with the source as the guide: within each (2r+1)^2 box the
change becomes a linear function of the source, a * source + b. Where the source is flat
(a lumen, an organ: its variance below ``eps``) a -> 0 and the change is the box's mean, so
homogeneous tissue gets a homogeneous change; across an edge of the source, the change follows
the edge. It is the training-time, edge-aware counterpart of the smoothing applied at
inference (:mod:`ctbridge.inference.enhancement`).

Example:
    >>> import torch
    >>> guide = torch.zeros(1, 1, 16, 16); guide[..., 8:] = 1.0       # two flat halves
    >>> change = 0.5 * guide + 0.1 * torch.randn(1, 1, 16, 16)       # a noisy step
    >>> out = guided_filter(guide, change, radius=3, eps=1e-2)
    >>> bool(out[..., :6].std() < change[..., :6].std() / 2)          # flat where flat
    True
    >>> round(float(out[..., 12:].mean() - out[..., :4].mean()), 1)   # the step is kept
    0.5
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over (2r+1)^2 boxes, (B, C, H, W) -> same shape (edges reflected)."""
    padded = F.pad(x, (radius,) * 4, mode="replicate")
    return F.avg_pool2d(padded, 2 * radius + 1, stride=1)


def guided_filter(guide: torch.Tensor, x: torch.Tensor, *, radius: int, eps: float
                  ) -> torch.Tensor:
    """``x`` filtered by ``guide`` (both (B, 1, H, W)), in float32 whatever the autocast."""
    with torch.autocast(x.device.type, enabled=False):
        g, v = guide.float(), x.float()
        mean_g, mean_v = box_mean(g, radius), box_mean(v, radius)
        cov = box_mean(g * v, radius) - mean_g * mean_v
        var = box_mean(g * g, radius) - mean_g * mean_g
        a = cov / (var + eps)
        b = mean_v - a * mean_g
        return box_mean(a, radius) * g + box_mean(b, radius)
