"""Markdown tables of translation metrics: per scan, and mean ± std per translation."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

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
    ("lumen std / truth", ("tissue", "lumen_texture", "ratio"), ".2f"),
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
    ("enh. aorta", ("change", "enhancement", "aorta", "captured"), ".2f"),
    ("enh. kidney cortex", ("change", "enhancement", "kidney_cortex", "captured"), ".2f"),
    ("enh. liver", ("change", "enhancement", "liver", "captured"), ".2f"),
    ("enh. spleen", ("change", "enhancement", "spleen", "captured"), ".2f"),
    ("enh. pancreas", ("change", "enhancement", "pancreas", "captured"), ".2f"),
    ("enh. bowel wall", ("change", "enhancement", "bowel_wall", "captured"), ".2f"),
    ("bone change (HU)", ("change", "bone", "change_hu"), ".1f"),
    ("made-up change (%)", ("change", "made_up", "percent"), ".2f"),
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


_PATH = {title: path for title, path, _ in COLUMNS}
# (title in a summary table, the column of COLUMNS it shows, format)
SUMMARY_COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = tuple(
    (shown, _PATH[column], spec) for shown, column, spec in (
        ("MAE body (HU)", "MAE body (HU)", ".1f"), ("SSIM", "SSIM body", ".3f"),
        ("lumen shift (HU)", "lumen shift (HU)", ".0f"),
        ("fat shift (HU)", "fat shift (HU)", ".1f"),
        ("liver std / truth", "liver std / truth", ".2f"),
        ("lumen std / truth", "lumen std / truth", ".2f"),
        ("plaque recall", "recall pred", ".2f"), ("recall in truth", "recall truth", ".2f"),
        ("peak rel. error", "peak rel. error", ".2f"),
        ("plaques >= 130 HU", "plaques >= 130 HU", ".2f"),
        ("false calc.", "false calc. pred", ".1f"), ("calcium Dice", "calcium Dice", ".2f"),
        ("enh. aorta", "enh. aorta", ".2f"), ("enh. kidney cortex", "enh. kidney cortex", ".2f"),
        ("enh. liver", "enh. liver", ".2f"), ("enh. spleen", "enh. spleen", ".2f"),
        ("bone change (HU)", "bone change (HU)", ".1f"),
        ("made-up change (%)", "made-up change (%)", ".2f")))
"""The columns of summary tables (demo report, docs/results.md): one row per translation."""


CHANGE_RULES = (
    "Change from the untranslated input (source): enh. = enhancement captured, median "
    "(translation - source) / median(truth - source) in the structure eroded by 2 px (the "
    "bowel wall by 1 px; aorta = aorta + iliac lumen, plaques left out; kidney cortex left + "
    "right; 1 = the whole true change, 0 = none; '-' where "
    "the true change is under 10 HU or the structure is absent); bone change: median "
    "|translation - source| in eroded cancellous bone (0 = right); made-up change: % of body "
    "voxels whose 3 x 3 in-plane mean changed by > 40 HU where the truth's changed by < 10 HU.")
"""How the change columns are read (report rules, the demo report)."""


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
    changed = any("change" in s for s in scans)  # scored with their sources (--input)
    columns = [c for c in COLUMNS if changed or c[1][0] != "change"]
    lines = [
        "# ctbridge evaluation", "",
        f"Translations `{settings['pred']}` against truth `{settings['truth']}`; "
        f"{len(scans)} scan(s).", "",
        "Rules: image metrics inside the body mask and the vessel (aorta + iliac) and pancreas "
        "labels; PSNR and SSIM on HU clipped to [-1024, 3000], data range 4024 (SSIM per axial "
        "slice, 11 px Gaussian window). Lumen (aorta + iliac, 2 px from any plaque left out) "
        "and fat shifts: median HU of translation minus truth inside the labels eroded by 2 px; "
        "liver std / truth: standard deviation inside the eroded liver, translation over truth "
        "(stripes and checkerboards raise it); lumen std / truth: the same in the eroded "
        "lumen (a lumen darkened or brightened only in part, e.g. a dotted grid, raises it). "
        "Peak rel. error: median over plaques of "
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
        *(["", CHANGE_RULES] if changed else []),
        "",
        "## Per scan", "",
        _row(["scan", *(c[0] for c in columns)]),
        _row(["---"] * (len(columns) + 1)),
    ]
    for scan in scans:
        lines.append(_row([scan["name"], *(_fmt(_get(scan, p), f) for _, p, f in columns)]))
    lines.append(_row(["**mean ± std**", *(_mean_std(_get(agg, p), f) for _, p, f in columns)]))
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
