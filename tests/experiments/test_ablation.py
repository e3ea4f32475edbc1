"""One ablation row: both directions scored beside "no translation", kept one line per name."""

from __future__ import annotations

import pytest

from ctbridge.data.intensity import IntensityScaler
from ctbridge.experiments.ablation import (
    SUMMARY,
    read_rows,
    record_row,
    score_directions,
    summary_line,
    table,
)
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.inference.translator import Translator
from tests.experiments.downstream.cohort import ShiftModule, write_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return load_cohort(write_cohort(tmp_path_factory.mktemp("c"), patients=3))


def test_record_row_replaces_a_row_of_the_same_name_and_keeps_the_order(tmp_path):
    jsonl = tmp_path / "ablation.jsonl"
    record_row(jsonl, {"name": "a", "x": 1})
    record_row(jsonl, {"name": "b", "x": 2})
    record_row(jsonl, {"name": "a", "x": 3})
    assert read_rows(jsonl) == [{"name": "b", "x": 2}, {"name": "a", "x": 3}]


def test_a_no_op_translator_scores_as_no_translation(cohort, tmp_path):
    holdout = cohort.names[:2]
    noop = Translator(ShiftModule(0.0), IntensityScaler(), patch_size=None, name="noop")
    rows = score_directions(tmp_path, "noop", cohort, holdout, quiet=True, bounded=False,
                            translator=noop)
    assert set(rows) == {"nc2ce", "ce2nc"}
    for direction in rows.values():
        assert set(direction["summary"]) == set(SUMMARY)
        # the untouched input is exactly "no translation": same MAE, same plaques
        assert direction["summary"]["MAE"] == pytest.approx(direction["identity"]["MAE"],
                                                             abs=1e-6)
        assert direction["summary"]["recall"] == direction["identity"]["recall"]
        # no translation changes nothing: no enhancement captured, nothing made up
        assert direction["identity"]["enh aorta"] == 0.0
        assert direction["identity"]["made-up %"] == 0.0
        assert direction["identity"]["enh spleen"] is None  # no spleen in this cohort
        assert 0 <= direction["met"] <= direction["of"] > 0
    line = summary_line(rows)
    assert line.count("(1.00)") == 2          # MAE as a multiple of "no translation"
    assert " | " in line
    md = table([{"name": "noop", "train_seconds": 12.0, "directions": rows}])
    assert "| noop | 12 |" in md and "| no translation |" in md


def test_table_reads_rows_recorded_before_a_column_existed():
    old = {"MAE": 20.0, "recall": 1.0}  # an older row: fewer summary columns
    row = {"name": "old", "train_seconds": 5.0,
           "directions": {d: {"summary": old, "identity": old, "met": 1, "of": 6}
                          for d in ("nc2ce", "ce2nc")}}
    line = next(li for li in table([row]).splitlines() if li.startswith("| old |"))
    assert line.count("|") == len(SUMMARY) + 4  # name, seconds, every column, targets
    assert "| 20.00 |" in line and "| - |" in line
