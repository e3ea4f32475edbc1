"""Resuming an experiment in its output folder: folds already in results.json are not retrained.

A run records what decides its numbers in results.json (``identity``: the config without the
fields that only say where or how fast it runs or what is computed from finished folds, the data
set's fingerprint and the translators' run folders); results.json is rewritten after every fold.
A rerun into the same folder with the same identity trains only the (row, fold) pairs missing
there, and a translator added since (a row that was skipped) only adds its row. Any other
difference is refused: one table mixing folds of two configs would be silently wrong.

Example:
    >>> differing_keys({"folds": 4, "segmenter": {"steps": 9}, "translators": {}},
    ...                {"folds": 4, "segmenter": {"steps": 3}, "translators": {"unit": "u"}})
    ['segmenter.steps']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctbridge.errors import ConfigError, DataError
from ctbridge.experiments.downstream.cohort import Cohort
from ctbridge.experiments.downstream.config import ExperimentConfig
from ctbridge.inference.translator import Translator

RESULTS = "results.json"
# fields that change neither a trained segmenter nor its scores
RUNTIME_ONLY = ("device", "threads", "progress", "cache_dir", "comparisons",
                "bootstrap_resamples")
ADDABLE = "translators."  # a translator new in this run only adds its row
_MISSING = object()


def translator_id(translator: Translator | str | Path) -> str:
    """A run folder's absolute path; for a translator passed in loaded, its name."""
    if isinstance(translator, Translator):
        return f"loaded translator {translator.name}"
    return str(Path(translator).resolve())


def run_identity(config: ExperimentConfig, cohort: Cohort,
                 translators: Mapping[str, Translator | str | Path]) -> dict[str, Any]:
    """What decides a run's fold results (module doc), as JSON-ready values."""
    tree = {k: v for k, v in config.model_dump(mode="json").items() if k not in RUNTIME_ONLY}
    tree["translators"] = {name: translator_id(t) for name, t in sorted(translators.items())}
    tree["data"] = cohort.fingerprint()
    return tree


def _flat(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def differing_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Dotted keys whose values differ, a translator new in ``new`` excepted."""
    a, b = _flat(old), _flat(new)
    if a.get("translators") == {}:  # no translator before: any now only adds rows
        a.pop("translators")
    if b.get("translators") == {}:
        b.pop("translators")
    return sorted(k for k in a.keys() | b.keys()
                  if a.get(k, _MISSING) != b.get(k, _MISSING)
                  and not (k not in a and k.startswith(ADDABLE)))


@dataclass
class Previous:
    """What an earlier run in the folder left: (row key, fold index) -> fold result, and the
    quality-control counts per row."""

    folds: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    qc: dict[str, Any] = field(default_factory=dict)


def load_previous(out: Path, identity: Mapping[str, Any]) -> Previous:
    """The finished folds of ``out/results.json`` (none when there is no such file).

    Raises:
        ConfigError: the folder holds results of a different run (names the keys).
        DataError: results.json cannot be read.
    """
    path = Path(out) / RESULTS
    if not path.is_file():
        return Previous()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read to resume ({exc}); use a new --out") from None
    old = data.get("identity") if isinstance(data, dict) else None
    if not isinstance(old, dict):
        raise ConfigError(f"{path}: no record of the config it was run with (an earlier "
                          "ctbridge), so it cannot be resumed; use a new --out")
    keys = differing_keys(old, identity)
    if keys:
        raise ConfigError(f"{out} holds results of a different run ({', '.join(keys)} "
                          "differ); use a new --out, or the same config to resume")
    folds = {(row["key"], fold["fold"]): fold for row in data.get("rows", [])
             if row.get("status") == "ok" for fold in row.get("folds", [])
             if "patient_counts" in fold}
    return Previous(folds, dict(data.get("qc") or {}))
