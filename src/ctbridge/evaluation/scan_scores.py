"""Metrics of one translated scan against its truth, and their mean ± std over scans.

One dict per scan (:func:`evaluate_scan`); :func:`aggregate` gives mean ± std (population std,
``ddof=0``) of every numeric leaf over the scans where it is finite, with ``n`` saying how many
scans that was (PSNR is ``inf`` for a perfect translation and NaN-valued metrics are undefined,
e.g. recall without plaques; both are left out of the means).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ctbridge.evaluation.change_metrics import change_metrics
from ctbridge.evaluation.image_metrics import region_metrics
from ctbridge.evaluation.plaque_metrics import LUMEN_NAMES, PlaqueRules, plaque_metrics
from ctbridge.evaluation.tissue_metrics import tissue_metrics

# labels that may sit in the vessel-wall ROI; every other label (bone, organs) is excluded
WALL_NAMES: tuple[str, ...] = ("background", "fat", "muscle", "vessel_wall", "plaque")
REGIONS: dict[str, tuple[str, ...]] = {"vessels": LUMEN_NAMES, "pancreas": ("pancreas",)}
SKIP_KEYS = frozenset({"table", "rules", "min_area_mm2", "name"})


def region_ids(label_ids: Mapping[str, int]) -> dict[str, list[int]]:
    """Region name -> label ids present in ``label_ids`` (regions with none are left out)."""
    out = {}
    for region, names in REGIONS.items():
        ids = [int(label_ids[n]) for n in names if n in label_ids]
        if ids:
            out[region] = ids
    return out


def excluded_ids(label_ids: Mapping[str, int]) -> list[int]:
    """Ids of labels that are never vessel wall: all but lumen, wall, fat, muscle, background."""
    allowed = set(WALL_NAMES) | set(LUMEN_NAMES)
    return sorted(int(i) for n, i in label_ids.items() if n not in allowed and int(i) != 0)


def evaluate_scan(name: str, pred_hu: np.ndarray, true_hu: np.ndarray, labels: np.ndarray,
                  plaques: np.ndarray, label_ids: Mapping[str, int], spacing: Sequence[float],
                  body: np.ndarray, rules: PlaqueRules | None = None,
                  source_hu: np.ndarray | None = None) -> dict[str, Any]:
    """Image metrics (body, vessels, pancreas), tissue metrics (lumen and fat shifts, liver
    texture) and fine-structure metrics of one scan; with its source, also how its change from
    the source compares with the true change (``"change"``).

    Args:
        name: scan name used in the report (file name).
        pred_hu, true_hu: translation and true target phase, HU, ``(z, y, x)``.
        labels: organ label map; ``label_ids`` maps its names (``aorta``, ``iliac``,
            ``pancreas``, ...) to ids. Labels other than :data:`WALL_NAMES` and the lumen are
            excluded from the vessel-wall ROI.
        plaques: plaque instance map (0 = none).
        spacing: ``(x, y, z)`` mm.
        body: body mask for the image metrics.
        rules: fine-structure rules.
        source_hu: the untranslated input, HU; when given, the result has a ``"change"``
            section (:func:`~ctbridge.evaluation.change_metrics.change_metrics`).
    """
    lumen_ids = [int(label_ids[n]) for n in LUMEN_NAMES if n in label_ids]
    result: dict[str, Any] = {
        "name": name,
        "image": region_metrics(pred_hu, true_hu, labels, region_ids(label_ids), body=body),
        "plaques": plaque_metrics(pred_hu, true_hu, plaques, labels, lumen_ids, spacing, rules,
                                  exclude_ids=excluded_ids(label_ids)),
        "tissue": tissue_metrics(pred_hu, true_hu, labels, plaques, label_ids),
    }
    if source_hu is not None:
        result["change"] = change_metrics(pred_hu, true_hu, source_hu, labels, plaques,
                                          label_ids, body)
    return result


def _leaves(obj: Mapping[str, Any], prefix: tuple[str, ...] = ()
            ) -> dict[tuple[str, ...], float]:
    """Numeric leaves of a nested dict by key path, skipping tables and settings."""
    out: dict[tuple[str, ...], float] = {}
    for key, value in obj.items():
        if key in SKIP_KEYS:
            continue
        if isinstance(value, Mapping):
            out.update(_leaves(value, (*prefix, key)))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float | np.number):
            out[(*prefix, key)] = float(value)
    return out


def aggregate(scans: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean, std (ddof=0) and count of finite values of every numeric metric over scans.

    Returns a nested dict shaped like one scan's, each leaf ``{"mean", "std", "n"}``.
    """
    values: dict[tuple[str, ...], list[float]] = {}
    for scan in scans:
        for path, value in _leaves(scan).items():
            values.setdefault(path, []).append(value)
    out: dict[str, Any] = {}
    for path, vals in values.items():
        finite = np.array([v for v in vals if math.isfinite(v)], dtype=np.float64)
        stats = {"mean": float(finite.mean()) if finite.size else math.nan,
                 "std": float(finite.std()) if finite.size else math.nan,
                 "n": int(finite.size)}
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = stats
    return out
