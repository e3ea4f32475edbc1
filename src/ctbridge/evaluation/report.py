"""Collect metrics per scan, aggregate over scans, and write ``metrics.json``, ``report.md``, PNGs.

One dict per scan (:func:`evaluate_scan`), JSON-able once passed through :func:`to_jsonable`;
:func:`aggregate` gives mean ± std (population std, ``ddof=0``) of every numeric leaf over the
scans where it is finite, with ``n`` saying how many scans that was (PSNR is ``inf`` for a
perfect translation and NaN-valued metrics are undefined, e.g. recall without plaques; both are
written as JSON ``null`` and left out of the means). Every file is written atomically.

Figures use matplotlib's object API with the Agg canvas (no display, no global backend switch).
Images are shown in a [-200, 600] HU window so soft tissue, contrast-filled lumen (~300 HU) and
plaques (> 400 HU saturate to white) are told apart; the difference map (translation - truth, HU)
uses a diverging colormap symmetric around 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ctbridge.evaluation.image_metrics import region_metrics
from ctbridge.evaluation.plaque_metrics import LUMEN_NAMES, PlaqueRules, plaque_metrics
from ctbridge.evaluation.tissue_metrics import tissue_metrics
from ctbridge.io.atomic import atomic_path

# labels that may sit in the vessel-wall ROI; every other label (bone, organs) is excluded
WALL_NAMES: tuple[str, ...] = ("background", "fat", "muscle", "vessel_wall", "plaque")
REGIONS: dict[str, tuple[str, ...]] = {"vessels": LUMEN_NAMES, "pancreas": ("pancreas",)}
DISPLAY_HU: tuple[float, float] = (-200.0, 600.0)
SKIP_KEYS = frozenset({"table", "rules", "min_area_mm2", "name"})


# ---------------------------------------------------------------------------------------------
# metrics of one scan


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
                  body: np.ndarray, rules: PlaqueRules | None = None) -> dict[str, Any]:
    """Image metrics (body, vessels, pancreas), tissue metrics (lumen and fat shifts, liver
    texture) and fine-structure metrics of one scan.

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
    """
    lumen_ids = [int(label_ids[n]) for n in LUMEN_NAMES if n in label_ids]
    return {
        "name": name,
        "image": region_metrics(pred_hu, true_hu, labels, region_ids(label_ids), body=body),
        "plaques": plaque_metrics(pred_hu, true_hu, plaques, labels, lumen_ids, spacing, rules,
                                  exclude_ids=excluded_ids(label_ids)),
        "tissue": tissue_metrics(pred_hu, true_hu, labels, plaques, label_ids),
    }


# ---------------------------------------------------------------------------------------------
# aggregation and JSON


def to_jsonable(obj: Any) -> Any:
    """Plain Python types for ``json``; NaN and inf become ``None`` (strict JSON has neither)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


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


def write_json(data: Any, path: Path) -> Path:
    """Strict JSON (no NaN/inf), indented, written atomically."""
    text = json.dumps(to_jsonable(data), indent=2, allow_nan=False)
    return write_text(text + "\n", path)


def write_text(text: str, path: Path) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


# ---------------------------------------------------------------------------------------------
# Markdown

