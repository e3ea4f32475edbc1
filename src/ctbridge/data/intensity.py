"""HU <-> network range, invertible and without clipping; display windows kept apart.

Why piecewise linear rather than a soft-tissue window: plaques (130 to >1000 HU) and iodine
(up to ~400 HU) must survive the round trip, so nothing in [-1024, 3000] HU may be clipped.
A plain linear map of that range leaves soft tissue (where the phases differ) only ~17% of the
network's range; the default knots give [-200, 500] HU 60% of it instead. Outside the outer
knots the map continues linearly, so values beyond 3000 HU (metal) also round-trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_KNOTS_HU: tuple[float, ...] = (-1024.0, -200.0, 500.0, 3000.0)
DEFAULT_KNOTS_MODEL: tuple[float, ...] = (-1.0, -0.6, 0.6, 1.0)

ArrayLike = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class IntensityScaler:
    """Monotone piecewise-linear map between HU and the network's range.

    Args:
        knots_hu: strictly increasing HU breakpoints.
        knots_model: strictly increasing model values at those breakpoints.

    Example:
        >>> s = IntensityScaler()
        >>> round(float(s.to_hu(s.to_model(np.array(1000.0)))), 6)  # exact to float rounding
        1000.0
    """

    knots_hu: tuple[float, ...] = DEFAULT_KNOTS_HU
    knots_model: tuple[float, ...] = DEFAULT_KNOTS_MODEL

    def __post_init__(self) -> None:
        hu, mo = np.asarray(self.knots_hu, float), np.asarray(self.knots_model, float)
        if hu.shape != mo.shape or hu.size < 2:
            raise ValueError("knots_hu and knots_model need the same length, at least 2")
        if np.any(np.diff(hu) <= 0) or np.any(np.diff(mo) <= 0):
            raise ValueError("knots must be strictly increasing (the map must be invertible)")

    def to_model(self, hu: ArrayLike) -> ArrayLike:
        """HU -> network range."""
        return _piecewise_linear(hu, self.knots_hu, self.knots_model)

    def to_hu(self, values: ArrayLike) -> ArrayLike:
        """Network range -> HU (exact inverse of :meth:`to_model`)."""
        return _piecewise_linear(values, self.knots_model, self.knots_hu)

    @property
    def soft_tissue_slope(self) -> float:
        """Model units per HU at 40 HU (soft tissue): converts HU differences there."""
        lo, hi = self.to_model(np.array([0.0, 80.0]))
        return float(hi - lo) / 80.0

    def hu_per_unit(self, values: torch.Tensor) -> torch.Tensor:
        """HU per network unit at each of ``values`` (network range): the local slope of
        :meth:`to_hu`, ~10x larger in bone than in soft tissue with the default knots."""
        xs = torch.as_tensor(self.knots_model, dtype=values.dtype, device=values.device)
        hu = torch.as_tensor(self.knots_hu, dtype=values.dtype, device=values.device)
        slopes = torch.diff(hu) / torch.diff(xs)
        return slopes[torch.bucketize(values.detach(), xs[1:-1].contiguous(), right=True)]

    def hu_weight(self, values: torch.Tensor, cap: float) -> torch.Tensor:
        """Per-pixel weight that turns an L1 in network units into one in HU terms: HU per
        unit at ``values`` over soft tissue's, clamped to [1, ``cap``] (gas, bone, calcium)."""
        return (self.hu_per_unit(values) * self.soft_tissue_slope).clamp(min=1.0, max=cap)

    def to_dict(self) -> dict[str, list[float]]:
        return {"knots_hu": list(self.knots_hu), "knots_model": list(self.knots_model)}

    @classmethod
    def from_dict(cls, d: dict[str, Sequence[float]]) -> IntensityScaler:
        return cls(tuple(d["knots_hu"]), tuple(d["knots_model"]))


def _piecewise_linear(x: ArrayLike, xs: Sequence[float], ys: Sequence[float]) -> ArrayLike:
    """Evaluate the polyline through (xs, ys), extended linearly beyond both ends."""
    xs_np, ys_np = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    slopes = np.diff(ys_np) / np.diff(xs_np)
    if isinstance(x, torch.Tensor):
        xs_t = torch.as_tensor(xs_np, dtype=x.dtype, device=x.device)
        ys_t = torch.as_tensor(ys_np, dtype=x.dtype, device=x.device)
        sl_t = torch.as_tensor(slopes, dtype=x.dtype, device=x.device)
        seg = torch.bucketize(x.detach(), xs_t[1:-1].contiguous(), right=True)
        return ys_t[seg] + sl_t[seg] * (x - xs_t[seg])
    arr = np.asarray(x)
    out_dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32
    seg = np.searchsorted(xs_np[1:-1], arr, side="right")
    return (ys_np[seg] + slopes[seg] * (arr - xs_np[seg])).astype(out_dtype)


def window(hu: np.ndarray, center: float = 40.0, width: float = 400.0) -> np.ndarray:
    """Display window to [0, 1] for figures only (soft tissue by default). Clips by design."""
    lo = center - width / 2.0
    return np.clip((np.asarray(hu, np.float32) - lo) / width, 0.0, 1.0)


WINDOWS: dict[str, tuple[float, float]] = {
    "soft": (40.0, 400.0),
    "vessel": (150.0, 700.0),
    "bone": (500.0, 2000.0),
    "lung": (-600.0, 1500.0),
}


class IntensityConfig(BaseModel):
    """The knots of an :class:`IntensityScaler`, as stored in a training config."""

    model_config = ConfigDict(extra="forbid")

    knots_hu: list[float] = Field(default_factory=lambda: list(DEFAULT_KNOTS_HU))
    knots_model: list[float] = Field(default_factory=lambda: list(DEFAULT_KNOTS_MODEL))

    def scaler(self) -> IntensityScaler:
        """The scaler these knots define."""
        return IntensityScaler(tuple(self.knots_hu), tuple(self.knots_model))
