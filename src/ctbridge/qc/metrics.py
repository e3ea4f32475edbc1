"""ROC AUC and ROC curve of artefact scores: real slices are negatives, artefacts positives.

The AUC is MONAI's ``compute_roc_auc`` (ties count one half, as the Mann-Whitney U statistic);
the curve is computed here for the figure.

Example:
    >>> roc_auc([0.1, 0.4], [0.35, 0.8])
    0.75
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch


def roc_auc(real: Sequence[float] | np.ndarray, artefact: Sequence[float] | np.ndarray) -> float:
    """P(score of an artefact slice > score of a real slice), ties counting 1/2; NaN if empty."""
    from monai.metrics import compute_roc_auc

    neg, pos = np.asarray(real, np.float64).ravel(), np.asarray(artefact, np.float64).ravel()
    if neg.size == 0 or pos.size == 0:
        return float("nan")
    y_pred = torch.from_numpy(np.concatenate([neg, pos]))
    y = torch.cat([torch.zeros(neg.size), torch.ones(pos.size)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(compute_roc_auc(y_pred, y))


def keep_threshold(real: Sequence[float] | np.ndarray, keep: float) -> float:
    """The smallest score at or below which ``keep`` of these real slices lie: the rejection
    threshold (a slice is rejected when its score is above it).

    >>> keep_threshold([0.1, 0.2, 0.3, 0.4], 0.75)
    0.3
    """
    scores = np.asarray(real, np.float64).ravel()
    if scores.size == 0:
        raise ValueError("a threshold needs at least one real slice score")
    return float(np.quantile(scores, keep, method="inverted_cdf"))


def rate_interval(flags: Sequence[bool] | np.ndarray, confidence: float = 0.95
                  ) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a rejection rate read on these slices.

    Why: a false-alarm rate read on a few patients' slices is a small binomial sample; on 96
    slices a true 5% reads anywhere from 1% to 10% (and slices of one patient are not even
    independent), so a report shows the interval beside the rate.

    >>> [round(v, 3) for v in rate_interval([True] * 5 + [False] * 91)]
    [0.017, 0.117]
    """
    from scipy.stats import binomtest

    flags = np.asarray(flags, bool).ravel()
    if flags.size == 0:
        return float("nan"), float("nan")
    ci = binomtest(int(flags.sum()), int(flags.size)).proportion_ci(confidence, "exact")
    return float(ci.low), float(ci.high)


def cross_validated_false_alarms(scores: Mapping[str, np.ndarray], keep: float, folds: int,
                                 seed: int = 0) -> tuple[float, list[float]]:
    """(pooled rate, rate per fold) of real slices rejected when each group of patients is
    judged by a threshold calibrated on all the other patients' slices.

    Why per patient: slices of one patient are alike, so a QC's false alarms come in patient-
    sized clumps; two held-out patients say little, every patient held out once says more.

    >>> rate, per_fold = cross_validated_false_alarms(
    ...     {"a": np.array([0.1, 0.2]), "b": np.array([0.1, 0.2]), "c": np.array([0.9, 0.9])},
    ...     keep=0.5, folds=3)
    >>> round(rate, 3), sorted(per_fold)
    (0.333, [0.0, 0.0, 1.0])
    """
    from ctbridge.data.sources import split_patients

    names = sorted(scores)
    if len(names) < 2:
        raise ValueError("cross-validation needs at least two patients")
    per_fold, rejected, total = [], 0, 0
    for group in split_patients(names, min(folds, len(names)), seed):
        rest = np.concatenate([scores[n] for n in names if n not in group])
        judged = np.concatenate([scores[n] for n in group])
        flags = judged > keep_threshold(rest, keep)
        per_fold.append(float(flags.mean()))
        rejected, total = rejected + int(flags.sum()), total + flags.size
    return rejected / total, per_fold


def roc_curve(real: Sequence[float] | np.ndarray, artefact: Sequence[float] | np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate) over every threshold, from (0, 0) to (1, 1)."""
    neg, pos = np.asarray(real, np.float64).ravel(), np.asarray(artefact, np.float64).ravel()
    if neg.size == 0 or pos.size == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    thresholds = np.unique(np.concatenate([neg, pos]))[::-1]
    fpr = (neg[None, :] >= thresholds[:, None]).mean(1)
    tpr = (pos[None, :] >= thresholds[:, None]).mean(1)
    return np.concatenate([[0.0], fpr, [1.0]]), np.concatenate([[0.0], tpr, [1.0]])
