"""Plaques by size: per-plaque recall and lesion-wise Dice in bins of plaque voxel counts.

A pooled recall hides where a translator fails: small plaques are the first to be blurred or
erased. Each ground-truth plaque (an instance id; size = its voxel count) falls into a bin given
by upper edges (``[3, 10]``: 1-3, 4-10, >10 voxels). Per plaque:

* *detected*: any predicted voxel on it;
* *lesion-wise Dice*: Dice between its voxels and the union of the predicted 3D components
  (26-connected) touching it; a missed plaque scores 0.

Per bin, the counts (plaques, detected, sum of Dice) are summable, so a fold pools its test
patients before dividing: recall = detected / plaques, Dice = sum of Dice / plaques.

Example:
    >>> import numpy as np
    >>> truth = np.zeros((1, 6, 6), int); truth[0, 0, 0] = 1; truth[0, 3:5, 3:5] = 2
    >>> pred = np.zeros((1, 6, 6), bool); pred[0, 3:5, 3:6] = True
    >>> c = size_counts(pred, truth, [3])
    >>> c.n, c.detected, [round(d, 3) for d in c.dice_sum]
    ([1, 1], [0, 1], [0.0, 0.8])
    >>> bin_labels([3, 10])
    ('1-3', '4-10', '>10')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ctbridge.experiments.downstream.metrics import FULL_3D, as_volumes, ratio


@dataclass
class SizeCounts:
    """Per size bin: ground-truth plaques, detected plaques, sum of lesion-wise Dice.

    Empty lists stand for "no scan yet" (the neutral element of ``+``).
    """

    n: list[int] = field(default_factory=list)
    detected: list[int] = field(default_factory=list)
    dice_sum: list[float] = field(default_factory=list)

    def __add__(self, other: SizeCounts) -> SizeCounts:
        if not self.n:
            return other
        if not other.n:
            return self
        if len(self.n) != len(other.n):
            raise ValueError(f"size bins differ: {len(self.n)} and {len(other.n)}")
        return SizeCounts([a + b for a, b in zip(self.n, other.n, strict=True)],
                          [a + b for a, b in zip(self.detected, other.detected, strict=True)],
                          [a + b for a, b in zip(self.dice_sum, other.dice_sum, strict=True)])


def bin_labels(edges: Sequence[int]) -> tuple[str, ...]:
    """Names of the bins of upper ``edges``: ``[3, 10]`` -> ``1-3``, ``4-10``, ``>10``."""
    labels, low = [], 1
    for edge in edges:
        labels.append(str(edge) if edge == low else f"{low}-{edge}")
        low = edge + 1
    labels.append(f">{edges[-1]}" if edges else "all")
    return tuple(labels)


def size_counts(pred: np.ndarray, truth_instances: np.ndarray, edges: Sequence[int]
                ) -> SizeCounts:
    """Per-bin counts of one scan's plaques (module doc) against a binary prediction.

    Args:
        pred: boolean prediction ``(z, y, x)`` (or 2D).
        truth_instances: int ids, 0 = background, one id per plaque.
        edges: increasing upper bin edges in voxels.
    """
    pred, truth = as_volumes(pred, truth_instances)
    bins = len(edges) + 1
    on = truth > 0
    ids, sizes = np.unique(truth[on], return_counts=True)
    if not ids.size:
        return SizeCounts([0] * bins, [0] * bins, [0.0] * bins)
    components, _ = ndimage.label(pred, structure=FULL_3D)
    component_sizes = np.bincount(components.ravel())
    pairs = np.unique(np.stack([truth[on], components[on]]), axis=1)  # (plaque, component)
    pairs = pairs[:, pairs[1] > 0]
    union = np.zeros(ids.size)  # voxels of the components touching each plaque
    np.add.at(union, np.searchsorted(ids, pairs[0]), component_sizes[pairs[1]])
    overlap = np.bincount(np.searchsorted(ids, truth[on & pred]), minlength=ids.size)
    dice = np.where(overlap > 0, 2 * overlap / (sizes + union), 0.0)
    which = np.searchsorted(np.asarray(edges), sizes, side="left")
    return SizeCounts(np.bincount(which, minlength=bins).tolist(),
                      np.bincount(which, weights=overlap > 0, minlength=bins).astype(int).tolist(),
                      np.bincount(which, weights=dice, minlength=bins).tolist())


def size_scores(counts: SizeCounts, labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Bin label -> plaques, detected, recall and mean lesion-wise Dice (NaN: no plaque)."""
    n = counts.n or [0] * len(labels)
    detected = counts.detected or [0] * len(labels)
    dice_sum = counts.dice_sum or [0.0] * len(labels)
    return {label: {"plaques": n[i], "detected": detected[i], "recall": ratio(detected[i], n[i]),
                    "dice": ratio(dice_sum[i], n[i])}
            for i, label in enumerate(labels)}