# (column title, key path in one scan's dict, format)
COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("MAE body (HU)", ("image", "body", "mae_hu"), ".1f"),
    ("PSNR body (dB)", ("image", "body", "psnr_db"), ".2f"),
    ("SSIM body", ("image", "body", "ssim"), ".4f"),
    ("MAE vessels (HU)", ("image", "vessels", "mae_hu"), ".1f"),
    ("MAE pancreas (HU)", ("image", "pancreas", "mae_hu"), ".1f"),
    ("lumen shift (HU)", ("tissue", "lumen", "shift_hu"), ".1f"),
    ("fat shift (HU)", ("tissue", "fat", "shift_hu"), ".1f"),
    ("liver std / truth", ("tissue", "texture", "ratio"), ".2f"),
    ("plaques", ("plaques", "plaques"), "d"),
    ("recall pred", ("plaques", "recall_pred"), ".3f"),
    ("recall truth", ("plaques", "recall_truth"), ".3f"),
    ("recall rel.", ("plaques", "recall_relative"), ".3f"),
    ("plaques >= 130 HU", ("plaques", "calcified_pred"), ".3f"),
    ("peak rel. error", ("plaques", "peak_rel_error_median"), ".3f"),
    ("false calc. pred", ("plaques", "false_calcifications_pred"), "d"),
    ("false calc. truth", ("plaques", "false_calcifications_truth"), "d"),
    ("calcium Dice", ("plaques", "calcium_dice"), ".3f"),
    ("Agatston pred", ("plaques", "agatston", "score_pred"), ".1f"),
    ("Agatston truth", ("plaques", "agatston", "score_truth"), ".1f"),
    ("Agatston rel. err.", ("plaques", "agatston", "rel_error"), ".3f"),
)


