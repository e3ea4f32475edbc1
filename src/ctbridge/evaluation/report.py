"""``ctbridge evaluate``'s report: ``metrics.json`` and ``report.md`` from per-scan metrics.

The pieces: :mod:`~ctbridge.evaluation.scan_scores` (metrics of one scan, mean ± std over
scans), :mod:`~ctbridge.io.outputs` (JSON and text on disk), :mod:`~ctbridge.evaluation.
tables` (Markdown) and :mod:`~ctbridge.evaluation.panels` (PNG figures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ctbridge.evaluation.scan_scores import aggregate
from ctbridge.evaluation.tables import markdown_report
from ctbridge.io.outputs import write_json, write_text


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
