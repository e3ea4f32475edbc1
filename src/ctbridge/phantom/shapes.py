"""Drawing primitives on an axial label canvas: egg-shaped blobs and tubes of varying radius.

Coordinates are mm in the axial plane; each primitive touches only the pixels of its bounding
box, so a slice with dozens of structures stays cheap on a supersampled grid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Blob:
    """A rotated superellipse with a semi-axis per side.

    ``a_neg``/``a_pos`` are the semi-axes towards -u/+u, ``b_neg``/``b_pos`` towards -v/+v, where
    (u, v) is (x, y) rotated by ``angle``; unequal sides give egg and D shapes (the body's flat
    back), ``power`` > 2 makes it boxier. ``bulge`` (k, amplitude, phase) terms lobulate the
    outline (the liver).
    """

    x: float
    y: float
    a_neg: float
    a_pos: float
    b_neg: float
    b_pos: float
    angle: float = 0.0
    power: float = 2.0
    bulge: tuple[tuple[int, float, float], ...] = ()

    @classmethod
    def ellipse(cls, x: float, y: float, a: float, b: float, angle: float = 0.0) -> Blob:
        return cls(x, y, a, a, b, b, angle)

    @classmethod
    def along(cls, x0: float, y0: float, x1: float, y1: float, half_width: float) -> Blob:
        """An ellipse whose long axis runs from (x0, y0) to (x1, y1)."""
        dx, dy = x1 - x0, y1 - y0
        half_length = max(float(np.hypot(dx, dy)) / 2, half_width)
        angle = float(np.arctan2(-dx, dy))  # rotates the v axis onto the segment
        return cls.ellipse((x0 + x1) / 2, (y0 + y1) / 2, half_width, half_length, angle)

    def shrunk(self, d_neg_a: float, d_pos_a: float, d_neg_b: float, d_pos_b: float) -> Blob:
        """The same blob with each side moved inwards (an approximate inner offset curve)."""
        return Blob(self.x, self.y, max(self.a_neg - d_neg_a, 0.5), max(self.a_pos - d_pos_a, 0.5),
                    max(self.b_neg - d_neg_b, 0.5), max(self.b_pos - d_pos_b, 0.5), self.angle,
                    self.power, self.bulge)

    @property
    def reach(self) -> float:
        grow = 1 + sum(abs(amp) for _, amp, _ in self.bulge)
        return max(self.a_neg, self.a_pos, self.b_neg, self.b_pos) * grow * 1.05


class Canvas:
    """A 2D label image on mm coordinates ``xs`` (columns) and ``ys`` (rows)."""

    def __init__(self, xs: np.ndarray, ys: np.ndarray) -> None:
        self.xs, self.ys = xs, ys
        self.labels = np.zeros((ys.size, xs.size), np.uint8)

    def _box(self, x0: float, x1: float, y0: float, y1: float) -> tuple[slice, slice] | None:
        c0, c1 = np.searchsorted(self.xs, [x0, x1])
        r0, r1 = np.searchsorted(self.ys, [y0, y1])
        if c0 >= c1 or r0 >= r1:
            return None
        return slice(r0, r1), slice(c0, c1)

    def _write(self, box: tuple[slice, slice], inside: np.ndarray, value: int,
               on: Iterable[int] | None) -> None:
        view = self.labels[box]
        if on is not None:
            allowed = np.zeros(256, bool)
            allowed[list(on)] = True
            inside &= allowed[view]
        view[inside] = value

    def blob(self, b: Blob, value: int, on: Iterable[int] | None = None) -> None:
        """Paint ``b`` with ``value``, only over labels in ``on`` (anything if None)."""
        r = b.reach
        box = self._box(b.x - r, b.x + r, b.y - r, b.y + r)
        if box is None:
            return
        dx = self.xs[None, box[1]] - b.x
        dy = self.ys[box[0], None] - b.y
        if b.angle == 0 and not b.bulge:  # axis-aligned: half width per row, no per-pixel power
            bv = np.where(dy > 0, b.b_pos, b.b_neg)
            q = 1 - np.abs(dy / bv) ** b.power
            hw = np.where(q >= 0, np.abs(q) ** (1 / b.power), -1.0)
            inside = (dx <= hw * b.a_pos) & (dx >= -hw * b.a_neg)
            self._write(box, inside, value, on)
            return
        ca, sa = np.cos(b.angle), np.sin(b.angle)
        u, v = dx * ca + dy * sa, -dx * sa + dy * ca
        au = np.where(u > 0, b.a_pos, b.a_neg)
        bv = np.where(v > 0, b.b_pos, b.b_neg)
        rho = np.abs(u / au) ** b.power + np.abs(v / bv) ** b.power
        if b.bulge:
            theta = np.arctan2(v, u)
            mod = 1 + sum(amp * np.cos(k * theta + ph) for k, amp, ph in b.bulge)
            rho = rho / mod**b.power
        self._write(box, rho <= 1.0, value, on)

    def tube(self, path: np.ndarray, radii: np.ndarray, value: int,
             on: Iterable[int] | None = None) -> None:
        """Paint the union of discs along polyline ``path`` (N, 2) with radii (N,) interpolated."""
        keep = radii > 0.05
        if not keep.any():
            return
        lo = (path - radii[:, None])[keep].min(0)
        hi = (path + radii[:, None])[keep].max(0)
        box = self._box(lo[0], hi[0], lo[1], hi[1])
        if box is None:
            return
        gx, gy = self.xs[None, box[1]], self.ys[box[0], None]
        inside = np.zeros((gy.size, gx.size), bool)
        for i in range(len(path) - 1):
            a, b, ra, rb = path[i], path[i + 1], radii[i], radii[i + 1]
            if max(ra, rb) <= 0.05:
                continue
            ab = b - a
            s = np.clip(((gx - a[0]) * ab[0] + (gy - a[1]) * ab[1]) / max(ab @ ab, 1e-9), 0, 1)
            d = np.hypot(gx - a[0] - s * ab[0], gy - a[1] - s * ab[1])
            inside |= d <= ra + s * (rb - ra)
        self._write(box, inside, value, on)

    def where(self, x0: float, x1: float, y0: float, y1: float, value: int,
              on: Iterable[int]) -> None:
        """Relabel an axis-aligned rectangle (mm), only over labels in ``on``."""
        box = self._box(x0, x1, y0, y1)
        if box is not None:
            self._write(box, np.ones(self.labels[box].shape, bool), value, on)
