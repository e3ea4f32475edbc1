"""``results.json``, ``results.csv`` and ``results.md``, laid out like the paper's Tables 1 and 2.

Rows are the training data (baseline, + each translator's synthetic scans, oracle), column
groups the test phase (NC, CE), each with the experiment's metrics as mean ± std over folds.
Rows that could not run (no translator given) stay in the table, marked, so a reader sees what
is missing rather than a shorter table. Experiments with lesion-size bins (plaques) get a second
table by size; the paired comparisons (``statistics``) a third.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctbridge.experiments.downstream.metrics import mean_std
from ctbridge.io.atomic import atomic_path

if TYPE_CHECKING:
    from ctbridge.experiments.downstream.statistics import Comparisons

TEST_DOMAINS = ("nc", "ce")
DOMAIN_TITLES = {"nc": "NC", "ce": "CE"}
SIZE_METRICS = (("recall", "recall"), ("dice", "Dice"))  # key, header of the by-size table


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

    @property
    def seconds(self) -> float:
        """Time of its folds (those resumed from an earlier run included)."""
        return float(sum(f.get("seconds", 0.0) for f in self.folds))

    def summary(self, columns: Sequence[Column]) -> dict[str, dict[str, dict[str, float]]]:
        """test domain -> metric -> mean/std/n over folds."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for domain in TEST_DOMAINS:
            out[domain] = {c.key: mean_std(f["test"][domain][c.key] for f in self.folds
                                           if domain in f.get("test", {}))
                           for c in columns}
        return out

    def size_summary(self, labels: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
        """test domain -> size bin -> recall/Dice mean/std/n over folds, plus its plaques."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for domain in TEST_DOMAINS:
            bins = [f["test"][domain]["by_size"] for f in self.folds
                    if "by_size" in f.get("test", {}).get(domain, {})]
            out[domain] = {label: {**{key: mean_std(b[label][key] for b in bins)
                                      for key, _ in SIZE_METRICS},
                                   "plaques": sum(b[label]["plaques"] for b in bins)}
                           for label in labels}
        return out

    def to_dict(self, columns: Sequence[Column], size_labels: Sequence[str] = ()
                ) -> dict[str, Any]:
        d = {"key": self.key, "label": self.label, "status": self.status, "reason": self.reason,
             "translator": self.translator, "seconds": round(self.seconds, 1),
             "folds": self.folds}
        if self.status == "ok":
            d["summary"] = self.summary(columns)
            if size_labels:
                d["summary_by_size"] = self.size_summary(size_labels)
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


def _table(head: Sequence[str], rows: Sequence[RowResult],
           cells: Callable[[RowResult], list[str]]) -> list[str]:
    """Markdown lines: ``head``, then one line per row (``cells(row)``; not-run rows marked)."""
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows:
        line = ([row.label, *cells(row)] if row.status == "ok"
                else [f"{row.label} *(not run)*"] + ["–"] * (len(head) - 1))
        lines.append("| " + " | ".join(line) + " |")
    return lines


def markdown_table(rows: Sequence[RowResult], columns: Sequence[Column], folds: int) -> list[str]:
    """The table lines: ``| Training data | NC precision | ... | CE ... |``."""
    head = ["Training data"] + [f"{DOMAIN_TITLES[d]} {c.header}"
                                for d in TEST_DOMAINS for c in columns]

    def cells(row: RowResult) -> list[str]:
        summary = row.summary(columns)
        return [_cell(summary[d][c.key], c.fmt, folds) for d in TEST_DOMAINS for c in columns]

    return _table(head, rows, cells)


def size_table(rows: Sequence[RowResult], labels: Sequence[str], folds: int) -> list[str]:
    """The by-size table: per row, recall and lesion-wise Dice per size bin and test phase."""
    head = ["Training data"] + [f"{DOMAIN_TITLES[d]} {header} {label}" for d in TEST_DOMAINS
                                for label in labels for _, header in SIZE_METRICS]

    def cells(row: RowResult) -> list[str]:
        summary = row.size_summary(labels)
        return [_cell(summary[d][label][key], ".3f", folds) for d in TEST_DOMAINS
                for label in labels for key, _ in SIZE_METRICS]

    lines = _table(head, rows, cells)
    ran = next((r for r in rows if r.status == "ok" and r.folds), None)
    if ran is not None:
        counts = ran.size_summary(labels)[TEST_DOMAINS[0]]
        lines += ["", "Plaques per bin (all test patients): "
                  + ", ".join(f"{label} voxels: {counts[label]['plaques']}" for label in labels)
                  + "."]
    return lines


def csv_records(rows: Sequence[RowResult], columns: Sequence[Column]
                ) -> Iterator[tuple[str, int | None, str, str, str, Any]]:
    """(row, fold, test domain, metric, size bin, value): the table's metrics and the by-size
    values of every fold; the size bin is empty for the table's metrics."""
    for row in rows:
        for fold in row.folds:
            for domain in TEST_DOMAINS:
                scores = fold.get("test", {}).get(domain, {})
                for c in columns:
                    yield row.key, fold.get("fold"), domain, c.key, "", scores.get(c.key)
                for label, values in scores.get("by_size", {}).items():
                    for key in ("plaques", "detected", *(k for k, _ in SIZE_METRICS)):
                        yield row.key, fold.get("fold"), domain, key, label, values.get(key)


def _csv_text(rows: Sequence[RowResult], columns: Sequence[Column]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["row", "fold", "test_domain", "metric", "size_bin", "value"])
    for record in csv_records(rows, columns):
        value = record[-1]
        finite = value is not None and math.isfinite(value)
        writer.writerow([*record[:-1], value if finite else ""])
    return buffer.getvalue()


def write_results(out: Path, *, title: str, caption: str, rows: Sequence[RowResult],
                  columns: Sequence[Column], folds: int, meta: dict[str, Any],
                  size_labels: Sequence[str] = (), comparisons: Comparisons | None = None
                  ) -> tuple[Path, Path]:
    """Write ``out/results.json``, ``results.csv`` and ``results.md`` (atomically); returns the
    JSON and Markdown paths.

    Undefined scores (NaN) are ``null`` in the JSON, empty in the CSV and ``n/a`` in the tables.
    Without ``comparisons`` (a run still going) the third table says when it comes.
    """
    out.mkdir(parents=True, exist_ok=True)
    data = {**meta, "columns": [c.key for c in columns], "size_bins": list(size_labels),
            "rows": [r.to_dict(columns, size_labels) for r in rows]}
    if comparisons is not None:
        data["comparisons"] = comparisons.to_dict()
    json_path, md_path = out / "results.json", out / "results.md"
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(_finite(data), indent=1, allow_nan=False))
    with atomic_path(out / "results.csv") as tmp:
        tmp.write_text(_csv_text(rows, columns))
    notes = [f"- {r.label}: not run ({r.reason})" for r in rows if r.status != "ok"]
    text = [f"# {title}", "", caption, "", *markdown_table(rows, columns, folds)]
    if notes:
        text += ["", *notes]
    if size_labels:
        text += ["", "## By plaque size", "",
                 "Per-plaque recall and lesion-wise Dice (a plaque against the predicted "
                 "components touching it, 0 when missed) per plaque size in voxels, pooled per "
                 "fold, mean ± std over folds.", "", *size_table(rows, size_labels, folds)]
    text += ["", "## Paired comparisons", ""]
    text += (comparisons.markdown({c.key: c.header for c in columns}) if comparisons is not None
             else ["Written when every fold has run."])
    with atomic_path(md_path) as tmp:
        tmp.write_text("\n".join(text) + "\n")
    return json_path, md_path
