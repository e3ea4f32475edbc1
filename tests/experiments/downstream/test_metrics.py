"""Per-plaque detection and voxel scores against hand-computed answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ctbridge.experiments.downstream.metrics import (
    DetectionCounts,
    VoxelCounts,
    detection_counts,
    mean_std,
    organ_scores,
    plaque_scores,
    remove_small,
    voxel_counts,
)


def _truth():
    """Plaques: 1 at (0, 1..2, 1..2), 2 at (1, 6, 6), 3 across slices 2-3 at (2..3, 1, 8)."""
    t = np.zeros((4, 10, 10), np.int32)
    t[0, 1:3, 1:3] = 1
    t[1, 6, 6] = 2
    t[2:4, 1, 8] = 3
    return t


def test_detection_hand_computed():
    truth = _truth()
    pred = np.zeros(truth.shape, bool)
    pred[0, 2, 2] = True             # touches plaque 1 (one voxel is enough)
    pred[0, 2, 3] = True             # same component as above (adjacent)
    pred[3, 1, 8:10] = True          # touches plaque 3 on its second slice
    pred[1, 0, 0] = True             # false positive component
    pred[3, 8, 8] = pred[2, 7, 7] = True  # one diagonal (26-connected) false positive component
    c = detection_counts(pred, truth)
    assert (c.detected, c.n_truth) == (2, 3)                # plaques 1 and 3 found, 2 missed
    assert (c.true_components, c.n_components) == (2, 4)
    s = plaque_scores(c, voxel_counts(pred, truth > 0))
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["precision"] == pytest.approx(2 / 4)
    # truth voxels: 4 + 1 + 2 = 7; predicted 7 voxels, of which 2 on plaques -> Dice 4 / 14
    assert s["dice"] == pytest.approx(4 / 14)


def test_one_component_covering_two_plaques_detects_both_and_counts_once():
    truth = np.zeros((1, 5, 8), np.int32)
    truth[0, 2, 1] = 1
    truth[0, 2, 5] = 2
    pred = np.zeros(truth.shape, bool)
    pred[0, 2, 1:6] = True
    c = detection_counts(pred, truth)
    assert (c.detected, c.n_truth, c.true_components, c.n_components) == (2, 2, 1, 1)


def test_nothing_predicted_gives_undefined_precision_and_zero_recall():
    truth = _truth()
    s = plaque_scores(detection_counts(np.zeros(truth.shape, bool), truth),
                      voxel_counts(np.zeros(truth.shape, bool), truth > 0))
    assert math.isnan(s["precision"]) and s["recall"] == 0 and s["dice"] == 0


def test_no_plaques_and_nothing_predicted_is_a_perfect_dice():
    empty = np.zeros((2, 4, 4), np.int32)
    s = plaque_scores(detection_counts(empty > 0, empty), voxel_counts(empty > 0, empty > 0))
    assert s["dice"] == 1.0 and math.isnan(s["recall"]) and math.isnan(s["precision"])


def test_counts_add_up_over_scans():
    a = DetectionCounts(1, 2, 1, 3) + DetectionCounts(2, 2, 2, 2)
    assert a == DetectionCounts(3, 4, 3, 5)
    assert VoxelCounts(1, 2, 3, 1) + VoxelCounts(1, 1, 1, 1) == VoxelCounts(2, 3, 4, 2)


def test_remove_small_drops_only_small_components():
    m = np.zeros((1, 6, 6), bool)
    m[0, 0, 0] = True
    m[0, 3:5, 3:5] = True
    kept = remove_small(m, 2)
    assert not kept[0, 0, 0] and kept[0, 3:5, 3:5].all()
    assert (remove_small(m, 1) == m).all()


def test_organ_scores_hand_computed():
    truth = np.zeros((2, 4, 4), bool)
    truth[0, :2, :2] = True           # 4 voxels
    pred = np.zeros_like(truth)
    pred[0, :2, :1] = True            # 2 tp
    pred[1, 3, :3] = True             # 3 fp
    s = organ_scores(voxel_counts(pred, truth) + voxel_counts(truth, truth), voxel_ml=0.5)
    # pooled: tp 2 + 4, fp 3, fn 2, two scans
    assert s["precision"] == pytest.approx(6 / 9)
    assert s["recall"] == pytest.approx(6 / 8)
    assert s["dice"] == pytest.approx(12 / 17)
    assert s["fp_voxels"] == pytest.approx(1.5) and s["fp_ml"] == pytest.approx(0.75)


def test_mean_std_skips_undefined_folds():
    s = mean_std([0.5, float("nan"), 0.7])
    assert s["mean"] == pytest.approx(0.6) and s["n"] == 2
    assert s["std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert mean_std([float("nan")])["n"] == 0


def test_results_json_is_strict_and_table_marks_undefined(tmp_path):
    from ctbridge.experiments.downstream.results import Column, RowResult, write_results

    cols = [Column("precision", "precision"), Column("recall", "recall")]
    fold = {"test": {d: {"precision": float("nan"), "recall": 0.5} for d in ("nc", "ce")}}
    rows = [RowResult("baseline", "NC only", folds=[fold, fold]),
            RowResult("unit", "NC + UNIT", status="skipped", reason="no translator")]
    js, md = write_results(tmp_path, title="T", caption="C", rows=rows, columns=cols, folds=2,
                           meta={})
    data = json.loads(js.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert data["rows"][0]["folds"][0]["test"]["nc"]["precision"] is None
    text = md.read_text()
    assert "| NC only | n/a | 0.500 ± 0.000 | n/a | 0.500 ± 0.000 |" in text
    assert "| NC + UNIT *(not run)* | – | – | – | – |" in text
    assert "- NC + UNIT: not run (no translator)" in text
    assert "## Paired comparisons\n\nWritten when every fold has run." in text
    assert "By plaque size" not in text  # an experiment without size bins
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert lines[1:3] == ["baseline,,nc,precision,,", "baseline,,nc,recall,,0.5"]
    assert len(lines) == 1 + 2 * 2 * 2  # folds x domains x metrics of the row that ran


def test_by_size_table_mean_std_over_folds(tmp_path):
    from ctbridge.experiments.downstream.results import Column, RowResult, size_table

    def fold(recall_small, dice_small):
        bins = {"1-3": {"plaques": 4, "detected": 2, "recall": recall_small, "dice": dice_small},
                ">3": {"plaques": 0, "detected": 0, "recall": None, "dice": None}}
        return {"fold": 0, "test": {d: {"dice": 0.5, "by_size": bins} for d in ("nc", "ce")}}

    row = RowResult("baseline", "NC only", folds=[fold(0.25, 0.2), fold(0.75, 0.4)])
    lines = size_table([row], ("1-3", ">3"), folds=2)
    assert lines[0] == ("| Training data | NC recall 1-3 | NC Dice 1-3 | NC recall >3 | NC Dice >3 "
                        "| CE recall 1-3 | CE Dice 1-3 | CE recall >3 | CE Dice >3 |")
    assert lines[2] == ("| NC only | 0.500 ± 0.354 | 0.300 ± 0.141 | n/a | n/a | 0.500 ± 0.354 "
                        "| 0.300 ± 0.141 | n/a | n/a |")
    assert lines[-1] == "Plaques per bin (all test patients): 1-3 voxels: 8, >3 voxels: 0."
    summary = row.to_dict([Column("dice", "Dice")], ("1-3", ">3"))["summary_by_size"]
    assert summary["ce"]["1-3"]["recall"]["mean"] == 0.5 and summary["ce"]["1-3"]["plaques"] == 8
