"""Segmentation scores of the downstream tables: per-lesion detection and voxel overlap.

Counts (not ratios) are returned per scan so that a fold pools its test scans before dividing:
a scan without plaques has no recall, but its false positives still count.

Per-plaque detection (Table 1):
    * a ground-truth plaque instance is *detected* when any predicted voxel overlaps it;
    * a predicted connected component (3D, 26-connected) is a *true positive* when it overlaps
      any ground-truth plaque;
    * recall = detected / ground-truth plaques, precision = true-positive components / predicted
      components.

Example:
    >>> import numpy as np
    >>> truth = np.zeros((1, 6, 6), int); truth[0, 1, 1] = 1; truth[0, 4, 4] = 2
    >>> pred = np.zeros((1, 6, 6), bool); pred[0, 1, 1:3] = True; pred[0, 3, 0] = True
    >>> c = detection_counts(pred, truth)
    >>> (c.detected, c.n_truth, c.true_components, c.n_components)
    (1, 2, 1, 2)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
from scipy import ndimage

FULL_3D = np.ones((3, 3, 3), bool)  # 26-connectivity: a diagonal step does not split a lesion


@dataclass
class DetectionCounts:
    """Lesion-level counts of one scan (or of several, summed)."""

    detected: int = 0          # ground-truth instances overlapped by the prediction
    n_truth: int = 0           # ground-truth instances
    true_components: int = 0   # predicted components overlapping some ground-truth instance
    n_components: int = 0      # predicted components

    def __add__(self, other: DetectionCounts) -> DetectionCounts:
        return DetectionCounts(*(getattr(self, f.name) + getattr(other, f.name)
                                 for f in fields(self)))


@dataclass
class VoxelCounts:
    """Voxel-level confusion counts of one scan (or of several, summed)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    scans: int = 0

    def __add__(self, other: VoxelCounts) -> VoxelCounts:
        return VoxelCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                           self.scans + other.scans)


def instances_from_mask(mask: np.ndarray) -> np.ndarray:
    """Instance ids (1..n) of the 26-connected components of a binary mask."""
    labels, _ = ndimage.label(np.asarray(mask, bool), structure=FULL_3D)
    return labels


def remove_small(mask: np.ndarray, min_voxels: int) -> np.ndarray:
    """``mask`` without its connected components smaller than ``min_voxels``."""
    mask = np.asarray(mask, bool)
    if min_voxels <= 1 or not mask.any():
        return mask
    labels, n = ndimage.label(mask, structure=FULL_3D)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_voxels
    keep[0] = False
    return keep[labels]


def as_volumes(pred: np.ndarray, truth_instances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A boolean prediction and instance ids of the same shape as ``(z, y, x)`` arrays (a 2D
    pair gets a slice axis)."""
    pred = np.asarray(pred, bool)
    truth = np.asarray(truth_instances)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ")
    return (pred[None], truth[None]) if pred.ndim == 2 else (pred, truth)


def detection_counts(pred: np.ndarray, truth_instances: np.ndarray) -> DetectionCounts:
    """Lesion-level counts of a binary prediction against ground-truth instance ids.

    Args:
        pred: boolean prediction ``(z, y, x)`` (or 2D).
        truth_instances: int ids, 0 = background, one id per ground-truth lesion.
    """
    pred, truth = as_volumes(pred, truth_instances)
    ids = np.unique(truth[truth > 0])
    hit = np.unique(truth[pred & (truth > 0)])
    components, n = ndimage.label(pred, structure=FULL_3D)
    true_components = np.unique(components[(components > 0) & (truth > 0)])
    return DetectionCounts(detected=len(hit), n_truth=len(ids),
                           true_components=len(true_components), n_components=int(n))


def voxel_counts(pred: np.ndarray, truth: np.ndarray) -> VoxelCounts:
    """True positive, false positive and false negative voxels of binary masks."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ")
    return VoxelCounts(tp=int((pred & truth).sum()), fp=int((pred & ~truth).sum()),
                       fn=int((~pred & truth).sum()), scans=1)


def ratio(num: float, den: float) -> float:
    """``num / den``, NaN when the denominator is 0 (undefined, not zero)."""
    return float(num) / float(den) if den else float("nan")


def plaque_scores(detection: DetectionCounts, voxels: VoxelCounts) -> dict[str, float]:
    """Per-plaque precision and recall, voxel Dice, from the pooled counts of a fold.

    Dice is 1 when both masks are empty (nothing to find, nothing found).
    """
    dice_den = 2 * voxels.tp + voxels.fp + voxels.fn
    return {
        "precision": ratio(detection.true_components, detection.n_components),
        "recall": ratio(detection.detected, detection.n_truth),
        "dice": ratio(2 * voxels.tp, dice_den) if dice_den else 1.0,
        "plaques": detection.n_truth, "plaques_detected": detection.detected,
        "components": detection.n_components, "components_true": detection.true_components,
    }


def organ_scores(voxels: VoxelCounts, voxel_ml: float = 0.0) -> dict[str, float]:
    """Voxel precision, recall, Dice and false-positive voxels per scan, from pooled counts."""
    dice_den = 2 * voxels.tp + voxels.fp + voxels.fn
    out = {
        "precision": ratio(voxels.tp, voxels.tp + voxels.fp),
        "recall": ratio(voxels.tp, voxels.tp + voxels.fn),
        "dice": ratio(2 * voxels.tp, dice_den) if dice_den else 1.0,
        "fp_voxels": ratio(voxels.fp, voxels.scans),
        "scans": voxels.scans,
    }
    if voxel_ml:
        out["fp_ml"] = out["fp_voxels"] * voxel_ml
    return out


def mean_std(values: Iterable[float]) -> dict[str, float]:
    """Mean and sample std (ddof 1; 0 for one value) over folds of the finite values.

    Undefined fold scores (NaN, e.g. precision with no prediction at all) are left out and
    ``n`` says how many folds were averaged.
    """
    arr = np.array([v for v in values if v is not None and np.isfinite(v)], float)
    if not arr.size:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {"mean": float(arr.mean()), "std": std, "n": int(arr.size)}
