"""Render a `Patient` into label maps and HU volumes, one phase at a time.

Organs are drawn on a grid ``SUPERSAMPLE`` times finer in-plane, looked up in the HU table and
averaged down: borders get partial-volume values as in a real scan. Plaques (smaller than a
voxel) are integrated analytically-by-sampling over each voxel in 3D, so a 0.5 mm plaque in a
3 mm slice keeps only a fraction of its peak HU, as it would on a scanner. Noise is white
Gaussian noise smoothed in-plane (CT noise is spatially correlated) and rescaled to the asked
standard deviation in HU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ctbridge.phantom.patient import Ellipse, Patient
from ctbridge.phantom.tissues import LABELS, lookup_table

SUPERSAMPLE = 2
PLAQUE_SAMPLES = 5  # sub-samples per voxel axis when integrating plaques
NOISE_SIGMA_PX = 0.7  # in-plane correlation of the noise
L = LABELS


@dataclass
class Grid:
    """Coordinates (mm) of voxel centres: x per column, y per row, z per slice."""

    xs: np.ndarray
    ys: np.ndarray
    zs: np.ndarray
    px: float
    slice_mm: float

    @classmethod
    def make(cls, size: int, slices: int, slice_mm: float, fov_mm: float) -> Grid:
        px = fov_mm / size
        c = (np.arange(size) - (size - 1) / 2) * px
        return cls(c, c.copy(), np.arange(slices) * slice_mm, px, slice_mm)

    def fine(self) -> tuple[np.ndarray, np.ndarray]:
        s = SUPERSAMPLE
        offsets = (np.arange(s) + 0.5) / s * self.px - self.px / 2
        fx = (self.xs[:, None] + offsets[None]).ravel()
        fy = (self.ys[:, None] + offsets[None]).ravel()
        return fx, fy

    def level(self, k: int) -> float:
        """Body level t of slice k (slice 0 is the most inferior, t = 1)."""
        n = self.zs.size
        return 1.0 - k / max(n - 1, 1)

    def z_of_level(self, t: float) -> float:
        return (1.0 - t) * (self.zs.size - 1) * self.slice_mm


def _paint(labels: np.ndarray, xs: np.ndarray, ys: np.ndarray, e: Ellipse, value: int,
           *, scale_r: np.ndarray | None = None, where: np.ndarray | None = None) -> np.ndarray:
    """Set ``labels`` to ``value`` inside ellipse ``e`` (bounding box only, for speed)."""
    reach = max(e.a, e.b) * 1.2
    c0, c1 = np.searchsorted(xs, [e.x - reach, e.x + reach])
    r0, r1 = np.searchsorted(ys, [e.y - reach, e.y + reach])
    if c0 >= c1 or r0 >= r1:
        return np.zeros(0, bool)
    dx = xs[None, c0:c1] - e.x
    dy = ys[r0:r1, None] - e.y
    ca, sa = np.cos(e.angle), np.sin(e.angle)
    u, v = dx * ca + dy * sa, -dx * sa + dy * ca
    rho = (u / e.a) ** 2 + (v / e.b) ** 2
    if scale_r is not None:  # lobulated outline: radius modulated by angle
        theta = np.arctan2(v, u)
        mod = 1 + sum(c * np.cos((k + 2) * theta) for k, c in enumerate(scale_r))
        rho = rho / mod**2
    inside = rho <= 1.0
    view = labels[r0:r1, c0:c1]
    if where is not None:
        inside &= np.isin(view, where)
    view[inside] = value
    return inside


def _profile(t: float, start: float, end: float) -> float:
    """Organ size along z: 0 outside [start, end], a smooth dome inside."""
    if t <= start or t >= end:
        return 0.0
    u = (t - start) / (end - start)
    return float(np.sqrt(max(0.0, 1 - (2 * u - 1) ** 2)))


def _tube(labels: np.ndarray, xs: np.ndarray, ys: np.ndarray, path: np.ndarray, radius: float,
          value: int, where: np.ndarray) -> None:
    """A tube of ``radius`` mm along a polyline ``path`` (N, 2) -- the pancreas."""
    lo, hi = path.min(0) - radius, path.max(0) + radius
    c0, c1 = np.searchsorted(xs, [lo[0], hi[0]])
    r0, r1 = np.searchsorted(ys, [lo[1], hi[1]])
    gx, gy = np.meshgrid(xs[c0:c1], ys[r0:r1])
    d = np.full(gx.shape, np.inf)
    for a, b in zip(path[:-1], path[1:], strict=True):
        ab = b - a
        s = np.clip(((gx - a[0]) * ab[0] + (gy - a[1]) * ab[1]) / (ab @ ab), 0, 1)
        d = np.minimum(d, np.hypot(gx - a[0] - s * ab[0], gy - a[1] - s * ab[1]))
    view = labels[r0:r1, c0:c1]
    view[(d <= radius) & np.isin(view, where)] = value


def slice_labels(p: Patient, t: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Organ labels of one axial slice at level ``t`` on the grid ``xs`` x ``ys`` (mm)."""
    lab = np.zeros((ys.size, xs.size), np.uint8)
    visceral = np.array([L["fat"]], np.uint8)
    a, b = p.body_a * (1 + 0.04 * t), p.body_b * (1 - 0.05 * t)
    _paint(lab, xs, ys, Ellipse(0, 0, a, b), L["fat"])
    ai, bi = a - p.fat, b - p.fat
    _paint(lab, xs, ys, Ellipse(0, 0, ai, bi), L["muscle"])
    ai, bi = ai - p.wall, bi - p.wall
    _paint(lab, xs, ys, Ellipse(0, 0, ai, bi), L["fat"])

    # paraspinal muscles and, lower down, the psoas
    for side in (-1, 1):
        _paint(lab, xs, ys, Ellipse(side * 27, p.spine_y + p.vertebra_r + 12, 20, 17),
               L["muscle"])
        if t > 0.35:
            g = min(1.0, (t - 0.35) / 0.4)
            _paint(lab, xs, ys, Ellipse(side * (p.vertebra_r + 10 + 8 * g), p.spine_y - 2,
                                        7 + 11 * g, 8 + 9 * g), L["muscle"], where=visceral)

    # bowel: loops in the anterior abdomen, more of them lower down
    for i, (loop, gas) in enumerate(zip(p.bowel, p.bowel_gas, strict=True)):
        if t < 0.15 + 0.05 * (i % 5):
            continue
        _paint(lab, xs, ys, loop, L["bowel"], where=visceral)
        inner = Ellipse(loop.x, loop.y, max(loop.a - 2.5, 1), max(loop.b - 2.5, 1), loop.angle)
        _paint(lab, xs, ys, inner, L["bowel_content"], where=np.array([L["bowel"]], np.uint8))
        if gas:
            pocket = Ellipse(loop.x, loop.y - 0.4 * inner.b, inner.a * 0.7, inner.b * 0.45,
                             loop.angle)
            _paint(lab, xs, ys, pocket, L["bowel_gas"],
                   where=np.array([L["bowel_content"]], np.uint8))

    organ_bed = np.array([L["fat"], L["bowel"], L["bowel_content"], L["bowel_gas"]], np.uint8)
    s_liver = _profile(t, -0.35, p.liver_end_t) * p.liver_scale
    if s_liver > 0.05:
        _paint(lab, xs, ys, Ellipse(-0.38 * ai, -0.1 * bi, 0.62 * ai * s_liver,
                                    0.75 * bi * s_liver, 0.2),
               L["liver"], scale_r=np.array(p.lobulation), where=organ_bed)
    s_spleen = _profile(t, -0.2, 0.32) * p.spleen_scale
    if s_spleen > 0.05:
        _paint(lab, xs, ys, Ellipse(0.6 * ai, 0.3 * bi, 38 * s_spleen, 24 * s_spleen, -0.9),
               L["spleen"], where=organ_bed)

    s_kid = _profile(t, p.kidney_top_t, p.kidney_top_t + p.kidney_len_t) * p.kidney_scale
    if s_kid > 0.1:
        for side, cortex, medulla in ((1, "kidney_left_cortex", "kidney_left_medulla"),
                                      (-1, "kidney_right_cortex", "kidney_right_medulla")):
            kx, ky = side * (p.vertebra_r + 42), p.spine_y - 4
            e = Ellipse(kx, ky, 24 * s_kid, 33 * s_kid, side * 0.5)
            _paint(lab, xs, ys, e, L[cortex], where=organ_bed)
            _paint(lab, xs, ys, Ellipse(kx, ky, e.a * 0.62, e.b * 0.7, e.angle), L[medulla],
                   where=np.array([L[cortex]], np.uint8))
            if s_kid > 0.6:
                _paint(lab, xs, ys, Ellipse(kx - side * 0.35 * e.a, ky, 6 * s_kid, 9 * s_kid,
                                            e.angle), L["renal_pelvis"],
                       where=np.array([L[medulla], L[cortex]], np.uint8))

    ax_t = min(t, p.bifurcation_t)
    axc, ayc = p.aorta_centre(ax_t)
    s_pan = _profile(t, p.pancreas_t - 0.09, p.pancreas_t + 0.09)
    if s_pan > 0.1:
        u = np.linspace(0, 1, 9)[:, None]
        head, mid, tail = (np.array([p.ivc_x - 8, ayc - 30]), np.array([axc, ayc - 38]),
                           np.array([0.55 * ai, 0.12 * bi]))
        path = (1 - u) ** 2 * head + 2 * u * (1 - u) * mid + u**2 * tail
        _tube(lab, xs, ys, path, p.pancreas_r * s_pan, L["pancreas"], organ_bed)

    # spine: vertebral body (cortical shell, cancellous core) and spinous process
    vb = Ellipse(0, p.spine_y, p.vertebra_r * 1.15, p.vertebra_r)
    _paint(lab, xs, ys, vb, L["bone_cortical"])
    _paint(lab, xs, ys, Ellipse(vb.x, vb.y, vb.a - 2.2, vb.b - 2.2), L["bone_cancellous"])
    _paint(lab, xs, ys, Ellipse(0, p.spine_y + p.vertebra_r + 20, 4.5, 13), L["bone_cortical"])

    # vessels last: they run through everything
    vessel_bed = np.array([v for k, v in L.items() if k not in ("bone_cortical",
                                                                "bone_cancellous")], np.uint8)
    if t <= p.bifurcation_t + 0.1:
        _paint(lab, xs, ys, Ellipse(p.ivc_x, ayc - 1, 13, 9), L["ivc"], where=vessel_bed)
    lumens = []
    if t <= p.bifurcation_t:
        lumens.append((axc, ayc, p.aorta_radius(t), "aorta"))
    else:
        for name in ("iliac_left", "iliac_right"):
            lumens.append((*p.vessel_at(name, t), "iliac"))
    for x, y, r, name in lumens:
        _paint(lab, xs, ys, Ellipse(x, y, r + 1.6, r + 1.6), L["vessel_wall"], where=vessel_bed)
        _paint(lab, xs, ys, Ellipse(x, y, r, r), L[name])
    return lab


