"""ROC AUC equals the Mann-Whitney U statistic (ties 1/2); the ROC curve is a proper curve."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from ctbridge.qc.metrics import rate_interval, roc_auc, roc_curve


def test_auc_is_mann_whitney_u_with_ties():
    rng = np.random.default_rng(0)
    real = rng.integers(0, 10, 40) / 10.0  # many ties
    art = rng.integers(3, 13, 30) / 10.0
    u = mannwhitneyu(art, real).statistic
    assert roc_auc(real, art) == pytest.approx(u / (len(real) * len(art)), abs=1e-6)


def test_auc_extremes_and_empty():
    assert roc_auc([0.1, 0.2], [0.8, 0.9]) == 1.0
    assert roc_auc([0.8, 0.9], [0.1, 0.2]) == 0.0
    assert roc_auc([0.5, 0.5], [0.5]) == 0.5
    assert math.isnan(roc_auc([], [0.3]))


def test_roc_curve_runs_from_origin_to_one_and_is_monotone():
    fpr, tpr = roc_curve([0.1, 0.4, 0.35], [0.8, 0.35, 0.9])
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc([0.1, 0.4, 0.35], [0.8, 0.35, 0.9]))


def test_rate_interval_is_clopper_pearson():
    low, high = rate_interval(np.zeros(10, bool))  # none of 10: [0, 1 - 0.025 ** (1 / 10)]
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** 0.1)
    low, high = rate_interval(np.ones(10, bool))
    assert low == pytest.approx(0.025 ** 0.1) and high == 1.0
    low, high = rate_interval([True] * 5 + [False] * 91)  # 5.2% of 96 slices
    assert low < 0.02 and high > 0.11  # a true 5% can read 1-10% on two patients' slices
    assert all(math.isnan(v) for v in rate_interval([]))
