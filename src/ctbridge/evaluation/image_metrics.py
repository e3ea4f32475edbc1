"""Image similarity of a translated volume to the true other phase, inside a mask, in HU.

Conventions follow the SynthRAD challenge so numbers are comparable with published synthesis
work: HU are clipped to ``[-1024, 3000]`` before PSNR and SSIM, and the data range is
``3000 - (-1024) = 4024``. MAE is taken on unclipped HU (a plaque at 1500 HU counts fully).

MONAI's metric classes (``PSNRMetric``, ``SSIMMetric``) average over the whole image and have no
mask, so MAE and PSNR are plain numpy here; SSIM uses MONAI's
:func:`monai.metrics.regression.compute_ssim_and_cs` for the per-pixel SSIM map and averages the
map inside the mask.

Example:
    >>> import numpy as np
    >>> truth = np.zeros((2, 16, 16), np.float32)
    >>> mask = np.ones_like(truth, bool)
    >>> round(mae_hu(truth + 10, truth, mask), 3), round(psnr_hu(truth + 10, truth, mask), 2)
    (10.0, 52.09)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

HU_RANGE: tuple[float, float] = (-1024.0, 3000.0)
DATA_RANGE: float = HU_RANGE[1] - HU_RANGE[0]  # 4024, SynthRAD's
SSIM_KERNEL: int = 11  # Gaussian window of Wang et al. 2004 (MONAI's SSIMMetric default)
SSIM_SIGMA: float = 1.5


def _check(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Validate shapes and return the mask as bool; an empty mask has no defined metric."""
    if pred.shape != truth.shape or mask.shape != truth.shape:
        raise ValueError(f"shapes differ: pred {pred.shape}, truth {truth.shape}, "
                         f"mask {mask.shape}")
    return np.asarray(mask, dtype=bool)


def clip_hu(volume: np.ndarray) -> np.ndarray:
    """HU clipped to SynthRAD's ``[-1024, 3000]`` as float64 (so sums of squares are exact)."""
    return np.clip(np.asarray(volume, dtype=np.float64), *HU_RANGE)


