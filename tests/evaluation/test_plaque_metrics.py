"""Fine-structure metrics on a synthetic vessel with hand-computed answers (see synthetic.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ctbridge.evaluation.plaque_metrics import (
    PlaqueRules,
    agatston_score,
    calcium_mask,
    density_weight,
    dice,
    false_calcifications,
    plaque_metrics,
    vessel_roi,
)
from tests.evaluation.synthetic import (
    AORTA,
    ILIAC,
    LUMEN_HU,
    PLAQUE_Z,
    SHAPE,
    SPACING,
    WALL_HU,
    Vessel,
    lumen_disk,
    make_vessel,
    plaque_index,
)

LUMEN = [AORTA, ILIAC]
LESION_4PX = 4 * 0.49 * 4  # 2 x 2 px at 0.7 mm, weight 4 (600 HU): 7.84


def run(pred, vessel, **rules):
    return plaque_metrics(pred, vessel.hu, vessel.plaques, vessel.labels, LUMEN, SPACING,
                          PlaqueRules(**rules))


def test_identical_keeps_everything():
    v = make_vessel()
    m = run(v.copy_hu(), v)
    assert m["plaques"] == 3
    assert m["recall_pred"] == m["recall_truth"] == m["recall_relative"] == 1.0
    assert m["false_calcifications_pred"] == m["false_calcifications_truth"] == 0
    assert m["calcium_dice"] == 1.0
    assert m["calcium_voxels_truth"] == 12
    assert m["contrast_hu_truth"] == pytest.approx(600 - 300)
    assert m["peak_rel_error_median"] == 0.0
    assert m["calcified_pred"] == m["calcified_truth"] == 1.0
    assert m["agatston"]["score_truth"] == pytest.approx(3 * LESION_4PX)  # 23.52
    assert m["agatston"]["lesions_truth"] == 3
    assert m["agatston"]["error"] == pytest.approx(0.0)
    row = m["table"][0]
    assert row == {"id": 1, "size_voxels": 4, "peak_hu_truth": 600.0, "peak_hu_pred": 600.0,
                   "lumen_median_truth": 300.0, "lumen_median_pred": 300.0,
                   "kept_truth": True, "kept_pred": True}


def test_plaque_erased_to_lumen_hu():
    v = make_vessel()
    pred = v.copy_hu()
    pred[plaque_index(1)] = LUMEN_HU  # the plaque melts into the contrast-filled lumen
    m = run(pred, v)
    assert m["recall_pred"] == pytest.approx(2 / 3)
    assert m["recall_truth"] == 1.0
    assert m["recall_relative"] == pytest.approx(2 / 3)
    assert [r["kept_pred"] for r in m["table"]] == [False, True, True]
    # peaks 300/600/600 against 600 each: errors 0.5, 0, 0 -> median 0; all still >= 130 HU
    assert m["peak_rel_error_median"] == 0.0
    assert m["calcified_pred"] == 1.0
    assert m["table"][0]["peak_hu_pred"] == LUMEN_HU
    # row 13 touches the lumen (its rim): 300 HU < lumen 300 + 50, not calcium; row 12 at
    # 300 HU is >= 130 HU and outside the rim: still calcium. 10 of 12 voxels: Dice 20/22
    assert m["calcium_dice"] == pytest.approx(2 * 10 / (10 + 12))
    assert m["false_calcifications_pred"] == 0  # row 12 lies on the plaque
    # the 2 px left are 0.98 mm² < 1 mm²: no lesion; 23.52 -> 15.68
    ag = m["agatston"]
    assert ag["score_pred"] == pytest.approx(2 * LESION_4PX)
    assert ag["error"] == pytest.approx(-LESION_4PX)
    assert ag["rel_error"] == pytest.approx(1 / 3)


def test_plaque_erased_to_wall_hu():
    v = make_vessel()
    pred = v.copy_hu()
    pred[plaque_index(1)] = WALL_HU
    m = run(pred, v)
    assert m["recall_pred"] == pytest.approx(2 / 3)
    # the 1-px peak search reaches the 300 HU lumen: the peak is still >= 130 HU
    assert m["calcified_pred"] == 1.0


def test_calcified_share_in_a_non_contrast_vessel():
    v = make_vessel()
    v.hu[:, lumen_disk()] = WALL_HU  # non-contrast: lumen 40 HU like the wall
    pred = v.copy_hu()
    pred[plaque_index(1)] = WALL_HU  # erased: nothing >= 130 HU left near it
    m = run(pred, v)
    assert m["calcified_truth"] == 1.0
    assert m["calcified_pred"] == pytest.approx(2 / 3)
    assert m["calcium_dice"] == pytest.approx(2 * 8 / (8 + 12))
    assert m["agatston"]["score_pred"] == pytest.approx(2 * LESION_4PX)
    assert m["false_calcifications_pred"] == 0


def test_plaque_dimmed_below_the_margin():
    v = make_vessel()
    pred = v.copy_hu()
    pred[plaque_index(2)] = 320.0  # >= 130 HU, but only 20 HU above the 300 HU lumen
    m = run(pred, v, margin_hu=50)
    assert m["calcified_pred"] == 1.0  # still >= 130 HU, although not kept
    assert [r["kept_pred"] for r in m["table"]] == [True, False, True]
    assert m["recall_pred"] == pytest.approx(2 / 3)
    assert m["contrast_hu_pred"] == pytest.approx((300 + 20 + 300) / 3)
    assert run(pred, v, margin_hu=10)["recall_pred"] == 1.0


def test_without_adjacent_lumen_only_130_hu_counts():
    v = make_vessel()
    pred = v.copy_hu()
    pred[plaque_index(2)] = 140.0
    pred[plaque_index(3)] = 120.0
    # no lumen labels; search_px=0 because the unlabelled 300 HU disk touches plaque 3
    m = plaque_metrics(pred, v.hu, v.plaques, v.labels, [], SPACING, PlaqueRules(search_px=0))
    assert [r["kept_pred"] for r in m["table"]] == [True, True, False]
    assert m["table"][0]["lumen_median_pred"] is None


def single_pixel_vessel():
    """One 1-px plaque just above the lumen at (z=1, y=13, x=20)."""
    hu = np.full(SHAPE, WALL_HU, np.float32)
    labels = np.zeros(SHAPE, np.int32)
    disk = lumen_disk()
    hu[:, disk], labels[:, disk] = LUMEN_HU, AORTA
    plaques = np.zeros(SHAPE, np.int32)
    hu[PLAQUE_Z, 13, 20], plaques[PLAQUE_Z, 13, 20] = 600.0, 1
    return hu, labels, plaques


def test_plaque_shifted_by_one_pixel_is_kept_within_the_search_tolerance():
    """Rule: the peak is searched within search_px (default 1) of the plaque, so a 1-px shift
    is kept and is not a false calcification; with search_px=0 the same shift loses it."""
    hu, labels, plaques = single_pixel_vessel()
    pred = hu.copy()
    pred[PLAQUE_Z, 13, 20] = WALL_HU
    pred[PLAQUE_Z, 12, 20] = 600.0  # moved one pixel outward, away from the lumen
    m = plaque_metrics(pred, hu, plaques, labels, LUMEN, SPACING)
    assert m["recall_pred"] == 1.0
    assert m["false_calcifications_pred"] == 0  # touches the 1-px dilated plaque
    assert m["calcium_dice"] == 0.0  # voxel-wise the calcium moved entirely
    strict = plaque_metrics(pred, hu, plaques, labels, LUMEN, SPACING, PlaqueRules(search_px=0))
    assert strict["recall_pred"] == 0.0


def test_two_by_two_plaque_shifted_by_one_pixel_overlaps_and_is_kept_even_strictly():
    v = make_vessel()
    pred = v.copy_hu()
    pred[plaque_index(1)] = WALL_HU
    pred[PLAQUE_Z, 11:13, 19:21] = 600.0  # rows 12-13 -> 11-12: row 12 still overlaps
    m = run(pred, v, search_px=0)
    assert m["recall_pred"] == 1.0
    assert m["calcium_dice"] == pytest.approx(2 * 10 / (12 + 12))


def test_false_calcification_in_the_wall():
    v = make_vessel()
    pred = v.copy_hu()
    pred[PLAQUE_Z, 20:22, 28] = 500.0  # 2 px right of the lumen, far from every plaque
    m = run(pred, v)
    assert m["false_calcifications_pred"] == 1
    assert m["false_calcifications_truth"] == 0
    assert m["calcium_dice"] == pytest.approx(2 * 12 / (12 + 14))  # 24/26 = 0.923
    assert m["precision_pred"] == pytest.approx(3 / 4)
    assert m["recall_pred"] == 1.0
    # the 2-px lesion is 0.98 mm² < 1 mm²: not scored; with a 0.5 mm² minimum it scores 0.98 x 3
    assert m["agatston"]["score_pred"] == pytest.approx(3 * LESION_4PX)
    small = run(pred, v, min_area_mm2=0.5)["agatston"]
    assert small["score_pred"] == pytest.approx(3 * LESION_4PX + 0.98 * 4)
    assert small["lesions_pred"] == 4


def test_partial_volume_rim_of_the_lumen():
    """A wall voxel touching the lumen, at 170 HU, is half lumen in a contrast phase (not
    calcium: below lumen median 300 + 50) but calcium in a non-contrast scan (lumen 40 HU)."""
    v = make_vessel()
    pred = v.copy_hu()
    pred[PLAQUE_Z, 20, 27] = 170.0  # lumen edge at x = 26
    assert run(pred, v)["false_calcifications_pred"] == 0
    nc_truth = np.where(v.hu == LUMEN_HU, WALL_HU, v.hu).astype(np.float32)
    nc_pred = nc_truth.copy()
    nc_pred[PLAQUE_Z, 20, 27] = 170.0
    m = plaque_metrics(nc_pred, nc_truth, v.plaques, v.labels, LUMEN, SPACING)
    assert m["false_calcifications_pred"] == 1 and m["false_calcifications_truth"] == 0


def test_excluded_structures_and_their_partial_volume_rim_leave_the_roi():
    v = make_vessel()
    bone = 7
    labels = v.labels.copy()
    labels[:, 20:23, 30:34] = bone  # a bone right of the lumen (edge x = 26), beyond the ROI
    truth = v.copy_hu()
    truth[labels == bone] = 700.0
    truth[:, 20:23, 29] = 250.0  # its partial-volume rim, labelled wall; (20, 29) is in the ROI
    pred = truth.copy()
    assert run(pred, Vessel(truth, v.labels, v.plaques))["false_calcifications_truth"] == 1
    m = plaque_metrics(pred, truth, v.plaques, labels, LUMEN, SPACING, exclude_ids=[bone])
    assert m["false_calcifications_truth"] == 0 and m["calcium_voxels_truth"] == 12


def test_calcium_outside_the_roi_is_ignored():
    v = make_vessel()
    pred = v.copy_hu()
    pred[PLAQUE_Z, 2:4, 2:4] = 900.0  # far from the vessel (> 3 px)
    pred[PLAQUE_Z, 18:22, 18:22] = 900.0  # inside the lumen
    m = run(pred, v)
    assert m["false_calcifications_pred"] == 0 and m["calcium_dice"] == 1.0


def test_agatston_of_known_lesions():
    volume = np.zeros((1, 10, 10), np.float32)
    volume[0, 2, 2:5] = [180.0, 250.0, 180.0]  # 3 px = 1.47 mm², peak 250 -> weight 2
    volume[0, 7, 7] = 1000.0  # 1 px = 0.49 mm² < 1 mm²: not a lesion
    roi = np.ones(volume.shape, bool)
    calcium = calcium_mask(volume, roi)
    score = agatston_score(volume, calcium, pixel_area_mm2=0.49, min_area_mm2=1.0)
    assert score.lesions == 1
    assert score.score == pytest.approx(1.47 * 2)
    # a diagonal neighbour joins the lesion (8-connectivity): 4 px, weight still 2
    volume[0, 3, 5] = 150.0
    assert agatston_score(volume, calcium_mask(volume, roi), 0.49).score == pytest.approx(
        4 * 0.49 * 2)


@pytest.mark.parametrize(("peak", "weight"), [(129.9, 0), (130, 1), (199.9, 1), (200, 2),
                                              (399, 3), (400, 4), (1500, 4)])
def test_density_weight(peak, weight):
    assert density_weight(peak) == weight


def test_roi_excludes_lumen_and_reaches_roi_px():
    v = make_vessel()
    lumen = np.isin(v.labels, LUMEN) & (v.plaques == 0)
    roi = vessel_roi(lumen, v.plaques, roi_px=3)
    assert not (roi & lumen).any()
    assert roi[PLAQUE_Z][v.plaques[PLAQUE_Z] > 0].all()
    assert roi[0, 20, 29] and not roi[0, 20, 30]  # lumen edge at x = 26


def test_helpers():
    a = np.zeros((2, 4, 4), bool)
    assert dice(a, a) == 1.0
    plaques = np.zeros((2, 4, 4), np.int32)
    assert false_calcifications(a, plaques) == 0
    assert math.isnan(plaque_metrics(np.zeros((2, 4, 4)), np.zeros((2, 4, 4)), plaques,
                                     plaques, LUMEN, SPACING)["recall_pred"])


def test_median_peak_error_over_plaques():
    v = make_vessel()
    pred = v.copy_hu()
    pred[plaque_index(1)] = 300.0  # error 0.5
    pred[plaque_index(2)] = 450.0  # error 0.25
    pred[plaque_index(3)] = 660.0  # error 0.1 (too bright counts too)
    m = run(pred, v)
    assert m["peak_rel_error_median"] == pytest.approx(0.25)
