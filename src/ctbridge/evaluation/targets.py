"""Pass/fail targets of a translator on phantom ground truth: does it beat "no translation"?

A translator is only worth using if its output is closer to the true other phase than the
input is, changes the enhancing structures, leaves the rest alone and keeps plaques. These are
the acceptance targets of ctbridge's translators (issue 14), checked on the aggregate metrics
(mean over held-out scans) of :func:`ctbridge.evaluation.scan_scores.evaluate_scan`:

1. body MAE <= ``mae_ratio`` x the MAE of the untranslated input (each direction);
2. eroded lumen median within ``lumen_to_contrast_hu`` of the truth when translating into a
   contrast phase, within ``lumen_to_nc_hu`` when translating to non-contrast;
3. fat median within ``fat_hu``; liver standard deviation <= ``texture_ratio`` x the truth's;
4. median relative error of plaque peaks <= ``peak_rel_error``; after translation to
   non-contrast >= ``calcified_to_nc`` of the plaques still >= 130 HU; <= ``false_calcs``
   false calcifications per scan.

Example:
    >>> agg = {"image": {"body": {"mae_hu": {"mean": 15.0}}}}
    >>> ident = {"image": {"body": {"mae_hu": {"mean": 20.0}}}}
    >>> row = check_targets(agg, ident, target_domain="ce")[0]
    >>> row.name, round(row.value, 2), row.passed
    ('body MAE / no translation', 0.75, True)
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NON_CONTRAST = "nc"


@dataclass(frozen=True)
class TargetLimits:
    """The limits of the targets (see the module docstring)."""

    mae_ratio: float = 0.85
    lumen_to_contrast_hu: float = 60.0
    lumen_to_nc_hu: float = 25.0
    fat_hu: float = 15.0
    texture_ratio: float = 1.6
    peak_rel_error: float = 0.30
    calcified_to_nc: float = 0.90
    false_calcs: float = 2.0


@dataclass(frozen=True)
class TargetRow:
    """One target checked: its value (mean over scans), the limit, and whether it is met."""

    name: str
    value: float
    limit: float
    comparison: str  # "<=" or ">="
    passed: bool

    def cell(self) -> str:
        """``value`` with a check mark or a cross, for tables."""
        if math.isnan(self.value):
            return "-"
        return f"{self.value:.2f} {'✓' if self.passed else '✗'}"


def _mean(agg: Mapping[str, Any], *path: str) -> float:
    node: Any = agg
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return math.nan
        node = node[key]
    value = node.get("mean") if isinstance(node, Mapping) else node
    return math.nan if value is None else float(value)


def _row(name: str, value: float, limit: float, comparison: str) -> TargetRow:
    ops: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}
    passed = not math.isnan(value) and ops[comparison](value, limit)
    return TargetRow(name, value, limit, comparison, passed)


def check_targets(aggregate: Mapping[str, Any], identity: Mapping[str, Any], *,
                  target_domain: str, limits: TargetLimits | None = None) -> list[TargetRow]:
    """The targets of one translation direction.

    Args:
        aggregate: :func:`~ctbridge.evaluation.scan_scores.aggregate` of the translated scans.
        identity: the same for the untranslated inputs scored against the same truth.
        target_domain: the domain translated into; ``"nc"`` selects the non-contrast limits.
        limits: the limits; defaults when None.
    """
    lim = limits or TargetLimits()
    to_nc = target_domain == NON_CONTRAST
    mae = _mean(aggregate, "image", "body", "mae_hu")
    mae_identity = _mean(identity, "image", "body", "mae_hu")
    rows = [
        _row("body MAE / no translation", mae / mae_identity if mae_identity else math.nan,
             lim.mae_ratio, "<="),
        _row("|lumen shift| (HU)", abs(_mean(aggregate, "tissue", "lumen", "shift_hu")),
             lim.lumen_to_nc_hu if to_nc else lim.lumen_to_contrast_hu, "<="),
        _row("|fat shift| (HU)", abs(_mean(aggregate, "tissue", "fat", "shift_hu")),
             lim.fat_hu, "<="),
        _row("liver std / truth", _mean(aggregate, "tissue", "texture", "ratio"),
             lim.texture_ratio, "<="),
        _row("plaque peak rel. error", _mean(aggregate, "plaques", "peak_rel_error_median"),
             lim.peak_rel_error, "<="),
        _row("false calc. per scan", _mean(aggregate, "plaques", "false_calcifications_pred"),
             lim.false_calcs, "<="),
    ]
    if to_nc:
        rows.append(_row("plaques >= 130 HU", _mean(aggregate, "plaques", "calcified_pred"),
                         lim.calcified_to_nc, ">="))
    return rows


def targets_table(rows_by_label: Mapping[str, Sequence[TargetRow]]) -> list[str]:
    """Markdown lines: one row per translation, one column per target (value ✓/✗), and the
    number met."""
    names: list[str] = []
    limits: dict[str, str] = {}
    for rows in rows_by_label.values():
        for r in rows:
            if r.name not in limits:
                names.append(r.name)
                limits[r.name] = f"{r.comparison} {r.limit:g}"
    head = ["translation", *[f"{n} ({limits[n]})" for n in names], "met"]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for label, rows in rows_by_label.items():
        by_name = {r.name: r for r in rows}
        cells = [by_name[n].cell() if n in by_name else "" for n in names]
        lines.append("| " + " | ".join([label, *cells,
                                        f"{sum(r.passed for r in rows)}/{len(rows)}"]) + " |")
    return lines
