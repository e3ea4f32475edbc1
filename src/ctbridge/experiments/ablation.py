"""One row per translator variant: both directions scored on held-out phantom patients.

The research tools (``scripts/translation_ablation.py``, ``scripts/paired_bound.py``) train a
variant, then call :func:`score_directions` and keep the result as one JSON line in
``ablation.jsonl``, so every variant of the research log is scored the same way: against the
phantom's true other phase and beside "no translation", with the demo's pass marks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ctbridge.evaluation.scan_scores import aggregate
from ctbridge.evaluation.targets import check_targets
from ctbridge.experiments.downstream.cohort import Cohort
from ctbridge.experiments.validation import score_scan_against_truth, score_translator
from ctbridge.inference.translator import Translator

DIRECTIONS = (("nc", "ce"), ("ce", "nc"))
SUMMARY = {  # column -> key path in an aggregate
    "MAE": ("image", "body", "mae_hu"),
    "lumen shift": ("tissue", "lumen", "shift_hu"),
    "fat shift": ("tissue", "fat", "shift_hu"),
    "texture": ("tissue", "texture", "ratio"),
    "lumen texture": ("tissue", "lumen_texture", "ratio"),
    "peak err": ("plaques", "peak_rel_error_median"),
    "recall": ("plaques", "recall_pred"),
    ">=130": ("plaques", "calcified_pred"),
    "false calc": ("plaques", "false_calcifications_pred"),
    "enh aorta": ("change", "enhancement", "aorta", "captured"),
    "enh cortex": ("change", "enhancement", "kidney_cortex", "captured"),
    "enh liver": ("change", "enhancement", "liver", "captured"),
    "enh spleen": ("change", "enhancement", "spleen", "captured"),
    "bone change": ("change", "bone", "change_hu"),
    "made-up %": ("change", "made_up", "percent"),
}


def summary_value(agg: Mapping[str, Any], path: Sequence[str]) -> float | None:
    """The mean at ``path`` of an aggregate, or None where that metric was not scored (or
    undefined in every scan, e.g. the enhancement of a structure that does not enhance).

    >>> summary_value({"image": {"body": {"mae_hu": {"mean": 20.5}}}}, SUMMARY["MAE"])
    20.5
    >>> summary_value({}, SUMMARY["MAE"]) is None
    True
    """
    node: Any = agg
    for key in path:
        node = node.get(key, {}) if isinstance(node, Mapping) else {}
    value = node.get("mean") if isinstance(node, Mapping) else None
    return None if value is None or math.isnan(value) else value


def read_rows(jsonl: Path) -> list[dict[str, Any]]:
    """The runs recorded in ``ablation.jsonl``, one JSON object per line, in order."""
    return [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]


def record_row(jsonl: Path, row: Mapping[str, Any]) -> None:
    """Put ``row`` into ``jsonl``, replacing an earlier row of its name (else appended)."""
    rows = [r for r in read_rows(jsonl) if r["name"] != row["name"]] if jsonl.is_file() else []
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in [*rows, row]))


def score_directions(model: Path, name: str, cohort: Cohort, holdout: list[str], quiet: bool,
                     mode: str = "full", bounded: bool = True, smooth: bool = True,
                     translator: Translator | None = None) -> dict[str, Any]:
    """Translate the held-out patients both ways with ``model`` (a run or checkpoint folder;
    or ``translator``, a loaded one, with its translations kept under ``model``) in inference
    ``mode`` and score them against the truth and the targets, beside "no translation"."""
    out: dict[str, Any] = {}
    for src, dst in DIRECTIONS:
        scored = score_translator(translator or model, name, cohort, holdout, source=src,
                                  target=dst, cache_dir=model / "translations", mode=mode,
                                  progress=not quiet, bounded=bounded, smooth=smooth)
        ident = aggregate([score_scan_against_truth(cohort, p, cohort.scan_path(src, p),
                                                    source=src, target=dst) for p in holdout])
        targets = check_targets(scored["aggregate"], ident, target_domain=dst)
        out[f"{src}2{dst}"] = {
            "summary": {k: summary_value(scored["aggregate"], p) for k, p in SUMMARY.items()},
            "identity": {k: summary_value(ident, p) for k, p in SUMMARY.items()},
            "targets": [vars(t) for t in targets],
            "met": sum(t.passed for t in targets), "of": len(targets)}
    return out


def summary_line(directions: Mapping[str, Any]) -> str:
    """``MAE (x none) / lumen / texture / peak err / false calc | MAE (x none) / lumen / peak
    err / >=130 / false calc``, each direction with its targets met, as the research log
    writes a row."""
    def f(v: float | None, spec: str) -> str:
        return "-" if v is None else format(v, spec)
    parts = []
    for direction, keys in (("nc2ce", ("lumen shift", "texture", "peak err", "false calc")),
                            ("ce2nc", ("lumen shift", "peak err", ">=130", "false calc"))):
        s, ident = directions[direction]["summary"], directions[direction]["identity"]
        cells = [f"{s['MAE']:.1f} ({s['MAE'] / ident['MAE']:.2f})"]
        cells += [f(s[k], "+.0f" if k == "lumen shift" else ".1f" if k == "false calc"
                    else ".2f") for k in keys]
        parts.append(" / ".join(cells)
                     + f" ({directions[direction]['met']}/{directions[direction]['of']})")
    return " | ".join(parts)


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows of ``ablation.jsonl`` as Markdown: the summary per direction, then targets met
    (columns by name: rows recorded before a column existed show "-" there)."""
    def cells(values: Mapping[str, Any]) -> str:
        return " | ".join("-" if values.get(k) is None else f"{values[k]:.2f}" for k in SUMMARY)
    lines = []
    for direction in ("nc2ce", "ce2nc"):
        head = ["variant", "s", *SUMMARY, "targets"]
        lines += [f"\n{direction}\n", "| " + " | ".join(head) + " |",
                  "| " + " | ".join("---" for _ in head) + " |"]
        if rows:
            ident = rows[0]["directions"][direction]["identity"]
            lines.append("| no translation | | " + cells(ident) + " | |")
        for r in rows:
            d = r["directions"][direction]
            lines.append(f"| {r['name']} | {r['train_seconds']:.0f} | " + cells(d["summary"])
                         + f" | {d['met']}/{d['of']} |")
    return "\n".join(lines)
