"""Fine-structure metrics: are calcified plaques kept by a translation, and is calcium invented?

Generic translators erase or blur structures a few pixels wide; image metrics averaged over the
body barely notice. These metrics look at each ground-truth plaque and at the vessel wall, and
are computed on the translation *and* on the true target phase, because the truth itself is not
perfect (partial volume lowers small plaques; in a contrast phase the lumen is > 130 HU too).

Rules (defaults in :class:`PlaqueRules`; every distance is in-plane pixels, because slices are
often 3 mm thick against < 1 mm pixels):

* **lumen** = voxels labelled aorta or iliac that are not plaque voxels.
* **kept**: a plaque is kept in a scan when its peak HU is >= 130 *and* the peak exceeds the
  median HU of the adjacent lumen by at least ``margin_hu`` (50 HU). The peak is searched over
  the plaque's voxels dilated in-plane by ``search_px`` (1 px, a tolerance for sub-pixel shifts;
  voxels of other plaques are excluded). The adjacent lumen is the lumen within an in-plane
  dilation of ``lumen_px`` (3 px) of the plaque; with no adjacent lumen only the 130 HU rule
  applies.
* **vessel-wall ROI** = in-plane dilation of (lumen | plaques) by ``roi_px`` (3 px), minus the
  lumen (contrast-filled lumen is > 130 HU and is not calcium), minus the voxels of other
  structures (``exclude_ids``: bone, organs) and their ``pv_px`` (1 px, 8-neighbourhood)
  partial-volume margin; plaque voxels always belong to it. Without the margin the spine's
  partial-volume voxels next to the aorta read as calcifications in every phase.
* **calcium mask** = ROI voxels >= 130 HU; in the lumen's partial-volume rim (the ``pv_px``
  ring around the lumen) a voxel must also reach the slice's lumen median + ``margin_hu``,
  because a voxel half lumen, half wall reads ~170 HU in an arterial phase (40 HU wall, 300 HU
  blood) and is no calcium. In a non-contrast scan (lumen ~40 HU) this is the plain 130 HU.
* **false calcification**: a 3D connected component (26-connectivity) of the calcium mask that
  does not overlap the plaques dilated in-plane by ``touch_px`` (1 px).
* **Agatston-style score**: per slice, 2D components (8-connectivity) of the calcium mask with
  area >= ``min_area_mm2`` (1 mm², Agatston's convention); each scores area (mm²) times a weight
  by its peak HU (130-199: 1, 200-299: 2, 300-399: 3, >= 400: 4). Summed over slices as they are
  (no rescaling to 3 mm slices), so it compares translation and truth, not patients to norms.

Example:
    >>> rules = PlaqueRules(margin_hu=50)
    >>> is_kept(600.0, 300.0, rules), is_kept(320.0, 300.0, rules), is_kept(140.0, None, rules)
    (True, False, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

CALCIUM_HU = 130.0  # Agatston's threshold
LUMEN_NAMES: tuple[str, ...] = ("aorta", "iliac")  # labels whose voxels are vessel lumen
AGATSTON_WEIGHTS: tuple[tuple[float, int], ...] = ((400.0, 4), (300.0, 3), (200.0, 2),
                                                  (130.0, 1))


@dataclass(frozen=True)
class PlaqueRules:
    """Parameters of the fine-structure rules (see the module docstring).

    Args:
        threshold_hu: calcium threshold (Agatston's 130 HU).
        margin_hu: how far the plaque peak must exceed the adjacent lumen median.
        lumen_px: in-plane distance (px) within which lumen counts as adjacent to a plaque.
        search_px: in-plane tolerance (px) around a plaque where its peak is searched.
        roi_px: in-plane dilation (px) of lumen | plaques that makes the vessel-wall ROI.
        touch_px: in-plane dilation (px) of the plaques a component must overlap to be real.
        min_area_mm2: smallest 2D lesion counted by the Agatston-style score.
        pv_px: width (px, 8-neighbourhood) of the partial-volume rims around the lumen and
            around excluded structures.
    """

    threshold_hu: float = CALCIUM_HU
    margin_hu: float = 50.0
    lumen_px: int = 3
    search_px: int = 1
    roi_px: int = 3
    touch_px: int = 1
    min_area_mm2: float = 1.0
    pv_px: int = 1


@dataclass
class PlaqueRow:
    """One ground-truth plaque as seen in the truth and in the translation."""

    id: int
    size_voxels: int
    peak_hu_truth: float
    peak_hu_pred: float
    lumen_median_truth: float | None
    lumen_median_pred: float | None
    kept_truth: bool
    kept_pred: bool


@dataclass
class AgatstonScore:
    """Lesion-level Agatston-style score of one volume."""

    score: float
    lesions: int


# ---------------------------------------------------------------------------------------------
# masks


def disk(radius: int) -> np.ndarray:
    """In-plane disk structuring element, shape ``(1, 2r+1, 2r+1)`` (no growth along z)."""
    r = int(radius)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (yy**2 + xx**2 <= r * r)[None]


def dilate_inplane(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate a ``(z, y, x)`` mask slice by slice with a disk of ``radius`` pixels."""
    mask = np.asarray(mask, dtype=bool)
    if radius <= 0:
        return mask.copy()
    return ndimage.binary_dilation(mask, structure=disk(radius))


def dilate_square(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate slice by slice with a ``(2r+1)`` square: the 8-neighbourhood for ``r = 1``."""
    mask = np.asarray(mask, dtype=bool)
    if radius <= 0:
        return mask.copy()
    return ndimage.binary_dilation(mask, structure=np.ones((1, 2 * radius + 1, 2 * radius + 1),
                                                           bool))


def lumen_mask(labels: np.ndarray, plaques: np.ndarray, lumen_ids: Sequence[int]) -> np.ndarray:
    """Voxels of the lumen labels (aorta, iliac) that are not plaque voxels."""
    return np.isin(labels, list(lumen_ids)) & (plaques == 0)


def vessel_roi(lumen: np.ndarray, plaques: np.ndarray, roi_px: int,
               exclude: np.ndarray | None = None, pv_px: int = 1) -> np.ndarray:
    """Vessel-wall ROI (see the module docstring).

    Args:
        lumen: lumen mask (:func:`lumen_mask`).
        plaques: plaque instance map.
        roi_px: in-plane dilation of lumen | plaques.
        exclude: voxels of structures that are not vessel wall (bone, organs), or None.
        pv_px: partial-volume margin removed around ``exclude``.
    """
    is_plaque = plaques > 0
    roi = dilate_inplane(lumen | is_plaque, roi_px) & ~lumen
    if exclude is not None and exclude.any():
        roi &= ~dilate_square(exclude, pv_px)
    return roi | is_plaque


def calcium_mask(volume: np.ndarray, roi: np.ndarray, lumen: np.ndarray | None = None,
                 rules: PlaqueRules | None = None) -> np.ndarray:
    """ROI voxels >= the calcium threshold; in the lumen rim also >= lumen median + margin.

    The lumen median is taken per slice in ``volume`` itself, so a translation is judged
    against its own lumen. Without ``lumen`` it is the plain threshold.
    """
    rules = rules or PlaqueRules()
    volume = np.asarray(volume)
    calcium = (volume >= rules.threshold_hu) & roi
    if lumen is None or not lumen.any():
        return calcium
    rim = dilate_square(lumen, rules.pv_px) & ~lumen & calcium
    for z in np.flatnonzero(rim.any(axis=(1, 2)) & lumen.any(axis=(1, 2))):
        floor = float(np.median(volume[z][lumen[z]])) + rules.margin_hu
        calcium[z] &= ~(rim[z] & (volume[z] < floor))
    return calcium


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two masks; 1.0 when both are empty (nothing to find, nothing invented)."""
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return 1.0
    return 2.0 * int((a & b).sum()) / total


# ---------------------------------------------------------------------------------------------
# per plaque


def _crop(plaques: np.ndarray, box: tuple[slice, ...], pad: int) -> tuple[slice, ...]:
    """The bounding box ``box`` grown in-plane by ``pad`` pixels, clipped to the volume."""
    z, y, x = box
    return (z, slice(max(y.start - pad, 0), min(y.stop + pad, plaques.shape[1])),
            slice(max(x.start - pad, 0), min(x.stop + pad, plaques.shape[2])))


def plaque_peak_and_lumen(volume: np.ndarray, plaques: np.ndarray, lumen: np.ndarray,
                          rules: PlaqueRules) -> dict[int, tuple[float, float | None, int]]:
    """Per plaque id: (peak HU near the plaque, adjacent lumen median or None, size in voxels).

    Works on each plaque's bounding box grown by the largest in-plane distance, so the cost is
    independent of the volume size.
    """
    out: dict[int, tuple[float, float | None, int]] = {}
    pad = max(rules.lumen_px, rules.search_px)
    for index, box in enumerate(ndimage.find_objects(plaques)):
        if box is None:
            continue
        pid = index + 1
        window = _crop(plaques, box, pad)
        inst, vol, lum = plaques[window], volume[window], lumen[window]
        own = inst == pid
        search = dilate_inplane(own, rules.search_px) & ((inst == 0) | own)
        ring = dilate_inplane(own, rules.lumen_px) & lum & ~own
        median = float(np.median(vol[ring])) if ring.any() else None
        out[pid] = (float(vol[search].max()), median, int(own.sum()))
    return out


def is_kept(peak_hu: float, lumen_median: float | None, rules: PlaqueRules) -> bool:
    """The kept rule: peak >= threshold and, with lumen nearby, peak >= lumen median + margin."""
    if peak_hu < rules.threshold_hu:
        return False
    return lumen_median is None or peak_hu - lumen_median >= rules.margin_hu


def plaque_table(pred_hu: np.ndarray, true_hu: np.ndarray, plaques: np.ndarray,
                 lumen: np.ndarray, rules: PlaqueRules) -> list[PlaqueRow]:
    """One :class:`PlaqueRow` per plaque id present in ``plaques``, in id order."""
    truth = plaque_peak_and_lumen(true_hu, plaques, lumen, rules)
    pred = plaque_peak_and_lumen(pred_hu, plaques, lumen, rules)
    rows = []
    for pid, (peak_t, med_t, size) in truth.items():
        peak_p, med_p, _ = pred[pid]
        rows.append(PlaqueRow(id=pid, size_voxels=size, peak_hu_truth=peak_t,
                              peak_hu_pred=peak_p, lumen_median_truth=med_t,
                              lumen_median_pred=med_p, kept_truth=is_kept(peak_t, med_t, rules),
                              kept_pred=is_kept(peak_p, med_p, rules)))
    return rows


# ---------------------------------------------------------------------------------------------
# wall calcium


def false_calcifications(calcium: np.ndarray, plaques: np.ndarray, touch_px: int = 1) -> int:
    """Number of 3D calcium components (26-connected) that overlap no in-plane-dilated plaque."""
    components, n = ndimage.label(calcium, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return 0
    near = dilate_inplane(plaques > 0, touch_px)
    touching = np.unique(components[near & (components > 0)])
    return int(n - touching.size)


def density_weight(peak_hu: float) -> int:
    """Agatston density weight of a lesion by its peak HU (0 below 130 HU)."""
    for lower, weight in AGATSTON_WEIGHTS:
        if peak_hu >= lower:
            return weight
    return 0


def agatston_score(volume: np.ndarray, calcium: np.ndarray, pixel_area_mm2: float,
                   min_area_mm2: float = 1.0) -> AgatstonScore:
    """Lesion-level Agatston-style score: sum over 2D lesions of area (mm²) x density weight.

    A lesion is an 8-connected component of the ``calcium`` mask (:func:`calcium_mask`) in one
    slice with area >= ``min_area_mm2``; its weight comes from its peak HU in ``volume``.
    """
    score, lesions = 0.0, 0
    eight = np.ones((3, 3), bool)
    for z in np.flatnonzero(calcium.any(axis=(1, 2))):
        components, n = ndimage.label(calcium[z], structure=eight)
        if n == 0:
            continue
        index = np.arange(1, n + 1)
        areas = ndimage.sum_labels(np.ones_like(components), components, index) * pixel_area_mm2
        peaks = ndimage.maximum(volume[z], components, index)
        for area, peak in zip(np.atleast_1d(areas), np.atleast_1d(peaks), strict=True):
            if area >= min_area_mm2:
                score += float(area) * density_weight(float(peak))
                lesions += 1
    return AgatstonScore(score=score, lesions=lesions)


# ---------------------------------------------------------------------------------------------
# everything for one scan


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def peak_relative_errors(rows: list[PlaqueRow]) -> np.ndarray:
    """|peak_pred - peak_truth| / peak_truth per plaque: how much of each plaque's brightness
    the translation kept or invented (truth peaks are >= 130 HU, so never near zero)."""
    return np.array([abs(r.peak_hu_pred - r.peak_hu_truth) / abs(r.peak_hu_truth)
                     for r in rows if r.peak_hu_truth != 0], dtype=np.float64)


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if values.size else math.nan


def _mean_contrast(rows: list[PlaqueRow], which: str) -> float:
    """Mean of (peak - adjacent lumen median) over plaques with adjacent lumen."""
    values = [getattr(r, f"peak_hu_{which}") - getattr(r, f"lumen_median_{which}")
              for r in rows if getattr(r, f"lumen_median_{which}") is not None]
    return float(np.mean(values)) if values else math.nan


def plaque_metrics(pred_hu: np.ndarray, true_hu: np.ndarray, plaques: np.ndarray,
                   labels: np.ndarray, lumen_ids: Sequence[int],
                   spacing: Sequence[float], rules: PlaqueRules | None = None,
                   exclude_ids: Sequence[int] = ()) -> dict:
    """All fine-structure metrics of one translated scan against the true target phase.

    Args:
        pred_hu: translated volume, HU, ``(z, y, x)``.
        true_hu: true volume of the target phase, HU, ``(z, y, x)``.
        plaques: plaque instance map, ``(z, y, x)`` int, 0 = none, ids 1..N.
        labels: organ label map, ``(z, y, x)`` int.
        lumen_ids: label ids of the lumen (aorta, iliac).
        spacing: voxel size in mm in ITK order ``(x, y, z)`` (``Scan.spacing``); only the
            in-plane pixel area is used (Agatston lesion area).
        rules: :class:`PlaqueRules`; defaults when None.
        exclude_ids: labels that are never vessel wall (bone, organs); they and their
            partial-volume margin leave the ROI.

    Returns:
        JSON-able dict: plaque counts and recalls (``recall_pred`` = kept in the translation /
        all plaques, ``recall_truth`` = kept in the truth / all, ``recall_relative`` = kept in
        both / kept in the truth), ``precision_pred`` (kept / (kept + false calcifications), a
        lesion-level precision), ``calcified_pred``/``calcified_truth`` (share of plaques
        whose peak is >= the calcium threshold, lumen or not), ``peak_rel_error_median`` (median
        over plaques of |peak_pred - peak_truth| / peak_truth), false calcifications, calcium
        Dice, mean plaque-lumen contrast, the Agatston-style scores and errors, the rules
        used, and the per-plaque ``table``.
    """
    rules = rules or PlaqueRules()
    if not pred_hu.shape == true_hu.shape == plaques.shape == labels.shape:
        raise ValueError(f"shapes differ: pred {pred_hu.shape}, truth {true_hu.shape}, "
                         f"plaques {plaques.shape}, labels {labels.shape}")
    plaques = np.asarray(plaques).astype(np.int32, copy=False)
    lumen = lumen_mask(labels, plaques, lumen_ids)
    exclude = np.isin(labels, list(exclude_ids)) & (plaques == 0) if exclude_ids else None
    roi = vessel_roi(lumen, plaques, rules.roi_px, exclude, rules.pv_px)
    rows = plaque_table(pred_hu, true_hu, plaques, lumen, rules)
    calc_p = calcium_mask(pred_hu, roi, lumen, rules)
    calc_t = calcium_mask(true_hu, roi, lumen, rules)
    n = len(rows)
    kept_p = sum(r.kept_pred for r in rows)
    kept_t = sum(r.kept_truth for r in rows)
    kept_both = sum(r.kept_pred and r.kept_truth for r in rows)
    false_p = false_calcifications(calc_p, plaques, rules.touch_px)
    false_t = false_calcifications(calc_t, plaques, rules.touch_px)
    pixel_area = float(spacing[0]) * float(spacing[1])
    ag_p = agatston_score(pred_hu, calc_p, pixel_area, rules.min_area_mm2)
    ag_t = agatston_score(true_hu, calc_t, pixel_area, rules.min_area_mm2)
    error = ag_p.score - ag_t.score
    return {
        "rules": asdict(rules),
        "plaques": n,
        "kept_pred": kept_p,
        "kept_truth": kept_t,
        "kept_both": kept_both,
        "recall_pred": _ratio(kept_p, n),
        "recall_truth": _ratio(kept_t, n),
        "recall_relative": _ratio(kept_both, kept_t),
        "calcified_pred": _ratio(sum(r.peak_hu_pred >= rules.threshold_hu for r in rows), n),
        "calcified_truth": _ratio(sum(r.peak_hu_truth >= rules.threshold_hu for r in rows), n),
        "peak_rel_error_median": _median(peak_relative_errors(rows)),
        "precision_pred": _ratio(kept_p, kept_p + false_p),
        "precision_truth": _ratio(kept_t, kept_t + false_t),
        "false_calcifications_pred": false_p,
        "false_calcifications_truth": false_t,
        "calcium_dice": dice(calc_p, calc_t),
        "calcium_voxels_pred": int(calc_p.sum()),
        "calcium_voxels_truth": int(calc_t.sum()),
        "contrast_hu_pred": _mean_contrast(rows, "pred"),
        "contrast_hu_truth": _mean_contrast(rows, "truth"),
        "agatston": {
            "min_area_mm2": rules.min_area_mm2,
            "score_pred": ag_p.score,
            "score_truth": ag_t.score,
            "lesions_pred": ag_p.lesions,
            "lesions_truth": ag_t.lesions,
            "error": error,
            "abs_error": abs(error),
            "rel_error": abs(error) / ag_t.score if ag_t.score > 0 else math.nan,
        },
        "table": [asdict(r) for r in rows],
    }
