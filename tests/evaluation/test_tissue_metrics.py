"""Lumen and fat shifts and the liver texture ratio against hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ctbridge.evaluation.tissue_metrics import erode_inplane, tissue_metrics

IDS = {"background": 0, "fat": 1, "liver": 2, "aorta": 3, "iliac": 4}


def _scene():
    """One slice 40 x 60: fat (left), liver (middle), aorta lumen disk with a plaque (right)."""
    labels = np.zeros((2, 40, 60), np.int16)
    labels[:, 5:35, 2:18] = IDS["fat"]
    labels[:, 5:35, 20:38] = IDS["liver"]
    yy, xx = np.mgrid[:40, :60]
    disk = (yy - 20) ** 2 + (xx - 49) ** 2 <= 8**2
    labels[:, disk] = IDS["aorta"]
    plaques = np.zeros_like(labels, dtype=np.int32)
    plaques[:, 12:14, 48:50] = 1  # on the lumen's upper rim
    truth = np.select([labels == IDS["fat"], labels == IDS["liver"], labels == IDS["aorta"]],
                      [-100.0, 60.0, 300.0], 40.0)
    truth[plaques > 0] = 800.0
    rng = np.random.default_rng(0)
    truth = truth + rng.normal(0, 10.0, truth.shape)  # liver std 10 HU
    return truth.astype(np.float32), labels, plaques


def test_untranslated_truth_scores_zero_shift_and_unit_texture():
    truth, labels, plaques = _scene()
    out = tissue_metrics(truth, truth, labels, plaques, IDS)
    assert out["lumen"]["shift_hu"] == 0.0 and out["fat"]["shift_hu"] == 0.0
    assert out["texture"]["ratio"] == 1.0
    assert out["texture"]["std_truth"] == pytest.approx(10.0, rel=0.1)


def test_shifts_and_texture_ratio_are_measured_per_region():
    truth, labels, plaques = _scene()
    pred = truth.copy()
    pred[labels == IDS["aorta"]] -= 255.0  # lumen left unenhanced
    pred[labels == IDS["fat"]] += 12.0  # brightened fat
    liver = labels == IDS["liver"]
    stripes = np.where(np.arange(60) % 2 == 0, 20.0, -20.0)[None, None, :]
    pred = np.where(liver, pred + stripes, pred)  # a +-20 HU stripe pattern in the liver
    out = tissue_metrics(pred, truth, labels, plaques, IDS)
    assert out["lumen"]["shift_hu"] == pytest.approx(-255.0, abs=1e-3)
    assert out["fat"]["shift_hu"] == pytest.approx(12.0, abs=1e-3)
    # std of (noise + independent +-20 stripes) = sqrt(10^2 + 20^2)
    assert out["texture"]["ratio"] == pytest.approx(math.sqrt(500) / 10, rel=0.08)


def test_plaque_neighbourhood_and_region_edges_are_left_out():
    truth, labels, plaques = _scene()
    pred = truth.copy()
    pred[plaques > 0] = -1000.0  # an erased plaque must not move the lumen median
    edge = (labels == IDS["fat"]) & ~erode_inplane(labels == IDS["fat"], 2)
    pred[edge] += 500.0  # partial volume at the fat's border is not fat
    out = tissue_metrics(pred, truth, labels, plaques, IDS)
    assert out["lumen"]["shift_hu"] == 0.0
    assert out["fat"]["shift_hu"] == 0.0


def test_missing_regions_give_nan_and_shapes_are_checked():
    truth, labels, plaques = _scene()
    out = tissue_metrics(truth, truth, labels, plaques, {"aorta": 3})
    assert math.isnan(out["fat"]["shift_hu"]) and math.isnan(out["texture"]["ratio"])
    with pytest.raises(ValueError, match="shapes differ"):
        tissue_metrics(truth[:1], truth, labels, plaques, IDS)


def test_a_dotted_lumen_has_the_right_median_but_not_the_right_texture():
    truth, labels, plaques = _scene()
    pred = truth.copy()
    lumen = labels == IDS["aorta"]
    yy, xx = np.mgrid[:40, :60]
    dots = ((yy % 4 == 0) & (xx % 4 == 0))[None]  # one pixel in 16 darkened by 300 HU
    pred[lumen & dots] -= 300.0
    out = tissue_metrics(pred, truth, labels, plaques, IDS)
    assert abs(out["lumen"]["shift_hu"]) < 5.0  # the median barely notices
    # std of 10 HU noise plus a 1/16 share of -300 HU dots: sqrt(100 + 300^2 * 15/256)
    expected = math.sqrt(100 + 300**2 * 15 / 256) / 10
    assert out["lumen_texture"]["ratio"] == pytest.approx(expected, rel=0.15)
    assert tissue_metrics(truth, truth, labels, plaques, IDS)["lumen_texture"]["ratio"] == 1.0
