"""``results.json`` and the Markdown table laid out like the paper's Tables 1 and 2.

Rows are the training data (baseline, + each translator's synthetic scans, oracle), column
groups the test phase (NC, CE), each with the experiment's metrics as mean ± std over folds.
Rows that could not run (no translator given) stay in the table, marked, so a reader sees what
is missing rather than a shorter table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctbridge.experiments.downstream.metrics import mean_std
from ctbridge.io.atomic import atomic_path

TEST_DOMAINS = ("nc", "ce")
DOMAIN_TITLES = {"nc": "NC", "ce": "CE"}


@dataclass(frozen=True)
class Column:
    """One metric column: key in the fold scores, header, number format."""

    key: str
    header: str
    fmt: str = ".3f"


@dataclass
class RowResult:
    """One row of the table: what it trained on and its scores per fold."""

    key: str
    label: str
    status: str = "ok"            # "ok" or "skipped"
    reason: str = ""
    translator: str | None = None
    folds: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self, columns: Sequence[Column]) -> dict[str, dict[str, dict[str, float]]]:
        """test domain -> metric -> mean/std/n over folds."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for domain in TEST_DOMAINS:
            out[domain] = {c.key: mean_std(f["test"][domain][c.key] for f in self.folds
                                           if domain in f.get("test", {}))
                           for c in columns}
        return out

    def to_dict(self, columns: Sequence[Column]) -> dict[str, Any]:
        d = {"key": self.key, "label": self.label, "status": self.status, "reason": self.reason,
             "translator": self.translator, "seconds": round(self.seconds, 1),
             "folds": self.folds}
        if self.status == "ok":
            d["summary"] = self.summary(columns)
        return d


def _finite(value: Any) -> Any:
    """NaN / inf -> None recursively, so results.json is strict JSON (undefined = null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _cell(stats: dict[str, float], fmt: str, folds: int) -> str:
    if not stats.get("n") or not math.isfinite(stats.get("mean", float("nan"))):
        return "n/a"
    text = f"{stats['mean']:{fmt}} ± {stats['std']:{fmt}}"
    return text if stats["n"] == folds else f"{text} ({stats['n']}/{folds})"


def markdown_table(rows: Sequence[RowResult], columns: Sequence[Column], folds: int) -> list[str]:
    """The table lines: ``| Training data | NC precision | ... | CE ... |``."""
    head = ["Training data"] + [f"{DOMAIN_TITLES[d]} {c.header}"
                                for d in TEST_DOMAINS for c in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows:
        if row.status != "ok":
            cells = [f"{row.label} *(not run)*"] + ["–"] * (len(head) - 1)
        else:
            summary = row.summary(columns)
            cells = [row.label] + [_cell(summary[d][c.key], c.fmt, folds)
                                   for d in TEST_DOMAINS for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_results(out: Path, *, title: str, caption: str, rows: Sequence[RowResult],
                  columns: Sequence[Column], folds: int, meta: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``out/results.json`` and ``out/results.md`` (atomically); returns both paths.

    Undefined scores (NaN) are ``null`` in the JSON and ``n/a`` in the table.
    """
    out.mkdir(parents=True, exist_ok=True)
    data = {**meta, "columns": [c.key for c in columns],
            "rows": [r.to_dict(columns) for r in rows]}
    json_path, md_path = out / "results.json", out / "results.md"
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(_finite(data), indent=1, allow_nan=False))
    notes = [f"- {r.label}: not run ({r.reason})" for r in rows if r.status != "ok"]
    text = [f"# {title}", "", caption, "", *markdown_table(rows, columns, folds)]
    if notes:
        text += ["", *notes]
    with atomic_path(md_path) as tmp:
        tmp.write_text("\n".join(text) + "\n")
    return json_path, md_path
