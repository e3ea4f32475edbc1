"""Plaques by size: bins, per-plaque detection and lesion-wise Dice against hand-made arrays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ctbridge.config import load_config
from ctbridge.errors import ConfigError
from ctbridge.experiments.downstream.config import PlaqueConfig
from ctbridge.experiments.downstream.plaque import PlaqueCounts
from ctbridge.experiments.downstream.sizes import SizeCounts, bin_labels, size_counts, size_scores


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """Four plaques of 1, 3, 4 and 12 voxels and a prediction worked out by hand:

    * plaque 1 (1 voxel): missed -> Dice 0;
    * plaque 2 (3 voxels): one component of 3 voxels, 2 on it -> 2*2 / (3 + 3);
    * plaque 3 (4 voxels over two slices): predicted exactly -> 1;
    * plaque 4 (12 voxels): two components of 2 voxels each touch it (3 voxels on it) ->
      2*3 / (12 + 4); a false positive elsewhere counts for no plaque.
    """
    truth = np.zeros((2, 12, 12), np.int32)
    pred = np.zeros(truth.shape, bool)
    truth[0, 0, 0] = 1
    truth[0, 0, 4:7] = 2
    pred[0, 0, 4:6] = pred[0, 1, 4] = True
    truth[0:2, 10, 10:12] = 3
    pred[0:2, 10, 10:12] = True
    truth[1, 5:8, 0:4] = 4
    pred[1, 5, 0:2] = True
    pred[1, 7:9, 3] = True
    pred[0, 11, 0] = True
    return pred, truth


def test_size_counts_hand_computed():
    pred, truth = _scene()
    c = size_counts(pred, truth, [3, 10])
    assert c.n == [2, 1, 1] and c.detected == [1, 1, 1]
    assert c.dice_sum == pytest.approx([4 / 6, 1.0, 6 / 16])
    s = size_scores(c, bin_labels([3, 10]))
    assert s["1-3"] == {"plaques": 2, "detected": 1, "recall": 0.5,
                        "dice": pytest.approx(2 / 6)}
    assert s["4-10"]["recall"] == 1 and s[">10"]["dice"] == pytest.approx(6 / 16)


def test_bin_edges_are_upper_and_inclusive():
    truth = np.zeros((1, 4, 40), np.int32)
    truth[0, 0, 0:3] = 1      # 3 voxels -> 1-3
    truth[0, 1, 0:4] = 2      # 4 -> 4-10 (touches plaque 1, ids keep them apart)
    truth[0, 2, 0:10] = 3     # 10 -> 4-10
    truth[0, 3, 0:11] = 4     # 11 -> >10
    c = size_counts(np.zeros(truth.shape, bool), truth, [3, 10])
    assert c.n == [1, 2, 1] and c.detected == [0, 0, 0] and c.dice_sum == [0, 0, 0]


def test_one_component_on_two_plaques_counts_for_both():
    truth = np.zeros((1, 3, 8), np.int32)
    truth[0, 1, 1] = 1
    truth[0, 1, 5] = 2
    pred = np.zeros(truth.shape, bool)
    pred[0, 1, 1:6] = True    # 5 voxels, 1 on each plaque: Dice 2 / (1 + 5) for each
    c = size_counts(pred[0], truth[0], [3])  # 2D input
    assert c.n == [2, 0] and c.detected == [2, 0]
    assert c.dice_sum[0] == pytest.approx(2 * 2 / 6)


def test_no_plaques_give_zero_counts_and_undefined_scores():
    empty = np.zeros((2, 4, 4), np.int32)
    c = size_counts(empty > 0, empty, [3, 10])
    assert c == SizeCounts([0, 0, 0], [0, 0, 0], [0.0, 0.0, 0.0])
    s = size_scores(c, bin_labels([3, 10]))
    assert np.isnan(s["1-3"]["recall"]) and np.isnan(s[">10"]["dice"])


def test_counts_add_and_round_trip_through_json_form():
    pred, truth = _scene()
    c = size_counts(pred, truth, [3, 10])
    total = SizeCounts() + c + c
    assert total.n == [4, 2, 2] and total.dice_sum == pytest.approx([8 / 6, 2.0, 12 / 16])
    with pytest.raises(ValueError, match="size bins differ"):
        c + SizeCounts([1], [0], [0.0])
    plaque = PlaqueCounts(sizes=c)
    assert PlaqueCounts.from_dict(dataclasses.asdict(plaque)) == plaque


def test_bin_labels():
    assert bin_labels([3, 10]) == ("1-3", "4-10", ">10")
    assert bin_labels([1, 3]) == ("1", "2-3", ">3")
    assert bin_labels([]) == ("all",)


def test_size_bins_must_increase():
    assert load_config(PlaqueConfig, "experiment_plaque").size_bins == [3, 10]
    for bad in ("[10, 3]", "[0, 5]", "[3, 3]"):
        with pytest.raises(ConfigError, match="size_bins"):
            load_config(PlaqueConfig, "experiment_plaque", overrides=[f"size_bins={bad}"])
