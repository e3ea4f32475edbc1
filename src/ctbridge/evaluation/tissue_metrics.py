"""Does a translation change what should change, and leave the rest alone?

Body MAE mixes everything; a phase translator can fail in ways it hides. These metrics look at
three homogeneous regions of the phantom, each eroded in-plane so that partial volume at their
edges does not count:

* **lumen** (aorta + iliac, plaques and their neighbourhood removed): the structure that
  enhances most. Its median HU in the translation should match the true phase (nc -> arterial:
  ~45 -> ~300 HU), the "did it translate at all" number.
* **fat**: does not enhance in any phase, so any shift of its median is an artefact of the
  translator (a brightened or darkened body).
* **liver texture**: the standard deviation inside the eroded liver, divided by the true
  scan's. Stripes, checkerboards and blocky textures raise it; over-smoothing lowers it below
  1 (noise removed), which is harmless for a segmenter and is not penalised by the target.
* **lumen texture**: the same ratio inside the eroded lumen. A translator can move the lumen's
  median by darkening or brightening only part of its pixels (a dotted grid at the latent
  period was seen); the median shift then looks right and this ratio does not.

Medians, not means, so a few outliers (a missed plaque voxel) do not move them.

Example:
    >>> import numpy as np
    >>> labels = np.zeros((1, 20, 20), np.int16); labels[0, 4:16, 4:16] = 1
    >>> truth = np.where(labels == 1, -100.0, 40.0); pred = truth + 10.0
    >>> tissue_metrics(pred, truth, labels, np.zeros_like(labels), {"fat": 1})["fat"]["shift_hu"]
    10.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

from ctbridge.evaluation.plaque_metrics import LUMEN_NAMES, dilate_inplane, disk

EROSION_PX = 2  # in-plane erosion of every region (partial volume at 0.7-1.4 mm pixels)
PLAQUE_MARGIN_PX = 2  # lumen voxels this close to a plaque are left out


def erode_inplane(mask: np.ndarray, radius: int) -> np.ndarray:
    """Erode a ``(z, y, x)`` mask slice by slice with a disk of ``radius`` pixels."""
    mask = np.asarray(mask, dtype=bool)
    if radius <= 0:
        return mask.copy()
    return ndimage.binary_erosion(mask, structure=disk(radius))


def _ids(label_ids: Mapping[str, int], names: Sequence[str]) -> list[int]:
    return [int(label_ids[n]) for n in names if n in label_ids]


def median_shift(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Median HU of ``pred`` and ``truth`` in ``mask`` and their difference (NaN if empty)."""
    if not mask.any():
        return {"median_pred": math.nan, "median_truth": math.nan, "shift_hu": math.nan,
                "voxels": 0}
    mp, mt = float(np.median(pred[mask])), float(np.median(truth[mask]))
    return {"median_pred": mp, "median_truth": mt, "shift_hu": mp - mt,
            "voxels": int(mask.sum())}


def texture(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Standard deviation of ``pred`` and ``truth`` inside ``mask`` and their ratio."""
    if mask.sum() < 2:
        return {"std_pred": math.nan, "std_truth": math.nan, "ratio": math.nan, "voxels": 0}
    sp = float(np.std(pred[mask], dtype=np.float64))
    st = float(np.std(truth[mask], dtype=np.float64))
    return {"std_pred": sp, "std_truth": st, "ratio": sp / st if st > 0 else math.nan,
            "voxels": int(mask.sum())}


def tissue_metrics(pred_hu: np.ndarray, true_hu: np.ndarray, labels: np.ndarray,
                   plaques: np.ndarray, label_ids: Mapping[str, int], *,
                   texture_organ: str = "liver", erosion_px: int = EROSION_PX
                   ) -> dict[str, dict[str, float]]:
    """Lumen and fat median shifts and the organ texture ratio of one translated scan.

    Args:
        pred_hu, true_hu: translation and true target phase, HU, ``(z, y, x)``.
        labels: organ label map; ``label_ids`` maps names (``aorta``, ``iliac``, ``fat``,
            ``liver``) to ids. Regions whose labels are absent get NaN values.
        plaques: plaque instance map (0 = none); the lumen near a plaque is left out.
        texture_organ: homogeneous organ whose texture is compared.
        erosion_px: in-plane erosion of every region.

    Returns:
        ``{"lumen": median_shift, "fat": median_shift, "texture": texture,
        "lumen_texture": texture}`` (see :func:`median_shift`, :func:`texture`).
    """
    if not pred_hu.shape == true_hu.shape == labels.shape == plaques.shape:
        raise ValueError(f"shapes differ: pred {pred_hu.shape}, truth {true_hu.shape}, "
                         f"labels {labels.shape}, plaques {plaques.shape}")
    near_plaque = dilate_inplane(np.asarray(plaques) > 0, PLAQUE_MARGIN_PX)
    lumen = erode_inplane(np.isin(labels, _ids(label_ids, LUMEN_NAMES)), erosion_px)
    fat = erode_inplane(np.isin(labels, _ids(label_ids, ("fat",))), erosion_px)
    organ = erode_inplane(np.isin(labels, _ids(label_ids, (texture_organ,))), erosion_px)
    return {
        "lumen": median_shift(pred_hu, true_hu, lumen & ~near_plaque),
        "fat": median_shift(pred_hu, true_hu, fat),
        "texture": texture(pred_hu, true_hu, organ),
        "lumen_texture": texture(pred_hu, true_hu, lumen & ~near_plaque),
    }