def mae_hu(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error in HU over the voxels of ``mask`` (NaN when the mask is empty)."""
    m = _check(pred, truth, mask)
    if not m.any():
        return math.nan
    diff = np.asarray(pred)[m].astype(np.float64) - np.asarray(truth)[m]
    return float(np.abs(diff).mean())


def psnr_hu(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray,
            data_range: float = DATA_RANGE) -> float:
    """PSNR in dB over ``mask``: ``10 log10(data_range^2 / MSE)`` on clipped HU.

    Returns ``math.inf`` when the volumes agree exactly inside the mask (MSE 0); it is not
    capped, so a perfect translation is visible as such. The report writes it as JSON ``null``
    and leaves it out of means (see :mod:`ctbridge.evaluation.scan_scores`). NaN for an empty mask.
    """
    m = _check(pred, truth, mask)
    if not m.any():
        return math.nan
    mse = float(np.mean((clip_hu(np.asarray(pred)[m]) - clip_hu(np.asarray(truth)[m])) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / mse)


def ssim_map(pred: np.ndarray, truth: np.ndarray, kernel_size: int = SSIM_KERNEL,
             kernel_sigma: float = SSIM_SIGMA, data_range: float = DATA_RANGE) -> np.ndarray:
    """Per-pixel SSIM of each axial slice, shape ``(z, y - k + 1, x - k + 1)`` ('valid' map).

    HU are clipped to ``[-1024, 3000]`` and shifted to ``[0, 4024]`` (SynthRAD: SSIM's luminance
    term assumes non-negative intensities). Slices are 2D because slice thickness (often 3 mm)
    differs from the in-plane spacing (< 1 mm); a 3D window would mix the two scales.
    """
    import torch
    from monai.metrics.regression import compute_ssim_and_cs

    shift = -HU_RANGE[0]
    x = torch.from_numpy((clip_hu(pred) + shift).astype(np.float32))[:, None]  # (z, 1, y, x)
    y = torch.from_numpy((clip_hu(truth) + shift).astype(np.float32))[:, None]
    with torch.no_grad():
        ssim, _ = compute_ssim_and_cs(x, y, spatial_dims=2, kernel_size=[kernel_size] * 2,
                                      kernel_sigma=[kernel_sigma] * 2, data_range=data_range)
    return ssim[:, 0].numpy()  # float32; means are taken in float64


def mean_in_mask(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of a 'valid' SSIM map over the voxels of ``mask`` (the image-sized mask).

    The map pixel ``[i, j]`` is centred on image pixel ``[i + h, j + h]`` with ``h`` half the
    window, so the mask is cropped by ``h`` on each side; mask voxels within ``h`` of the slice
    border have no SSIM and are left out. NaN when no mask voxel has a full window.
    """
    h = (mask.shape[1] - values.shape[1]) // 2
    if values.shape[1] <= 0 or values.shape[2] <= 0:
        return math.nan
    cropped = mask[:, h:mask.shape[1] - h, h:mask.shape[2] - h]
    if not cropped.any():
        return math.nan
    return float(values[cropped].mean(dtype=np.float64))


def ssim_masked(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray,
                kernel_size: int = SSIM_KERNEL, kernel_sigma: float = SSIM_SIGMA,
                data_range: float = DATA_RANGE) -> float:
    """Mean SSIM over the mask voxels of all axial slices (each voxel weighs the same).

    The per-slice SSIM map is 'valid' (no padding) and averaged inside the mask cropped to
    it (:func:`mean_in_mask`). Voxels outside the mask still enter the windows of voxels inside
    it, unchanged (the image is not masked). NaN when no mask voxel has a full window.
    """
    m = _check(pred, truth, mask)
    if kernel_size % 2 != 1:
        raise ValueError(f"kernel_size must be odd, got {kernel_size}")
    if min(m.shape[1:]) < kernel_size or not m.any():
        return math.nan
    zs = np.flatnonzero(m.any(axis=(1, 2)))  # only slices that hold mask voxels
    z = slice(int(zs[0]), int(zs[-1]) + 1)
    values = ssim_map(pred[z], truth[z], kernel_size, kernel_sigma, data_range)
    return mean_in_mask(values, m[z])


def image_metrics(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray,
                  ssim_values: np.ndarray | None = None) -> dict[str, float]:
    """MAE (HU), PSNR (dB) and SSIM inside ``mask``, plus the voxel count they cover.

    Args:
        ssim_values: the whole volume's :func:`ssim_map`, when already computed (it is the
            costly part: several regions of one scan share it).
    """
    m = _check(pred, truth, mask)
    ssim = (ssim_masked(pred, truth, m) if ssim_values is None
            else mean_in_mask(ssim_values, m))
    return {
        "mae_hu": mae_hu(pred, truth, m),
        "psnr_db": psnr_hu(pred, truth, m),
        "ssim": ssim,
        "voxels": int(m.sum()),
    }


def region_metrics(pred: np.ndarray, truth: np.ndarray, labels: np.ndarray,
                   regions: Mapping[str, Sequence[int]], body: np.ndarray | None = None,
                   ) -> dict[str, dict[str, float]]:
    """:func:`image_metrics` in the body mask and in each named label set.

    Args:
        pred: translated volume, HU, ``(z, y, x)``.
        truth: true volume of the target phase, HU, ``(z, y, x)``.
        labels: organ label map, ``(z, y, x)`` int.
        regions: name -> label ids, e.g. ``{"vessels": [aorta, iliac], "pancreas": [pancreas]}``.
            A region whose ids are absent from ``labels`` gets NaN metrics and 0 voxels.
        body: body mask; when given it is reported as ``"body"``.

    Returns:
        ``{"body": {...}, "vessels": {...}, ...}``, each as :func:`image_metrics`.
    """
    values = ssim_map(pred, truth) if min(truth.shape[1:]) >= SSIM_KERNEL else None
    out: dict[str, dict[str, float]] = {}
    if body is not None:
        out["body"] = image_metrics(pred, truth, body, values)
    for name, ids in regions.items():
        out[name] = image_metrics(pred, truth, np.isin(labels, list(ids)), values)
    return out
