"""Cross-validation folds in which a synthetic case always sits with its source.

A synthetic scan is its source scan in another phase: same anatomy, same label. If the two
land in different folds, a model is validated on anatomy it trained on and the validation
scores are inflated. Folds are therefore made over *source* cases and every member of a
group (the source and its synthetic copies) follows its source.

nnU-Net v2 reads ``splits_final.json``: a list of ``{"train": [case ids], "val": [case ids]}``,
one per fold. MONAI datalists carry the same grouping as a ``fold`` key per training item.

Example:
    >>> groups = make_folds(["a", "b", "c"], folds=3, seed=0)
    >>> sorted(sum(groups, []))
    ['a', 'b', 'c']
    >>> expand_splits(as_splits(groups), {"a": ["a", "a_synce"], "b": ["b", "b_synce"],
    ...                                   "c": ["c_synce"]})[0]["val"] in (
    ...     ["a", "a_synce"], ["b", "b_synce"], ["c_synce"])
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ctbridge.data.sources import split_patients
from ctbridge.errors import DataError
from ctbridge.formats.cases import read_json
from ctbridge.io.atomic import atomic_path

Split = dict[str, list[str]]


def make_folds(case_ids: Sequence[str], folds: int = 5, seed: int = 0, *,
               what: str = "labelled cases", option: str = "the number of folds"
               ) -> list[list[str]]:
    """Deal source cases into ``folds`` disjoint validation groups (seeded, deterministic).

    The same shuffle-and-deal as the phantom's patient splits (``split_patients``): the groups
    depend only on the sorted case ids, ``folds`` and ``seed``.

    Args:
        what, option: name the cases and the setting of the folds in the error message.

    Raises:
        DataError: fewer cases than folds (a fold would validate on nothing).
    """
    ids = sorted(case_ids)
    if folds < 2:
        raise DataError(f"folds must be >= 2, got {folds}")
    if len(ids) < folds:
        raise DataError(f"{len(ids)} {what} cannot make {folds} cross-validation folds "
                        f"(nnU-Net trains 5); add cases or lower {option}")
    return split_patients(ids, folds, seed)


def as_splits(groups: Sequence[Sequence[str]]) -> list[Split]:
    """Validation groups -> nnU-Net splits (each fold trains on all the other groups)."""
    out = []
    for k, val in enumerate(groups):
        train = sorted(c for j, g in enumerate(groups) if j != k for c in g)
        out.append({"train": train, "val": sorted(val)})
    return out


def read_splits(path: Path) -> list[Split]:
    """A ``splits_final.json``; DataError naming the file when it is not nnU-Net's format."""
    data = read_json(path)
    ok = isinstance(data, list) and data and all(
        isinstance(f, dict) and set(f) >= {"train", "val"}
        and all(isinstance(f[k], list) and all(isinstance(c, str) for c in f[k])
                for k in ("train", "val")) for f in data)
    if not ok:
        raise DataError(f"{path}: not an nnU-Net splits file (a list of {{\"train\": [...], "
                        "\"val\": [...]}})")
    for k, fold in enumerate(data):
        both = set(fold["train"]) & set(fold["val"])
        if both:
            raise DataError(f"{path}: fold {k} has {sorted(both)[:3]} in train and val")
    return [{"train": list(f["train"]), "val": list(f["val"])} for f in data]


def groups_from_keys(items: Sequence[tuple[str, Any]]) -> list[list[str]] | None:
    """Validation groups from a datalist's ``fold`` values, or None when not every item has an
    integer fold (then folds are made)."""
    folds: dict[int, list[str]] = {}
    for case, fold in items:
        if not isinstance(fold, int) or isinstance(fold, bool) or fold < 0:
            return None
        folds.setdefault(fold, []).append(case)
    return [sorted(folds.get(k, [])) for k in range(max(folds) + 1)] if folds else None


def expand_splits(splits: Sequence[Split], members: Mapping[str, Sequence[str]]) -> list[Split]:
    """Replace each source case by the cases made from it (itself and/or synthetic copies).

    Cases absent from ``members`` (failed, rejected or not in the data set) are dropped.
    """
    out = []
    for fold in splits:
        out.append({part: sorted(m for c in fold[part] for m in members.get(c, ()))
                    for part in ("train", "val")})
    return out


def leaks(splits: Sequence[Split], source_of: Mapping[str, str]) -> list[str]:
    """Source cases with members on both sides of a fold (should be empty)."""
    found = []
    for k, fold in enumerate(splits):
        train = {source_of.get(c, c) for c in fold["train"]}
        val = {source_of.get(c, c) for c in fold["val"]}
        found += [f"fold {k}: {c}" for c in sorted(train & val)]
    return found


def write_splits(path: Path, splits: Sequence[Split]) -> Path:
    """Write ``splits_final.json`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(list(splits), indent=1))
    return Path(path)