def _get(obj: Mapping[str, Any], path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(obj, Mapping) or key not in obj:
            return None
        obj = obj[key]
    return obj


def _fmt(value: Any, spec: str) -> str:
    if value is None or isinstance(value, str):
        return "-" if value is None else value
    value = float(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf"
    return format(int(round(value)) if spec == "d" else value, spec)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _mean_std(stats: Any, spec: str) -> str:
    if not isinstance(stats, Mapping) or not stats.get("n"):
        return "-"
    spec = ".2f" if spec == "d" else spec
    return f"{_fmt(stats['mean'], spec)} ± {_fmt(stats['std'], spec)}"


SUMMARY_COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("MAE body (HU)", ("image", "body", "mae_hu"), ".1f"),
    ("SSIM", ("image", "body", "ssim"), ".3f"),
    ("lumen shift (HU)", ("tissue", "lumen", "shift_hu"), ".0f"),
    ("fat shift (HU)", ("tissue", "fat", "shift_hu"), ".1f"),
    ("liver std / truth", ("tissue", "texture", "ratio"), ".2f"),
    ("plaque recall", ("plaques", "recall_pred"), ".2f"),
    ("recall in truth", ("plaques", "recall_truth"), ".2f"),
    ("peak rel. error", ("plaques", "peak_rel_error_median"), ".2f"),
    ("plaques >= 130 HU", ("plaques", "calcified_pred"), ".2f"),
    ("false calc.", ("plaques", "false_calcifications_pred"), ".1f"),
    ("calcium Dice", ("plaques", "calcium_dice"), ".2f"),
)
"""The columns of summary tables (demo report, README): one row per translation."""


def summary_table(rows: Sequence[tuple[str, Mapping[str, Any]]],
                  columns: Sequence[tuple[str, tuple[str, ...], str]] = SUMMARY_COLUMNS
                  ) -> list[str]:
    """Markdown lines: one row per ``(label, aggregate)`` with mean ± std of each column."""
    lines = [_row(["translation", *(c[0] for c in columns)]), _row(["---"] * (len(columns) + 1))]
    for label, agg in rows:
        lines.append(_row([label, *(_mean_std(_get(agg, path), spec)
                                    for _, path, spec in columns)]))
    return lines


def markdown_report(result: Mapping[str, Any]) -> str:
    """The report: rules, per-scan table with a mean ± std row, per-plaque tables."""
    scans, agg, settings = result["scans"], result["aggregate"], result["settings"]
    rules = settings["rules"]
    lines = [
        "# ctbridge evaluation", "",
        f"Translations `{settings['pred']}` against truth `{settings['truth']}`; "
        f"{len(scans)} scan(s).", "",
        "Rules: image metrics inside the body mask and the vessel (aorta + iliac) and pancreas "
        "labels; PSNR and SSIM on HU clipped to [-1024, 3000], data range 4024 (SSIM per axial "
        "slice, 11 px Gaussian window). Lumen (aorta + iliac, 2 px from any plaque left out) "
        "and fat shifts: median HU of translation minus truth inside the labels eroded by 2 px; "
        "liver std / truth: standard deviation inside the eroded liver, translation over truth "
        "(stripes and checkerboards raise it). Peak rel. error: median over plaques of "
        "|peak pred - peak truth| / peak truth; plaques >= 130 HU: share whose peak still "
        "reaches calcium. A plaque is *kept* when its peak HU (searched within "
        f"{rules['search_px']} px) is >= {rules['threshold_hu']:g} HU and exceeds the median of "
        f"the lumen within {rules['lumen_px']} px by >= {rules['margin_hu']:g} HU. Vessel-wall "
        f"ROI: lumen | plaques dilated in-plane by {rules['roi_px']} px, minus the lumen, minus "
        f"other labelled structures (bone, organs) and their {rules['pv_px']} px rim. Calcium: "
        f">= {rules['threshold_hu']:g} HU in the ROI, and in the {rules['pv_px']} px lumen rim "
        "also >= the slice's lumen median + margin (partial volume of contrast). "
        "False calcifications: 3D components >= 130 HU in the ROI not touching a plaque "
        f"(dilated {rules['touch_px']} px). Agatston-style score: 2D lesions >= "
        f"{rules['min_area_mm2']:g} mm² (minimum lesion area), weight 1-4 by peak HU. "
        "Mean ± std (ddof=0) over scans with a defined value; PSNR inf (identical) is left out.",
        "",
        "## Per scan", "",
        _row(["scan", *(c[0] for c in COLUMNS)]),
        _row(["---"] * (len(COLUMNS) + 1)),
    ]
    for scan in scans:
        lines.append(_row([scan["name"], *(_fmt(_get(scan, p), f) for _, p, f in COLUMNS)]))
    lines.append(_row(["**mean ± std**", *(_mean_std(_get(agg, p), f) for _, p, f in COLUMNS)]))
    for scan in scans:
        lines += _plaque_lines(scan)
    return "\n".join(lines) + "\n"


def _plaque_lines(scan: Mapping[str, Any]) -> list[str]:
    """Per-plaque table of one scan (empty list when it has no plaques)."""
    table = scan["plaques"]["table"]
    if not table:
        return []
    lines = ["", f"## Plaques of {scan['name']}", "",
             _row(["id", "voxels", "peak truth (HU)", "peak pred (HU)", "lumen truth (HU)",
                   "lumen pred (HU)", "kept truth", "kept pred"]),
             _row(["---"] * 8)]
    for r in table:
        lines.append(_row([str(r["id"]), str(r["size_voxels"]), _fmt(r["peak_hu_truth"], ".0f"),
                           _fmt(r["peak_hu_pred"], ".0f"), _fmt(r["lumen_median_truth"], ".0f"),
                           _fmt(r["lumen_median_pred"], ".0f"), "yes" if r["kept_truth"] else
                           "no", "yes" if r["kept_pred"] else "no"]))
    return lines


# ---------------------------------------------------------------------------------------------
# figures


def _figure(rows: int, cols: int, size: float = 3.0) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size * cols, size * rows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    for ax in axes.ravel():
        ax.set_axis_off()
    return fig, axes


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return Path(path)


def _diff_limit(diff: np.ndarray) -> float:
    """Symmetric colour limit: the 99th percentile of the non-zero |diff|, at least 50 HU.

    Non-zero only, so a few wrong voxels among exact ones (a lost plaque) are not saturated.
    """
    nonzero = np.abs(diff[diff != 0])
    return max(50.0, float(np.percentile(nonzero, 99))) if nonzero.size else 50.0


def _show_row(axes: Sequence[Any], images: Sequence[tuple[str, np.ndarray | None]],
              diff: np.ndarray, contour: np.ndarray | None = None) -> None:
    """CT images in the display window, then the difference map."""
    lim = _diff_limit(diff)
    for ax, (title, image) in zip(axes, images, strict=False):
        if image is None:
            continue
        ax.imshow(image, cmap="gray", vmin=DISPLAY_HU[0], vmax=DISPLAY_HU[1],
                  interpolation="nearest")
        if contour is not None and contour.any():
            ax.contour(contour, levels=[0.5], colors="yellow", linewidths=0.6)
        ax.set_title(title, fontsize=8)
    ax = axes[len(images)]
    im = ax.imshow(diff, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_title("translation - truth (HU)", fontsize=8)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)


def save_panel(path: Path, pred_hu: np.ndarray, true_hu: np.ndarray, plaques: np.ndarray,
               input_hu: np.ndarray | None = None) -> Path:
    """PNG of one axial slice: input (if given), translation, truth, difference."""
    from ctbridge.plotting import plaque_slice

    z = plaque_slice(plaques)
    images = [("translation", pred_hu[z]), ("truth", true_hu[z])]
    if input_hu is not None:
        images.insert(0, ("input", input_hu[z]))
    fig, axes = _figure(1, len(images) + 1, size=4.0)
    _show_row(axes[0], images, pred_hu[z] - true_hu[z])
    fig.suptitle(f"slice {z}", fontsize=9)
    return _save(fig, path)


def _crop_box(centre: Sequence[float], shape: Sequence[int], half: int) -> tuple[slice, slice]:
    y, x = (int(round(c)) for c in centre)
    return (slice(max(y - half, 0), min(y + half + 1, shape[0])),
            slice(max(x - half, 0), min(x + half + 1, shape[1])))


def save_plaque_crops(path: Path, pred_hu: np.ndarray, true_hu: np.ndarray,
                      plaques: np.ndarray, table: Sequence[Mapping[str, Any]],
                      input_hu: np.ndarray | None = None, max_plaques: int = 8,
                      half: int = 12) -> Path | None:
    """Zoomed crops (one row per plaque) around up to ``max_plaques`` plaques.

    Plaques lost in the translation come first, then the rest by id, so the failures are the
    ones shown. Each crop is centred on the plaque's centroid in its middle slice; the plaque
    outline is drawn in yellow. Returns None when there are no plaques.
    """
    order = sorted(table, key=lambda r: (bool(r["kept_pred"]), r["id"]))[:max_plaques]
    if not order:
        return None
    cols = 3 + (input_hu is not None)
    fig, axes = _figure(len(order), cols + 1, size=2.4)
    for ax_row, row in zip(axes, order, strict=True):
        own = plaques == row["id"]
        zs = np.flatnonzero(own.any(axis=(1, 2)))
        z = int(zs[len(zs) // 2])
        box = _crop_box(np.argwhere(own[z]).mean(axis=0), own.shape[1:], half)
        images = [(f"#{row['id']} pred ({'kept' if row['kept_pred'] else 'lost'})",
                   pred_hu[z][box]), ("truth", true_hu[z][box])]
        if input_hu is not None:
            images.insert(0, ("input", input_hu[z][box]))
        _show_row(ax_row, images, pred_hu[z][box] - true_hu[z][box], contour=own[z][box])
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# the whole report


def write_report(out: Path, scans: Sequence[Mapping[str, Any]],
                 settings: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``OUT/metrics.json`` and ``OUT/report.md``; returns the result dict.

    The JSON holds ``settings`` (paths, rules), ``scans`` (one dict per scan, per-plaque tables
    included) and ``aggregate`` (mean ± std per metric).
    """
    out = Path(out)
    result = {"settings": dict(settings), "scans": list(scans), "aggregate": aggregate(scans)}
    write_json(result, out / "metrics.json")
    write_text(markdown_report(result), out / "report.md")
    return result
