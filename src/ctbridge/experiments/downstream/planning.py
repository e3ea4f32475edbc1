"""The rows of a downstream table: baseline, one per translator, oracle (what each trains on)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ctbridge.inference.translator import Translator
from ctbridge.models.build import MODEL_TITLES

TRANSLATOR_TITLES = MODEL_TITLES
DOMAIN_TITLES = {"nc": "NC", "ce": "CE"}


@dataclass(frozen=True)
class RowPlan:
    """A row to run: ``extra`` is None (baseline), ``"real"`` (oracle) or a translator name."""

    key: str
    label: str
    extra: str | None
    translator: Translator | Path | None = None
    skip_reason: str = ""


def plan_rows(train_domain: str, other_domain: str,
              translators: Mapping[str, Translator | Path], oracle: bool) -> list[RowPlan]:
    """Baseline, one row per translator (known ones always listed), then the oracle."""
    t, o = DOMAIN_TITLES[train_domain], DOMAIN_TITLES[other_domain]
    rows = [RowPlan("baseline", f"{t} only (baseline)", None)]
    for name in [*TRANSLATOR_TITLES, *sorted(set(translators) - set(TRANSLATOR_TITLES))]:
        label = f"{t} + {TRANSLATOR_TITLES.get(name, name)} synthetic {o}"
        if name in translators:
            rows.append(RowPlan(name, label, name, translators[name]))
        else:
            rows.append(RowPlan(name, label, name, None,
                                f"no translator given: --translator {name}=RUN_DIR"))
    label = f"{t} + real {o} (oracle)"
    rows.append(RowPlan("oracle", label, "real") if oracle
                else RowPlan("oracle", label, "real", None, "oracle: false in the config"))
    return rows
