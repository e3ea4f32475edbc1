"""Label maps on a finer grid -> HU per phase with partial volume, and correlated noise.

Organs are drawn ``SUPERSAMPLE`` times finer in-plane, looked up in the patient's HU table and
averaged down, so borders get partial-volume values as on a scanner. Noise is white Gaussian
noise smoothed in-plane (CT noise is spatially correlated) and rescaled so its standard
deviation in HU is exactly the one asked for. Nothing is clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ctbridge.phantom.anatomy import Anatomy
from ctbridge.phantom.draw import draw_slice

SUPERSAMPLE = 2
NOISE_SIGMA_MM = 0.5  # correlation length of the noise (Gaussian sigma), about 0.7 px at 512


@dataclass(frozen=True)
class Grid:
    """Voxel-centre coordinates (mm): ``xs`` per column, ``ys`` per row, ``zs`` per slice."""

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

    def fine(self) -> np.ndarray:
        """Sub-sample centres (mm) along x (= along y) of the supersampled grid."""
        s = SUPERSAMPLE
        offsets = ((np.arange(s) + 0.5) / s - 0.5) * self.px
        return (self.xs[:, None] + offsets[None]).ravel()

    def level(self, k: int) -> float:
        """Body level ``t`` of slice ``k``: slice 0 is the most inferior (t = 1), LPS z up."""
        return 1.0 - k / max(self.zs.size - 1, 1)

    def z_of_level(self, t: float) -> float:
        return (1.0 - t) * (self.zs.size - 1) * self.slice_mm


def downsample(fine: np.ndarray) -> np.ndarray:
    """Mean over SUPERSAMPLE x SUPERSAMPLE blocks of a fine 2D image (partial volume)."""
    s = SUPERSAMPLE
    h, w = fine.shape[0] // s, fine.shape[1] // s
    return fine.reshape(h, s, w, s).mean(axis=(1, 3), dtype=np.float32)


def render(p: Anatomy, grid: Grid, tables: dict[str, np.ndarray]
           ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Labels (uint8, the fine label nearest each voxel centre) and noise-free HU per phase.

    Works one slice at a time, so memory is the output volumes plus one fine slice.
    """
    fine_xy = grid.fine()
    n, size = grid.zs.size, grid.xs.size
    labels = np.zeros((n, size, size), np.uint8)
    volumes = {ph: np.empty((n, size, size), np.float32) for ph in tables}
    centre = SUPERSAMPLE // 2
    for k in range(n):
        fine = draw_slice(p, grid.level(k), fine_xy, fine_xy)
        labels[k] = fine[centre::SUPERSAMPLE, centre::SUPERSAMPLE]
        for ph, table in tables.items():
            volumes[ph][k] = downsample(table[fine])
    return labels, volumes


def _noise_gain(sigma_px: float) -> float:
    """Standard deviation of unit white noise after the Gaussian filter (exact, via the kernel)."""
    half = int(np.ceil(4 * sigma_px)) + 1
    impulse = np.zeros((2 * half + 1, 2 * half + 1), np.float64)
    impulse[half, half] = 1
    kernel = ndimage.gaussian_filter(impulse, sigma_px)
    return float(np.sqrt((kernel**2).sum()))


def add_correlated_noise(volume: np.ndarray, sigma_hu: float, px_mm: float,
                         rng: np.random.Generator) -> None:
    """Add in-plane correlated Gaussian noise of standard deviation ``sigma_hu``, in place."""
    if sigma_hu <= 0:
        return
    sigma_px = NOISE_SIGMA_MM / px_mm
    scale = np.float32(sigma_hu / _noise_gain(sigma_px))
    for k in range(volume.shape[0]):  # a slice at a time bounds the temporary memory
        white = rng.standard_normal(volume.shape[1:], dtype=np.float32)
        volume[k] += ndimage.gaussian_filter(white, sigma_px) * scale
