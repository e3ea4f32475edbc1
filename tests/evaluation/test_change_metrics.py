"""Enhancement captured, bone change and made-up change against hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ctbridge.evaluation.change_metrics import change_metrics
from ctbridge.evaluation.scan_scores import aggregate, evaluate_scan
from tests.evaluation.synthetic import LABEL_IDS, SPACING, lumen_disk, make_vessel

IDS = {"fat": 1, "aorta": 2, "liver": 3, "kidney_left_cortex": 4, "kidney_right_cortex": 5,
       "bone_cancellous": 6, "pancreas": 7}
SHAPE = (2, 40, 60)
# (nc, arterial) HU; the pancreas does not change here, the spleen and bowel are absent
HU = {"fat": (-100, -100), "aorta": (40, 300), "liver": (60, 80), "kidney_left_cortex": (30, 180),
      "kidney_right_cortex": (30, 180), "bone_cancellous": (200, 200), "pancreas": (45, 45)}
PATCH = (slice(None), slice(14, 24), slice(3, 13))  # 10 x 10 px of fat, far from any change


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """nc and arterial HU and the labels of two slices 40 x 60 (fat everywhere else)."""
    labels = np.full(SHAPE, IDS["fat"], np.int16)
    labels[:, 5:35, 20:34] = IDS["liver"]
    labels[:, 5:15, 36:44] = IDS["kidney_left_cortex"]
    labels[:, 25:35, 36:44] = IDS["kidney_right_cortex"]
    labels[:, 28:38, 2:12] = IDS["bone_cancellous"]
    labels[:, 2:10, 2:12] = IDS["pancreas"]
    yy, xx = np.mgrid[:SHAPE[1], :SHAPE[2]]
    labels[:, (yy - 20) ** 2 + (xx - 50) ** 2 <= 36] = IDS["aorta"]
    nc, arterial = (np.zeros(SHAPE, np.float32) for _ in range(2))
    for name, (a, b) in HU.items():
        nc[labels == IDS[name]] = a
        arterial[labels == IDS[name]] = b
    return nc, arterial, labels


def _score(pred: np.ndarray, truth: np.ndarray, source: np.ndarray, labels: np.ndarray):
    body = np.ones(SHAPE, bool)
    return change_metrics(pred, truth, source, labels, np.zeros(SHAPE, np.int32), IDS, body)


def _captured(out) -> dict[str, float]:
    return {k: v["captured"] for k, v in out["enhancement"].items()}


def test_a_perfect_translation_captures_every_enhancement_and_changes_nothing_else():
    nc, ce, labels = _scene()
    out = _score(ce, ce, nc, labels)
    got = _captured(out)
    assert got["aorta"] == got["liver"] == got["kidney_cortex"] == 1.0
    assert out["enhancement"]["aorta"]["truth_hu"] == 260.0
    assert out["bone"]["change_hu"] == 0.0 and out["bone"]["voxels"] > 0
    assert out["made_up"] == {"percent": 0.0, "voxels": 0, "body_voxels": math.prod(SHAPE)}


def test_undefined_where_the_structure_is_absent_or_does_not_enhance():
    nc, ce, labels = _scene()
    out = _score(ce, ce, nc, labels)
    for name in ("spleen", "bowel_wall"):  # absent from the label map
        assert math.isnan(out["enhancement"][name]["captured"])
        assert out["enhancement"][name]["voxels"] == 0
    pancreas = out["enhancement"]["pancreas"]  # present, but 0 HU true change
    assert math.isnan(pancreas["captured"]) and pancreas["truth_hu"] == 0.0
    assert pancreas["voxels"] > 0
    no_bone = {k: v for k, v in IDS.items() if k != "bone_cancellous"}
    bone = change_metrics(ce, ce, nc, labels, np.zeros(SHAPE, np.int32), no_bone,
                          np.ones(SHAPE, bool))["bone"]
    assert math.isnan(bone["change_hu"]) and bone["voxels"] == 0


def test_no_translation_captures_nothing_and_makes_nothing_up():
    nc, ce, labels = _scene()
    out = _score(nc, ce, nc, labels)
    got = _captured(out)
    assert got["aorta"] == got["liver"] == got["kidney_cortex"] == 0.0
    assert out["bone"]["change_hu"] == 0.0 and out["made_up"]["voxels"] == 0


def test_half_the_enhancement_captures_half():
    nc, ce, labels = _scene()
    out = _score(nc + 0.5 * (ce - nc), ce, nc, labels)
    got = _captured(out)
    assert got["aorta"] == got["liver"] == got["kidney_cortex"] == 0.5
    assert out["made_up"]["voxels"] == 0  # changed only where the truth changes


def test_the_reverse_direction_scores_a_perfect_translation_1():
    nc, ce, labels = _scene()
    out = _score(nc, nc, ce, labels)  # ce -> nc: the true change is negative
    got = _captured(out)
    assert got["aorta"] == got["liver"] == got["kidney_cortex"] == 1.0
    assert out["enhancement"]["aorta"]["truth_hu"] == -260.0
    assert _captured(_score(ce, nc, ce, labels))["aorta"] == 0.0


def test_brightened_fat_is_made_up_change_inside_the_patch():
    nc, ce, labels = _scene()
    pred = ce.copy()
    pred[PATCH] += 60.0
    out = _score(pred, ce, nc, labels)["made_up"]
    # the 3 x 3 mean moves by 60 HU inside, by 40 (6 of 9 voxels) on the patch's edge, by 20
    # just outside: only the 8 x 8 interior of each slice counts (> 40 HU)
    assert out["voxels"] == 2 * 8 * 8
    assert out["percent"] == pytest.approx(100 * 128 / math.prod(SHAPE))


def test_made_up_change_counts_only_where_the_truth_stands_still():
    nc, ce, labels = _scene()
    pred = nc.copy()
    pred[labels == IDS["liver"]] += 60.0  # the liver enhances by 20 in truth: not "made up"
    assert _score(pred, ce, nc, labels)["made_up"]["voxels"] == 0
    body = np.zeros(SHAPE, bool)  # and only inside the body
    out = change_metrics(pred + 100.0 * (labels == IDS["fat"]), ce, nc, labels,
                         np.zeros(SHAPE, np.int32), IDS, body)["made_up"]
    assert out["voxels"] == 0 and math.isnan(out["percent"])


def test_bone_shifted_by_15_hu_changes_bone_by_15():
    nc, ce, labels = _scene()
    pred = ce.copy()
    pred[labels == IDS["bone_cancellous"]] -= 15.0
    out = _score(pred, ce, nc, labels)
    assert out["bone"]["change_hu"] == 15.0 and out["bone"]["truth_hu"] == 0.0
    assert out["made_up"]["voxels"] == 0  # 15 HU is not made-up change


def test_lumen_near_a_plaque_is_left_out():
    nc, ce, labels = _scene()
    plaques = np.zeros(SHAPE, np.int32)
    plaques[:, 13:15, 49:51] = 1  # on the lumen's upper rim
    body = np.ones(SHAPE, bool)
    near = change_metrics(ce, ce, nc, labels, plaques, IDS, body)["enhancement"]["aorta"]
    far = change_metrics(ce, ce, nc, labels, np.zeros_like(plaques), IDS, body)[
        "enhancement"]["aorta"]
    assert 0 < near["voxels"] < far["voxels"]


def test_evaluate_scan_has_a_change_section_only_with_its_source():
    v = make_vessel()
    source = v.copy_hu()
    source[:, lumen_disk()] = 40.0  # the non-contrast lumen
    body = np.ones(v.hu.shape, bool)
    args = (v.hu, v.hu, v.labels, v.plaques, LABEL_IDS, SPACING, body)
    assert "change" not in evaluate_scan("p", *args)
    scored = evaluate_scan("p", *args, source_hu=source)
    assert scored["change"]["enhancement"]["aorta"]["captured"] == 1.0
    assert math.isnan(scored["change"]["bone"]["change_hu"])  # no bone label
    # a scan whose lumen does not enhance leaves the mean to the scans where it does
    flat = evaluate_scan("q", *args, source_hu=v.hu)
    agg = aggregate([scored, flat])["change"]
    assert agg["enhancement"]["aorta"]["captured"] == {"mean": 1.0, "std": 0.0, "n": 1}
    assert agg["made_up"]["percent"]["n"] == 2
    with pytest.raises(ValueError, match="shapes differ"):
        evaluate_scan("p", *args, source_hu=source[:2])


def test_a_thin_bowel_wall_is_eroded_by_one_pixel_only():
    labels = np.zeros((1, 20, 20), np.int16)
    labels[0, 5:8, 2:18] = 1  # a wall 3 px thick: 2 px of erosion would leave nothing
    nc = np.where(labels == 1, 40.0, -100.0)
    ce = nc + 50.0 * (labels == 1)
    out = change_metrics(ce, ce, nc, labels, np.zeros_like(labels), {"bowel": 1},
                         np.ones(labels.shape, bool))["enhancement"]["bowel_wall"]
    assert out["captured"] == 1.0 and out["voxels"] == 14  # the middle row, ends eroded
