"""Folds over source cases; synthetic cases follow their source; nnU-Net's splits format."""

from __future__ import annotations

import json

import pytest

from ctbridge.datasets.splits import (
    as_splits,
    expand_splits,
    groups_from_keys,
    leaks,
    make_folds,
    read_splits,
)
from ctbridge.errors import DataError

CASES = [f"c{i:02d}" for i in range(12)]


def test_make_folds_is_a_seeded_partition():
    groups = make_folds(CASES, 5, seed=3)
    assert sorted(c for g in groups for c in g) == CASES
    assert sorted(len(g) for g in groups) == [2, 2, 2, 3, 3]
    assert make_folds(list(reversed(CASES)), 5, seed=3) == groups  # order does not matter
    assert make_folds(CASES, 5, seed=4) != groups


def test_too_few_cases_or_folds():
    with pytest.raises(DataError, match="3 labelled cases cannot make 5"):
        make_folds(CASES[:3], 5)
    with pytest.raises(DataError, match="folds must be >= 2"):
        make_folds(CASES, 1)


def test_expanded_splits_keep_groups_together_and_drop_absent_cases():
    splits = as_splits(make_folds(CASES, 4))
    members = {c: [c, f"{c}_synce"] for c in CASES[:-1]}  # the last case failed
    members["c00"] = ["c00"]  # its synthetic case was rejected
    out = expand_splits(splits, members)
    source = {m: c for c, ms in members.items() for m in ms}
    assert leaks(out, source) == []
    for fold, given in zip(out, splits, strict=True):
        assert {source[c] for c in fold["val"]} == set(given["val"]) - {"c11"}
        assert "c00_synce" not in fold["train"] + fold["val"]
    # the check itself finds a leak
    bad = [{"train": ["c01", "c02_synce"], "val": ["c02"]}]
    assert leaks(bad, {"c02_synce": "c02"}) == ["fold 0: c02"]


def test_groups_from_fold_keys():
    assert groups_from_keys([("a", 1), ("b", 0), ("c", 1)]) == [["b"], ["a", "c"]]
    assert groups_from_keys([("a", 1), ("b", None)]) is None
    assert groups_from_keys([]) is None


def test_read_splits_checks_the_format(tmp_path):
    path = tmp_path / "splits_final.json"
    path.write_text(json.dumps(as_splits([["a"], ["b"]])))
    assert read_splits(path) == [{"train": ["b"], "val": ["a"]}, {"train": ["a"], "val": ["b"]}]
    path.write_text(json.dumps({"train": ["a"]}))
    with pytest.raises(DataError, match="not an nnU-Net splits file"):
        read_splits(path)
    path.write_text(json.dumps([{"train": ["a", "b"], "val": ["b"]}]))
    with pytest.raises(DataError, match="fold 0 has \\['b'\\] in train and val"):
        read_splits(path)
