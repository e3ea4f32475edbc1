"""Unpaired same-location patch sampling (docs/method.md, Data).

For each sample: one scan per domain (domains hold different patients), a slice at the same
relative body level in each, one shared (row, col), and a patch cut from every domain there. The
translator then sees the same anatomy region in both phases without ever seeing a paired image.

Sampling is a pure function of ``(seed, step, rank)``: resuming at step ``s`` draws exactly the
batches an uninterrupted run would, and each DDP rank draws its own shard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from ctbridge.data.body_mask import body_mask
from ctbridge.data.intensity import IntensityScaler
from ctbridge.data.phase_contrast import distinctive_masks
from ctbridge.data.scan_summary import summarise
from ctbridge.errors import DataError
from ctbridge.io import read_scan

BRIGHT_HU = 130.0  # calcium scoring threshold


@dataclass
class TrainingVolume:
    """One scan ready for sampling: model-range voxels and the masks used to weight locations."""

    name: str
    values: np.ndarray  # (z, y, x) float32, model range
    body: np.ndarray  # (z, y, x) bool
    bright: np.ndarray  # (z, y, x) bool: small structures >= 130 HU (plaques, small vessels)
    # spacing, body area, body HU quantiles, region (ctbridge.data.scan_summary), for the
    # checkpoint's record of the training range; None when made without a scan's header
    summary: dict[str, Any] | None = None
    body_z: tuple[int, int] = field(init=False)  # first and last slice holding body

    def __post_init__(self) -> None:
        zs = np.flatnonzero(self.body.any(axis=(1, 2)))
        self.body_z = (int(zs[0]), int(zs[-1])) if zs.size else (0, self.values.shape[0] - 1)

    def slice_at(self, level: float) -> int:
        """Slice index at relative body level ``level`` in [0, 1]."""
        lo, hi = self.body_z
        return int(round(lo + level * (hi - lo)))


def small_bright_mask(volume_hu: np.ndarray, threshold_hu: float = BRIGHT_HU,
                      max_size_px: int = 5) -> np.ndarray:
    """Voxels >= ``threshold_hu`` in structures thinner than ``max_size_px`` (in-plane).

    A binary opening removes what is wider (bone, large contrast-filled vessels) and keeps what
    the translation is most likely to lose: plaques and thin bright edges.
    """
    bright = volume_hu >= threshold_hu
    structure = np.zeros((1, max_size_px, max_size_px), bool)
    structure[0] = True
    return bright & ~ndimage.binary_opening(bright, structure=structure)


def load_training_volume(path: Path, scaler: IntensityScaler) -> TrainingVolume:
    scan = read_scan(path)
    body = body_mask(scan.array)
    return TrainingVolume(
        name=str(path),
        values=scaler.to_model(scan.array).astype(np.float32),
        body=body,
        bright=small_bright_mask(scan.array),
        summary=summarise(scan.array, scan.spacing, body,
                          str(scan.metadata.get("body_part_examined", ""))),
    )


class UnpairedPatchSampler:
    """Draws batches ``{domain: (B, 1, P, P)}`` of same-location patches from unpaired scans.

    Args:
        volumes: domain -> its training volumes (different patients per domain).
        patch_size: side of the square patch; ``None`` samples whole slices (baselines), cropped
            to the largest multiple of ``multiple_of`` that fits.
        batch_size: samples per domain per batch.
        body_fraction: probability that a patch centre lies inside the body of every domain.
        bright_fraction: probability that a patch centre lies on a small bright structure of one
            domain (0 disables); this is the optional weighting toward plaques.
        contrast_fraction: probability that a patch centre lies on a voxel distinctive of its
            domain (:mod:`ctbridge.data.phase_contrast`: where the phases differ).
        contrast_edges: histogram bin edges, in model range, for ``contrast_fraction``.
        seed, rank: see the module docstring.
        multiple_of: whole-slice crops are divisible by this (the networks' downsampling).

    Example:
        >>> sampler = UnpairedPatchSampler({"nc": nc_vols, "ce": ce_vols})  # doctest: +SKIP
        >>> batch = sampler.batch(step=0)  # doctest: +SKIP
        >>> # {"nc": (16, 1, 32, 32), "ce": (16, 1, 32, 32)}
    """

    def __init__(
        self,
        volumes: Mapping[str, Sequence[TrainingVolume]],
        *,
        patch_size: int | None = 32,
        batch_size: int = 16,
        body_fraction: float = 0.9,
        bright_fraction: float = 0.0,
        contrast_fraction: float = 0.0,
        contrast_edges: Sequence[float] | None = None,
        seed: int = 0,
        rank: int = 0,
        multiple_of: int = 4,
    ) -> None:
        if not volumes:
            raise DataError("no domains given to the patch sampler")
        for domain, vols in volumes.items():
            if not vols:
                raise DataError(f"domain {domain!r} has no training scans")
            for v in vols:
                if patch_size is not None and min(v.values.shape[1:]) < patch_size:
                    raise DataError(f"{v.name}: slices {v.values.shape[1:]} smaller than the "
                                    f"{patch_size}x{patch_size} patch")
        self.volumes = {d: list(v) for d, v in volumes.items()}
        self.domains = list(volumes)
        self.patch_size = patch_size
        self.batch_size = batch_size
        self.body_fraction = body_fraction
        self.bright_fraction = bright_fraction
        self.contrast_fraction = contrast_fraction
        self.distinctive: dict[str, list[np.ndarray]] = {}
        if contrast_fraction > 0:
            if contrast_edges is None or len(self.domains) < 2:
                raise DataError("contrast_fraction needs histogram edges and two domains")
            self.distinctive = distinctive_masks(
                {d: [v.values for v in vols] for d, vols in self.volumes.items()},
                {d: [v.body for v in vols] for d, vols in self.volumes.items()},
                np.asarray(contrast_edges))
        self.seed = seed
        self.rank = rank
        self.multiple_of = multiple_of

    def batch(self, step: int, stream: int = 0) -> dict[str, torch.Tensor]:
        """The batch of training step ``step`` (same step -> same batch); ``stream`` > 0 gives
        independent sequences for other uses (e.g. the discriminator warm-up)."""
        key = [self.seed, self.rank, step] + ([stream] if stream else [])
        rng = np.random.default_rng(key)
        samples = [self._sample(rng) for _ in range(self.batch_size)]
        return {k: torch.from_numpy(np.stack([s[k] for s in samples])[:, None])
                for k in samples[0]}  # the domains (a subclass may cut more per sample)

    def _sample(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        index = {d: int(rng.integers(len(vols))) for d, vols in self.volumes.items()}
        chosen = {d: self.volumes[d][i] for d, i in index.items()}
        level = rng.random()
        slices = {d: v.slice_at(level) for d, v in chosen.items()}
        if self.patch_size is None:
            return {d: self._whole_slice(v.values[slices[d]]) for d, v in chosen.items()}
        centre = self._centre(rng, chosen, slices, index)
        return {d: self._cut(v.values[slices[d]], centre) for d, v in chosen.items()}

    def _centre(self, rng: np.random.Generator, chosen: Mapping[str, TrainingVolume],
                slices: Mapping[str, int], index: Mapping[str, int]) -> tuple[float, float]:
        """Patch centre as a fraction of the slice size, shared by all domains."""
        ref_domain = self.domains[rng.integers(len(self.domains))]
        ref = chosen[ref_domain]
        ny, nx = ref.values.shape[1:]
        u = rng.random()
        candidates = np.empty(0, dtype=np.int64)
        if u < self.bright_fraction:
            candidates = np.flatnonzero(ref.bright[slices[ref_domain]])
        elif u < self.bright_fraction + self.contrast_fraction:
            # the reference domain's distinctive voxels, or the next domain's if it has none here
            order = self.domains[self.domains.index(ref_domain):] + \
                self.domains[:self.domains.index(ref_domain)]
            for d in order:
                mask = self.distinctive[d][index[d]][slices[d]]
                if mask.any():
                    ny, nx = mask.shape
                    candidates = np.flatnonzero(mask)
                    break
        elif u < self.bright_fraction + self.contrast_fraction + self.body_fraction:
            inside = np.ones((ny, nx), bool)
            for d, v in chosen.items():
                if v.values.shape[1:] == (ny, nx):
                    inside &= v.body[slices[d]]
            candidates = np.flatnonzero(inside)
            if candidates.size == 0:
                candidates = np.flatnonzero(ref.body[slices[ref_domain]])
        if candidates.size:
            row, col = divmod(int(candidates[rng.integers(candidates.size)]), nx)
        else:
            row, col = int(rng.integers(ny)), int(rng.integers(nx))
        return (row + 0.5) / ny, (col + 0.5) / nx

    def _cut(self, image: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
        p = self.patch_size
        assert p is not None
        ny, nx = image.shape
        top = int(np.clip(round(centre[0] * ny) - p // 2, 0, ny - p))
        left = int(np.clip(round(centre[1] * nx) - p // 2, 0, nx - p))
        return image[top:top + p, left:left + p]

    def _whole_slice(self, image: np.ndarray) -> np.ndarray:
        m = self.multiple_of
        ny, nx = (image.shape[0] // m) * m, (image.shape[1] // m) * m
        top, left = (image.shape[0] - ny) // 2, (image.shape[1] - nx) // 2
        return image[top:top + ny, left:left + nx]
