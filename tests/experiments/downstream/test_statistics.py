"""Paired comparisons: bootstrap CIs over patients and the Wilcoxon test over folds, against
cases whose answer is known."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.stats import wilcoxon

from ctbridge.experiments.downstream.metrics import VoxelCounts, organ_scores
from ctbridge.experiments.downstream.plaque import PlaqueCounts
from ctbridge.experiments.downstream.results import RowResult
from ctbridge.experiments.downstream.sizes import SizeCounts
from ctbridge.experiments.downstream.statistics import (
    compare_rows,
    count_vector,
    from_vector,
    paired_bootstrap,
    smallest_p,
    wilcoxon_p,
)


def _rate(v: np.ndarray) -> dict[str, float]:
    return {"rate": v[0] / v[1] if v[1] else math.nan}


def test_a_clear_difference_has_a_ci_that_excludes_zero():
    rng = np.random.default_rng(1)
    hits_a = rng.integers(8, 11, 20)          # 80-100% per patient
    hits_b = rng.integers(3, 6, 20)           # 30-50%
    a = np.stack([hits_a, np.full(20, 10)], 1)
    b = np.stack([hits_b, np.full(20, 10)], 1)
    ci = paired_bootstrap(a, b, _rate, resamples=2000, seed=0)["rate"]
    assert ci.observed == pytest.approx((hits_a.sum() - hits_b.sum()) / 200)
    assert 0 < ci.low < ci.observed < ci.high
    assert ci.undefined == 0


def test_no_difference_on_average_has_a_ci_that_includes_zero():
    hits = np.array([6, 4, 5, 7, 3, 5, 6, 4])
    a = np.stack([hits, np.full(8, 10)], 1)
    b = np.stack([hits[::-1], np.full(8, 10)], 1)  # the same numbers on other patients
    ci = paired_bootstrap(a, b, _rate, resamples=2000, seed=0)["rate"]
    assert ci.observed == 0 and ci.low < 0 < ci.high


def test_the_same_resample_serves_both_rows():
    """Identical rows differ by exactly 0 in every resample (independent resamples would not)."""
    a = np.array([[1, 10], [9, 10], [5, 10], [2, 10]])
    ci = paired_bootstrap(a, a.copy(), _rate, resamples=500, seed=3)["rate"]
    assert (ci.observed, ci.low, ci.high) == (0, 0, 0)


def test_bootstrap_is_seeded_and_counts_undefined_resamples():
    a = np.array([[1, 1], [0, 0], [0, 0]])  # one patient with a lesion, two without
    b = np.array([[0, 1], [0, 0], [0, 0]])
    first = paired_bootstrap(a, b, _rate, resamples=400, seed=7)["rate"]
    assert first == paired_bootstrap(a, b, _rate, resamples=400, seed=7)["rate"]
    # P(resample misses the lesion patient) = (2/3)^3 -> about 30% undefined, left out
    assert 60 < first.undefined < 180 and first.low == first.high == 1.0


def test_wilcoxon_against_scipy_and_hand_counts():
    a = [0.51, 0.62, 0.70, 0.85, 0.90]
    b = [0.40, 0.50, 0.72, 0.70, 0.80]
    # differences +.11 +.12 -.02 +.15 +.10: the one negative has rank 1 -> W- = 1; exact
    # two-sided p = 2 * P(W- <= 1) = 2 * 2/32
    assert wilcoxon_p(a, b) == pytest.approx(0.125)
    assert wilcoxon_p(a, b) == pytest.approx(wilcoxon(a, b).pvalue)
    same_sign = [x + 0.1 for x in b]
    assert wilcoxon_p(same_sign, b) == pytest.approx(smallest_p(5)) == pytest.approx(0.0625)
    assert wilcoxon_p(b, b) == 1.0
    assert wilcoxon_p([0.5, math.nan, None], [0.4, 0.3, 0.2]) == 1.0  # one pair left: no test
    assert math.isnan(wilcoxon_p([math.nan], [0.1]))


def test_count_vectors_round_trip_a_nested_counts_tree():
    counts = dataclasses.asdict(PlaqueCounts(sizes=SizeCounts([1, 2], [1, 0], [0.5, 0.0])))
    vector = count_vector(counts)
    assert len(vector) == 4 + 4 + 6
    assert from_vector(counts, vector) == counts


class _Voxels:
    """The parts of an experiment that the comparisons use (pancreas-like)."""

    compared_metrics = ("dice",)

    def counts_from_dict(self, data):
        return VoxelCounts(**data)

    def summarise(self, counts):
        return organ_scores(counts)


def _row(key: str, tp: list[int], folds: int = 2) -> RowResult:
    patients = [f"p{i}" for i in range(len(tp))]
    out = []
    for k in range(folds):
        mine = patients[k::folds]
        counts = {p: dataclasses.asdict(VoxelCounts(tp[int(p[1:])], 2, 10 - tp[int(p[1:])], 1))
                  for p in mine}
        pooled = VoxelCounts(*(sum(c[f] for c in counts.values())
                               for f in ("tp", "fp", "fn", "scans")))
        test = {"dice": organ_scores(pooled)["dice"]}
        out.append({"fold": k, "test": {"nc": test, "ce": test},
                    "patient_counts": {"nc": counts, "ce": counts}})
    return RowResult(key, key, folds=out)


def test_compare_rows_makes_the_configured_pairs_and_skips_rows_that_did_not_run():
    rows = [_row("baseline", [2, 3, 2, 4, 3, 2]), _row("gmm_unit", [8, 9, 7, 9, 8, 9]),
            RowResult("unit", "unit", status="skipped")]
    out = compare_rows(_Voxels(), rows, [("gmm_unit", "baseline"), ("gmm_unit", "unit")],
                       resamples=300, seed=0, folds=2)
    assert [(c.row, c.against, c.domain, c.metric) for c in out.results] == [
        ("gmm_unit", "baseline", "nc", "dice"), ("gmm_unit", "baseline", "ce", "dice")]
    first = out.results[0]
    assert first.patients == 6 and first.folds == 2 and first.ci_low > 0
    # all patients pooled: tp 50 vs 16 of 60 truth voxels, 12 fp each
    assert first.difference == pytest.approx(100 / 122 - 32 / 88)
    assert first.p_wilcoxon == pytest.approx(0.5)  # 2 folds: the smallest possible p
    assert out.skipped == ["gmm_unit vs unit: not compared (unit did not run)"]
    data = out.to_dict()
    assert data["smallest_possible_p"] == 0.5 and len(data["results"]) == 2
    table = "\n".join(out.markdown({"dice": "Dice"}))
    assert "| gmm_unit vs baseline | CE | Dice | +0.456 |" in table
    assert "smallest possible p is 0.5" in table and "- gmm_unit vs unit: not compared" in table
