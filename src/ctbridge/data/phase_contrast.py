"""Where do the domains differ? Voxels whose intensity is much more common in their own domain.

A translator between contrast phases learns the phase change only from patches that show it:
the aorta, kidneys, spleen, pancreas. Most of a slice (fat, muscle, bone, bowel) looks the same
in every phase, so patches drawn uniformly inside the body give the discriminators little to
learn from (a PatchGAN told real non-contrast from real arterial patches only 69 % of the time
after 600 steps). Labels are not available for real unpaired data, but the intensity histograms
of the domains are: enhancing tissue moves from ~30-50 HU (non-contrast) to ~100-400 HU
(arterial), so each domain has intensity bins that the other hardly has.

For every domain ``d`` and bin ``b`` of the body's HU histogram (pooled over the domain's
training scans), the ratio ``p_d(b) / max_{e != d} p_e(b)`` says how typical the bin is of ``d``
compared with every other domain; a voxel is *distinctive* when its bin's ratio is at least
``min_ratio``. Centring a share of the training patches on distinctive voxels (of a randomly
chosen domain; all domains are cut at the same place) shows the networks the structures that
change between phases, in every domain, without any label.

Example:
    >>> import numpy as np
    >>> edges = np.linspace(-1, 1, 11)
    >>> a = np.full((1, 4, 4), -0.05); b = a.copy(); b[0, :2] = 0.55  # half of b 'enhanced'
    >>> masks = distinctive_masks({"nc": [a], "ce": [b]}, {"nc": [a > -2], "ce": [b > -2]}, edges)
    >>> int(masks["nc"][0].sum()), int(masks["ce"][0].sum())
    (16, 8)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

HU_EDGES: tuple[float, ...] = tuple(float(h) for h in np.arange(-200.0, 1001.0, 20.0))
"""Histogram bins (HU): soft tissue to dense bone in 20 HU steps; outside them nothing counts."""
MIN_RATIO = 2.0
SUBSAMPLE = 7  # every 7th body voxel is enough for a histogram and keeps the set-up fast


def domain_histograms(values: Mapping[str, Sequence[np.ndarray]],
                      bodies: Mapping[str, Sequence[np.ndarray]], edges: np.ndarray
                      ) -> dict[str, np.ndarray]:
    """Normalised histogram of body voxels per domain (densities summing to 1 over all voxels,
    so mass outside ``edges`` is accounted for and bins compare between domains)."""
    out = {}
    for domain, vols in values.items():
        samples = np.concatenate([v[m][::SUBSAMPLE] for v, m in zip(vols, bodies[domain],
                                                                    strict=True)])
        counts, _ = np.histogram(samples, bins=edges)
        out[domain] = counts / max(samples.size, 1)
    return out


def distinctive_bins(histograms: Mapping[str, np.ndarray], min_ratio: float = MIN_RATIO
                     ) -> dict[str, np.ndarray]:
    """Per domain, the bins holding at least ``min_ratio`` times the density of every other
    domain (bool per bin). Empty bins are never distinctive."""
    out = {}
    for domain, hist in histograms.items():
        others = np.max([h for d, h in histograms.items() if d != domain], axis=0)
        out[domain] = (hist > 0) & (hist >= min_ratio * others)
    return out


def distinctive_masks(values: Mapping[str, Sequence[np.ndarray]],
                      bodies: Mapping[str, Sequence[np.ndarray]], edges: np.ndarray,
                      min_ratio: float = MIN_RATIO) -> dict[str, list[np.ndarray]]:
    """Per domain and volume, the body voxels whose bin is distinctive of their domain.

    Args:
        values: domain -> its volumes ``(z, y, x)`` (any monotone intensity scale).
        bodies: domain -> body masks of the same volumes.
        edges: histogram bin edges in the scale of ``values`` (increasing).
        min_ratio: how much more common a bin must be in its own domain.
    """
    if len(values) < 2:
        raise ValueError("distinctive voxels need at least two domains")
    edges = np.asarray(edges, dtype=np.float64)
    bins = distinctive_bins(domain_histograms(values, bodies, edges), min_ratio)
    out: dict[str, list[np.ndarray]] = {}
    for domain, vols in values.items():
        table = np.concatenate([[False], bins[domain], [False]])  # outside the edges: no
        out[domain] = [table[np.digitize(v, edges)] & m
                       for v, m in zip(vols, bodies[domain], strict=True)]
    return out