@dataclass
class PlaqueVoxels:
    """Coverage of one plaque over the voxels of its bounding box."""

    index: int
    box: tuple[slice, slice, slice]
    fraction: np.ndarray  # (z, y, x) in [0, 1]
    peak_hu: float
    centre_mm: tuple[float, float, float]  # (x, y, z)


def plaque_coverage(p: Patient, grid: Grid) -> list[PlaqueVoxels]:
    """Fraction of each voxel covered by each plaque (ellipsoids), by 3D sub-sampling."""
    out = []
    sub = (np.arange(PLAQUE_SAMPLES) + 0.5) / PLAQUE_SAMPLES - 0.5
    for i, pl in enumerate(p.plaques):
        vx, vy, r = p.vessel_at(pl.vessel, pl.t)
        dist = r + pl.offset
        cx, cy = vx + dist * np.cos(pl.angle), vy + dist * np.sin(pl.angle)
        cz = grid.z_of_level(pl.t)
        rx = ry = pl.diameter / 2
        rz = pl.length / 2
        lo = [np.searchsorted(g, c - rr - step) for g, c, rr, step in
              ((grid.zs, cz, rz, grid.slice_mm), (grid.ys, cy, ry, grid.px),
               (grid.xs, cx, rx, grid.px))]
        hi = [np.searchsorted(g, c + rr + step) for g, c, rr, step in
              ((grid.zs, cz, rz, grid.slice_mm), (grid.ys, cy, ry, grid.px),
               (grid.xs, cx, rx, grid.px))]
        zs, ys, xs = grid.zs[lo[0]:hi[0]], grid.ys[lo[1]:hi[1]], grid.xs[lo[2]:hi[2]]
        if zs.size == 0 or ys.size == 0 or xs.size == 0:
            continue
        pz = (zs[:, None] + sub[None] * grid.slice_mm).ravel()
        py = (ys[:, None] + sub[None] * grid.px).ravel()
        pxs = (xs[:, None] + sub[None] * grid.px).ravel()
        inside = (((pz[:, None, None] - cz) / rz) ** 2 + ((py[None, :, None] - cy) / ry) ** 2
                  + ((pxs[None, None, :] - cx) / rx) ** 2) <= 1.0
        n = PLAQUE_SAMPLES
        frac = inside.reshape(zs.size, n, ys.size, n, xs.size, n).mean(axis=(1, 3, 5))
        if frac.max() <= 0:
            continue
        box = (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))
        out.append(PlaqueVoxels(i, box, frac.astype(np.float32), pl.peak_hu,
                                (float(cx), float(cy), float(cz))))
    return out


