"""Does the translation change its source where, and by as much as, the true phase does?

Scoring a translation against the truth alone cannot tell "did nothing" from "did the wrong
thing". These numbers compare the translation's change from its *source* (the untranslated
input) with the true change (truth minus source), which only a phantom gives:

* **enhancement captured**, per enhancing structure (aorta + iliac lumen, liver, spleen, kidney
  cortex left + right, pancreas, bowel wall): median(translation - source) / median(truth -
  source) inside the structure eroded in-plane (as :mod:`~ctbridge.evaluation.tissue_metrics`
  does; the bowel wall, 2-4 px thick, by 1 px only, as 2 px leave none of it; voxels near a
  plaque left out). 1 = the whole change, 0 = none, 0.5 = half; works both ways (into
  contrast both changes are positive, out of it both negative). NaN where the
  structure is absent or its true change is under ``MIN_TRUE_CHANGE_HU`` (it does not enhance
  in this phase pair: a ratio of noise).
* **bone change**: median |translation - source| in eroded cancellous bone, HU. Contrast never
  changes bone, so 0 is perfect; ``truth_hu`` gives the same for the truth (the phases' noise).
* **made-up change**: percent of body voxels whose in-plane 3 x 3 mean changed by more than
  ``MADE_UP_HU`` while the truth's 3 x 3 mean changed by less than ``STILL_HU``: structures
  the translator brightened or darkened that contrast leaves alone. The 3 x 3 mean keeps
  voxel noise out; for a perfect translation it is 0.

"No translation" (translation = source) scores 0 on all three.

Example:
    >>> import numpy as np
    >>> labels = np.zeros((1, 12, 12), np.int16); labels[0, 2:10, 2:10] = 1
    >>> source = np.where(labels == 1, 50.0, 0.0); truth = source + 100.0 * (labels == 1)
    >>> pred = source + 50.0 * (labels == 1)
    >>> enhancement(pred, truth, source, labels, np.zeros_like(labels), {"liver": 1})[
    ...     "liver"]["captured"]
    0.5
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import ndimage

from ctbridge.evaluation.plaque_metrics import LUMEN_NAMES, dilate_inplane
from ctbridge.evaluation.tissue_metrics import EROSION_PX, PLAQUE_MARGIN_PX, erode_inplane

# structure -> phantom labels that make it up
STRUCTURES: dict[str, tuple[str, ...]] = {
    "aorta": LUMEN_NAMES, "liver": ("liver",), "spleen": ("spleen",),
    "kidney_cortex": ("kidney_left_cortex", "kidney_right_cortex"),
    "pancreas": ("pancreas",), "bowel_wall": ("bowel",)}
THIN_PX: dict[str, int] = {"bowel_wall": 1}  # thin walls: eroded by at most this
BONE: tuple[str, ...] = ("bone_cancellous",)
MIN_TRUE_CHANGE_HU = 10.0  # below: the structure does not enhance, no ratio
MADE_UP_HU = 40.0  # a 3 x 3 mean changed by more than this ...
STILL_HU = 10.0  # ... where the truth's changed by less than this


def _region(labels: np.ndarray, label_ids: Mapping[str, int], names: tuple[str, ...],
            erosion_px: int) -> np.ndarray:
    ids = [int(label_ids[n]) for n in names if n in label_ids]
    return erode_inplane(np.isin(labels, ids), erosion_px)


def enhancement(pred_hu: np.ndarray, true_hu: np.ndarray, source_hu: np.ndarray,
                labels: np.ndarray, plaques: np.ndarray, label_ids: Mapping[str, int], *,
                erosion_px: int = EROSION_PX) -> dict[str, dict[str, float]]:
    """Per structure of :data:`STRUCTURES`: ``pred_hu`` and ``truth_hu`` (median change from
    the source), ``captured`` (their ratio, NaN as the module says) and ``voxels``."""
    near_plaque = dilate_inplane(np.asarray(plaques) > 0, PLAQUE_MARGIN_PX)
    out = {}
    for name, parts in STRUCTURES.items():
        px = min(erosion_px, THIN_PX.get(name, erosion_px))
        mask = _region(labels, label_ids, parts, px) & ~near_plaque
        if not mask.any():
            out[name] = {"pred_hu": math.nan, "truth_hu": math.nan, "captured": math.nan,
                         "voxels": 0}
            continue
        src = source_hu[mask].astype(np.float64)
        dp = float(np.median(pred_hu[mask] - src))
        dt = float(np.median(true_hu[mask] - src))
        out[name] = {"pred_hu": dp, "truth_hu": dt,  # + 0.0: no "-0.00" for no change
                     "captured": dp / dt + 0.0 if abs(dt) >= MIN_TRUE_CHANGE_HU else math.nan,
                     "voxels": int(mask.sum())}
    return out


def bone_change(pred_hu: np.ndarray, true_hu: np.ndarray, source_hu: np.ndarray,
                labels: np.ndarray, label_ids: Mapping[str, int], *,
                erosion_px: int = EROSION_PX) -> dict[str, float]:
    """Median |change| of the translation (``change_hu``) and of the truth (``truth_hu``) in
    eroded cancellous bone; NaN without bone."""
    mask = _region(labels, label_ids, BONE, erosion_px)
    if not mask.any():
        return {"change_hu": math.nan, "truth_hu": math.nan, "voxels": 0}
    src = source_hu[mask].astype(np.float64)
    return {"change_hu": float(np.median(np.abs(pred_hu[mask] - src))),
            "truth_hu": float(np.median(np.abs(true_hu[mask] - src))),
            "voxels": int(mask.sum())}


def _mean3(change: np.ndarray) -> np.ndarray:
    """In-plane 3 x 3 mean of a ``(z, y, x)`` change (edges repeat the nearest voxel)."""
    return ndimage.uniform_filter(change.astype(np.float64), size=(1, 3, 3), mode="nearest")


def made_up_change(pred_hu: np.ndarray, true_hu: np.ndarray, source_hu: np.ndarray,
                   body: np.ndarray) -> dict[str, float]:
    """``percent`` (and count, ``voxels``) of the ``body_voxels`` with a made-up change."""
    body = np.asarray(body, dtype=bool)
    src = source_hu.astype(np.float64)
    made_up = ((np.abs(_mean3(pred_hu - src)) > MADE_UP_HU)
               & (np.abs(_mean3(true_hu - src)) < STILL_HU) & body)
    n_body = int(body.sum())
    count = int(made_up.sum())
    return {"percent": 100.0 * count / n_body if n_body else math.nan, "voxels": count,
            "body_voxels": n_body}


def change_metrics(pred_hu: np.ndarray, true_hu: np.ndarray, source_hu: np.ndarray,
                   labels: np.ndarray, plaques: np.ndarray, label_ids: Mapping[str, int],
                   body: np.ndarray) -> dict[str, Any]:
    """``{"enhancement": ..., "bone": ..., "made_up": ...}`` of one translated scan.

    Args:
        pred_hu, true_hu, source_hu: translation, true target phase and the untranslated
            input, HU, ``(z, y, x)``.
        labels: organ label map; ``label_ids`` maps phantom names to ids (absent: NaN).
        plaques: plaque instance map (0 = none); voxels near a plaque are left out.
        body: body mask the made-up share is counted in.
    """
    if not pred_hu.shape == true_hu.shape == source_hu.shape == labels.shape == body.shape:
        raise ValueError(f"shapes differ: pred {pred_hu.shape}, truth {true_hu.shape}, "
                         f"source {source_hu.shape}, labels {labels.shape}, body {body.shape}")
    return {"enhancement": enhancement(pred_hu, true_hu, source_hu, labels, plaques, label_ids),
            "bone": bone_change(pred_hu, true_hu, source_hu, labels, label_ids),
            "made_up": made_up_change(pred_hu, true_hu, source_hu, body)}
