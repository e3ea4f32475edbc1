"""Synthetic image-translation artefacts, applied to one CT slice in HU.

Each generator is ``fn(slice_hu, strength, rng, *, body=None) -> slice_hu``: a new float32
``(y, x)`` array, the input untouched, the same output for the same ``rng`` state, and the
input unchanged (an exact copy) at ``strength == 0``. ``body`` is the slice's body mask
(computed from HU when omitted); every change stays inside it, because the QC network judges
the patient, not the air around them.

Why these seven: they are what translators are known to do to CT -- transposed
convolutions paint checkerboards, tiled inference leaves seams and per-tile offsets, L1/L2
losses blur fine detail, generators erase small bright plaques or invent them, drift the mean
HU of a region, and replace CT noise with a texture of another grain.

Example:
    >>> import numpy as np
    >>> hu = np.full((64, 64), 40.0, np.float32)
    >>> out = checkerboard(hu, 1.0, np.random.default_rng(0), body=np.ones((64, 64), bool))
    >>> float(np.abs(out - hu).max())
    40.0
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from ctbridge.data.body_mask import body_mask

ArtefactFn = Callable[..., np.ndarray]

CHECKER_MAX_HU = 40.0  # checkerboard amplitude at strength 1
SEAM_MAX_HU = 50.0  # seam-line offset at strength 1 (tile offsets are up to half of it)
BLUR_MAX_SIGMA = 2.0  # Gaussian sigma (px) at strength 1
BRIGHT_HU = 130.0  # calcium threshold (Agatston)
BRIGHT_CONTRAST_HU = 100.0  # a small bright structure stands this far above its surroundings
BRIGHT_MAX_AREA = 16  # px: larger bright components (bone, contrast lumen) are not erased
SPOT_HU = (200.0, 800.0)  # peak HU of hallucinated spots (upper end grows with strength)
SPOT_DIAMETER_PX = (1.0, 4.0)
SPOT_MAX = 5  # spots added at strength 1
DRIFT_MAX_HU = 100.0  # peak drift at strength 1 (times U(0.6, 1))
NOISE_MIN_HU = 5.0  # floor of the estimated noise level for the texture artefact


def _check(slice_hu: np.ndarray, strength: float, body: np.ndarray | None
           ) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(slice_hu, np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected one (y, x) slice, got shape {x.shape}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    mask = body_mask(x) if body is None else np.asarray(body, bool)
    if mask.shape != x.shape:
        raise ValueError(f"body mask shape {mask.shape} differs from the slice's {x.shape}")
    return x, mask


def _inside(x: np.ndarray, delta: np.ndarray, body: np.ndarray) -> np.ndarray:
    """``x + delta`` inside the body, ``x`` outside; float32."""
    return np.where(body, x + delta, x).astype(np.float32)


def checkerboard(slice_hu: np.ndarray, strength: float, rng: np.random.Generator, *,
                 body: np.ndarray | None = None) -> np.ndarray:
    """Add ``cos(2 pi x / p) cos(2 pi y / p)`` of period p in {2, 3, 4} px.

    Amount: the largest change is exactly ``CHECKER_MAX_HU * strength`` (40 HU at 1); at
    period 2 every body pixel changes by that much (the transposed-convolution pattern).
    """
    x, mask = _check(slice_hu, strength, body)
    period = int(rng.integers(2, 5))
    shift_y, shift_x = (int(v) for v in rng.integers(0, period, size=2))
    sign = float(rng.choice([-1.0, 1.0]))
    if strength == 0:
        return x.copy()
    yy, xx = np.indices(x.shape)
    pattern = (np.cos(2 * np.pi * (yy + shift_y) / period)
               * np.cos(2 * np.pi * (xx + shift_x) / period))
    return _inside(x, sign * CHECKER_MAX_HU * strength * pattern, mask)


def tile_seams(slice_hu: np.ndarray, strength: float, rng: np.random.Generator, *,
               body: np.ndarray | None = None) -> np.ndarray:
    """Tiled inference without blending: a constant offset per tile and 1-px lines at borders.

    Tiles are 32 or 64 px (at most half the slice), on a grid with a random origin. Amount:
    tile offsets are uniform in ``+-SEAM_MAX_HU * strength / 2``, border lines add
    ``+-SEAM_MAX_HU * strength``, so every change is at most 1.5x that (75 HU at 1) and every
    border pixel in the body changes by at least half of it.
    """
    x, mask = _check(slice_hu, strength, body)
    sizes = [t for t in (32, 64) if 2 * t <= min(x.shape)] or [max(4, min(x.shape) // 2)]
    tile = int(rng.choice(sizes))
    oy, ox = (int(v) for v in rng.integers(0, tile, size=2))
    amp = SEAM_MAX_HU * strength
    ny, nx = (x.shape[0] + oy) // tile + 1, (x.shape[1] + ox) // tile + 1
    offsets = rng.uniform(-amp / 2, amp / 2, size=(ny, nx))
    row_sign = rng.choice([-1.0, 1.0], size=ny)
    col_sign = rng.choice([-1.0, 1.0], size=nx)
    if strength == 0:
        return x.copy()
    ty, tx = (np.arange(x.shape[0]) + oy) // tile, (np.arange(x.shape[1]) + ox) // tile
    delta = offsets[ty[:, None], tx[None, :]]
    on_row = (np.arange(x.shape[0]) + oy) % tile == 0
    on_col = (np.arange(x.shape[1]) + ox) % tile == 0
    lines = np.zeros(x.shape, np.float64)
    lines[on_row, :] = amp * row_sign[ty[on_row]][:, None]
    lines[:, on_col] = amp * col_sign[tx[on_col]][None, :]
    return _inside(x, delta + lines, mask)


def blur(slice_hu: np.ndarray, strength: float, rng: np.random.Generator, *,
         body: np.ndarray | None = None) -> np.ndarray:
    """Gaussian blur of sigma ``BLUR_MAX_SIGMA * strength * U(0.75, 1)`` px inside the body.

    Amount: at strength 1 (sigma >= 1.5 px) white pixel noise drops to under a fifth and a
    1-px plaque's peak above background to under a tenth.
    """
    x, mask = _check(slice_hu, strength, body)
    sigma = BLUR_MAX_SIGMA * strength * float(rng.uniform(0.75, 1.0))
    if strength == 0:
        return x.copy()
    smooth = ndimage.gaussian_filter(x.astype(np.float64), sigma, mode="nearest")
    return np.where(mask, smooth, x).astype(np.float32)


def small_bright_structures(x: np.ndarray, body: np.ndarray) -> list[np.ndarray]:
    """Boolean masks of small bright structures: plaques, rib sections, contrast specks.

    A connected component of ``> BRIGHT_HU`` inside the body with at most ``BRIGHT_MAX_AREA``
    pixels whose peak exceeds the median of the 2-px ring around it by ``BRIGHT_CONTRAST_HU``
    (so speckle in bright kidney cortex does not count, nor anything joined to bone or lumen).
    """
    labels, n = ndimage.label((x > BRIGHT_HU) & body)
    found = []
    for i, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        area = int((labels[box] == i).sum())
        if area > BRIGHT_MAX_AREA:
            continue
        grown = tuple(slice(max(s.start - 3, 0), s.stop + 3) for s in box)
        comp = labels[grown] == i
        ring = ndimage.binary_dilation(comp, iterations=2) & ~comp
        if not ring.any():
            continue
        if x[grown][comp].max() - np.median(x[grown][ring]) < BRIGHT_CONTRAST_HU:
            continue
        full = np.zeros(x.shape, bool)
        full[grown] = comp
        found.append(full)
    return found


def erase_bright_spots(slice_hu: np.ndarray, strength: float, rng: np.random.Generator, *,
                       body: np.ndarray | None = None) -> np.ndarray:
    """Replace a fraction ``strength`` of the small bright structures by their surroundings.

    The structure (grown by 1 px) becomes the median of the 2-px ring around it: a small
    noise-free patch, as a generator's in-painting leaves. (Filled with noise of the ring's
    level instead, the erasure was measured invisible to the QC network -- AUC 0.49 with the
    cpu-small preset: a missing plaque is normal anatomy. Plaque recall against ground truth,
    not QC, is the test for that.) At least one structure is erased when ``strength > 0``; a
    slice without any (see :func:`small_bright_structures`) is returned unchanged. Amount: at
    strength 1 none is left.
    """
    x, mask = _check(slice_hu, strength, body)
    found = small_bright_structures(x, mask)
    order = rng.permutation(len(found))
    if strength == 0 or not found:
        return x.copy()
    n = max(1, int(np.ceil(strength * len(found))))
    out = x.copy()
    for idx in order[:n]:
        grown = ndimage.binary_dilation(found[idx], iterations=1) & mask
        ring = ndimage.binary_dilation(grown, iterations=2) & ~grown & mask
        out[grown] = float(np.median(x[ring] if ring.any() else x[mask]))
    return out.astype(np.float32)


def hallucinated_spots(slice_hu: np.ndarray, strength: float, rng: np.random.Generator, *,
                       body: np.ndarray | None = None) -> np.ndarray:
    """Add ``max(1, round(SPOT_MAX * strength))`` bright blobs where there is soft tissue.

    Each blob has a full width at half maximum of 1-4 px (partial volume, as the phantom renders
    plaques) and a peak drawn in ``[200, 200 + 600 * strength]`` HU. Amount: the peak pixel of
    every blob reaches at least 200 HU.
    """
    x, mask = _check(slice_hu, strength, body)
    n = max(1, int(round(SPOT_MAX * strength)))
    lo, hi = SPOT_HU
    peaks = rng.uniform(lo, lo + (hi - lo) * strength, size=n)
    fwhm = rng.uniform(*SPOT_DIAMETER_PX, size=n)
    inner = ndimage.binary_erosion(mask, iterations=3)
    soft = inner & (x > -150.0) & (x < 150.0)
    candidates = np.argwhere(soft if soft.any() else (inner if inner.any() else mask))
    picks = candidates[rng.integers(0, len(candidates), size=n)] if len(candidates) else []
    if strength == 0 or len(candidates) == 0:
        return x.copy()
    out = x.astype(np.float64)
    yy, xx = np.indices(x.shape)
    for (cy, cx), peak, width in zip(picks, peaks, fwhm, strict=True):
        sigma = width / 2.3548
        g = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
        out = out + g * max(peak - out[cy, cx], 0.0)
    return np.where(mask, out, x).astype(np.float32)


def intensity_drift(slice_hu: np.ndarray, strength: float, rng: np.random.Generator, *,
                    body: np.ndarray | None = None) -> np.ndarray:
    """Add a smooth Gaussian bump of HU (one sign) centred on a body pixel.

    Its sigma is 15-35% of the slice's smaller side (an organ to a quadrant). Amount: the
    largest change is exactly ``DRIFT_MAX_HU * strength * U(0.6, 1)`` (60-100 HU at 1).
    """
    x, mask = _check(slice_hu, strength, body)
    amp = DRIFT_MAX_HU * strength * float(rng.uniform(0.6, 1.0)) * float(rng.choice([-1, 1]))
    sigma = float(rng.uniform(0.15, 0.35)) * min(x.shape)
    where = np.argwhere(mask) if mask.any() else np.argwhere(np.ones_like(mask))
    cy, cx = where[int(rng.integers(0, len(where)))]
    if strength == 0:
        return x.copy()
    yy, xx = np.indices(x.shape)
    bump = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
    return _inside(x, amp * bump, mask)


def noise_level(x: np.ndarray, body: np.ndarray) -> float:
    """Robust noise standard deviation (HU) inside the body from the 3x3 median residual."""
    resid = (x - ndimage.median_filter(x, size=3))[body]
    if resid.size == 0:
        return NOISE_MIN_HU
    # median-of-9 residual of white noise has ~0.84x the noise std (measured)
    return max(NOISE_MIN_HU, 1.4826 * float(np.median(np.abs(resid))) / 0.84)


def noise_texture(slice_hu: np.ndarray, strength: float, rng: np.random.Generator, *,
                  body: np.ndarray | None = None) -> np.ndarray:
    """Add noise of another grain: white noise blurred with sigma 1-3 px (blotchy GAN texture).

    Scaled to ``strength * U(1, 1.5)`` times the slice's own noise level (at least 5 HU).
    Amount: at strength 1 the standard deviation of the change inside the body is 1-1.5x the
    slice's noise level, and neighbouring pixels of the change correlate by more than 0.5.
    """
    x, mask = _check(slice_hu, strength, body)
    sigma = float(rng.uniform(1.0, 3.0))
    gain = float(rng.uniform(1.0, 1.5))
    white = rng.standard_normal(x.shape)
    if strength == 0:
        return x.copy()
    grain = ndimage.gaussian_filter(white, sigma, mode="wrap")
    grain /= grain.std() + 1e-12
    return _inside(x, strength * gain * noise_level(x, mask) * grain, mask)


ARTEFACTS: dict[str, ArtefactFn] = {
    "checkerboard": checkerboard,
    "tile_seams": tile_seams,
    "blur": blur,
    "erase_bright_spots": erase_bright_spots,
    "hallucinated_spots": hallucinated_spots,
    "intensity_drift": intensity_drift,
    "noise_texture": noise_texture,
}
KINDS: tuple[str, ...] = tuple(ARTEFACTS)


def apply_artefact(kind: str, slice_hu: np.ndarray, strength: float, rng: np.random.Generator,
                   *, body: np.ndarray | None = None) -> np.ndarray:
    """Apply the artefact ``kind`` (a name in :data:`KINDS`)."""
    if kind not in ARTEFACTS:
        raise ValueError(f"unknown artefact kind {kind!r} (known: {', '.join(KINDS)})")
    return ARTEFACTS[kind](slice_hu, strength, rng, body=body)