def correlated_noise(shape: tuple[int, ...], sigma_hu: float, rng: np.random.Generator
                     ) -> np.ndarray:
    """Gaussian noise smoothed in-plane, rescaled to standard deviation ``sigma_hu``."""
    if sigma_hu <= 0:
        return np.zeros(shape, np.float32)
    white = rng.standard_normal(shape, dtype=np.float32)
    smooth = ndimage.gaussian_filter(white, sigma=(0, NOISE_SIGMA_PX, NOISE_SIGMA_PX))
    # the filter's gain on unit white noise is exact: sum of squared kernel weights
    impulse = np.zeros((1, 15, 15), np.float32)
    impulse[0, 7, 7] = 1
    gain = float(np.sqrt((ndimage.gaussian_filter(
        impulse, sigma=(0, NOISE_SIGMA_PX, NOISE_SIGMA_PX)) ** 2).sum()))
    return smooth * (sigma_hu / gain)


def downsample(fine: np.ndarray) -> np.ndarray:
    """Mean over SUPERSAMPLE x SUPERSAMPLE blocks of a fine 2D image."""
    s = SUPERSAMPLE
    h, w = fine.shape[0] // s, fine.shape[1] // s
    return fine.reshape(h, s, w, s).mean(axis=(1, 3))


def render_fine_slices(p: Patient, grid: Grid, phases: tuple[str, ...]
                       ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Labels (nearest to each voxel centre) and noise-free partial-volume HU per phase."""
    fx, fy = grid.fine()
    n, size = grid.zs.size, grid.xs.size
    labels = np.zeros((n, size, size), np.uint8)
    volumes = {ph: np.zeros((n, size, size), np.float32) for ph in phases}
    tables = {ph: np.asarray(lookup_table(ph), np.float32) for ph in phases}
    c = SUPERSAMPLE // 2
    for k in range(n):
        fine = slice_labels(p, grid.level(k), fx, fy)
        labels[k] = fine[c::SUPERSAMPLE, c::SUPERSAMPLE]
        for ph in phases:
            volumes[ph][k] = downsample(tables[ph][fine])
    return labels, volumes
