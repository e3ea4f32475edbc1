"""ROC AUC equals the Mann-Whitney U statistic (ties 1/2); the ROC curve is a proper curve."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from ctbridge.qc.metrics import roc_auc, roc_curve


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
