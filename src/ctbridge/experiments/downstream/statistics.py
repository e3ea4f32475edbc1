"""Paired comparisons of two rows of a downstream table: is their difference more than chance?

Two rows are scored on the same test patients in the same folds, so their difference is paired:

* **bootstrap over test patients**: resample the test patients with replacement (the same
  resample for both rows), pool each row's per-patient counts over the resample, compute the
  metric, take the difference; the 2.5 and 97.5 percentiles of the resampled differences are a
  95% CI. Pooling counts before dividing is how the table's fold scores are made, so a patient
  with many plaques weighs more than one with none. The observed difference pools all patients.
* **Wilcoxon signed-rank test over folds** (two-sided) on the two rows' per-fold metric. It
  needs many folds: with k folds the smallest possible p is 2 / 2**k (0.0625 for 5 folds).

Example:
    >>> import numpy as np
    >>> a = np.array([[9, 10], [8, 10], [10, 10]])  # per patient: (hits, total)
    >>> b = np.array([[5, 10], [4, 10], [6, 10]])
    >>> ci = paired_bootstrap(a, b, lambda v: {"rate": v[0] / v[1]}, resamples=200)["rate"]
    >>> round(ci.observed, 2), ci.low > 0
    (0.4, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import wilcoxon

from ctbridge.experiments.downstream.experiment import Experiment
from ctbridge.experiments.downstream.results import DOMAIN_TITLES, TEST_DOMAINS, RowResult

CI_LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """An observed paired difference and its bootstrap percentile interval."""

    observed: float
    low: float
    high: float
    undefined: int  # resamples where either row's metric was undefined (left out)


@dataclass(frozen=True)
class Comparison:
    """``row`` minus ``against`` for one test domain and metric."""

    row: str
    against: str
    domain: str
    metric: str
    difference: float
    ci_low: float
    ci_high: float
    patients: int
    undefined_resamples: int
    p_wilcoxon: float
    folds: int


def count_vector(tree: Any) -> list[float]:
    """The numbers of a counts tree (dicts by sorted key, lists in order), flattened."""
    if isinstance(tree, Mapping):
        return [v for key in sorted(tree) for v in count_vector(tree[key])]
    if isinstance(tree, list | tuple):
        return [v for item in tree for v in count_vector(item)]
    return [float(tree)]


def from_vector(template: Any, values: Sequence[float]) -> Any:
    """A tree shaped like ``template`` holding ``values`` (inverse of :func:`count_vector`)."""
    it = iter(values)

    def build(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {key: build(node[key]) for key in sorted(node)}
        if isinstance(node, list | tuple):
            return [build(item) for item in node]
        return next(it)

    return build(template)


def paired_bootstrap(a: np.ndarray, b: np.ndarray,
                     metrics: Callable[[np.ndarray], Mapping[str, float]], *,
                     resamples: int = 2000, seed: int = 0) -> dict[str, Interval]:
    """Bootstrap CI of ``metrics(pooled a) - metrics(pooled b)`` over patients (module doc).

    Args:
        a, b: per-patient count vectors ``(patients, counts)`` of the two rows, same patients
            in the same order.
        metrics: pooled count vector -> metric name -> value (NaN: undefined).
        resamples: bootstrap resamples; seed: their generator's seed.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape[0] != b.shape[0] or not a.shape[0]:
        raise ValueError(f"paired rows need the same patients, got {a.shape[0]} and {b.shape[0]}")
    n = a.shape[0]
    draws = np.random.default_rng(seed).integers(0, n, (resamples, n))
    weights = np.zeros((resamples, n))
    np.add.at(weights, (np.arange(resamples)[:, None], draws), 1.0)
    pooled_a, pooled_b = weights @ a, weights @ b
    observed = _difference(metrics(a.sum(0)), metrics(b.sum(0)))
    diffs: dict[str, list[float]] = {name: [] for name in observed}
    for pa, pb in zip(pooled_a, pooled_b, strict=True):
        for name, value in _difference(metrics(pa), metrics(pb)).items():
            diffs[name].append(value)
    out = {}
    for name, values in diffs.items():
        arr = np.array(values)
        finite = arr[np.isfinite(arr)]
        tail = 100 * (1 - CI_LEVEL) / 2
        low, high = (np.percentile(finite, [tail, 100 - tail]) if finite.size
                     else (math.nan, math.nan))
        out[name] = Interval(observed[name], float(low), float(high),
                             int(arr.size - finite.size))
    return out


def _difference(x: Mapping[str, float], y: Mapping[str, float]) -> dict[str, float]:
    return {name: float(x[name]) - float(y[name]) for name in x}


def wilcoxon_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p of paired values (pairs with a NaN left out); 1 when
    every difference is 0, NaN without pairs."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True)
             if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)]
    if not pairs:
        return math.nan
    x, y = np.array(pairs).T
    if np.all(x == y):
        return 1.0
    return float(wilcoxon(x, y, alternative="two-sided").pvalue)


def smallest_p(folds: int) -> float:
    """The smallest two-sided Wilcoxon p that ``folds`` pairs can give (all signs agree)."""
    return 2.0 / 2 ** folds


@dataclass
class Comparisons:
    """The configured comparisons of a finished table, and the pairs that could not be made."""

    results: list[Comparison]
    skipped: list[str]
    resamples: int
    seed: int
    folds: int

    def to_dict(self) -> dict[str, Any]:
        return {"ci_level": CI_LEVEL, "resamples": self.resamples, "seed": self.seed,
                "smallest_possible_p": smallest_p(self.folds),
                "results": [asdict(c) for c in self.results], "skipped": self.skipped}

    def markdown(self, headers: Mapping[str, str]) -> list[str]:
        """The "paired comparisons" table, its explanation and the skipped pairs."""
        lines = [
            f"Difference: first row minus second, the metric pooled over all test patients. "
            f"95% CI: percentile bootstrap over test patients ({self.resamples} resamples with "
            "replacement, the same patients for both rows, each pooled); a CI that excludes 0 "
            "is a difference beyond patient-sampling chance. p: Wilcoxon signed-rank test over "
            f"the {self.folds} per-fold values, two-sided; with {self.folds} folds the smallest "
            f"possible p is {smallest_p(self.folds):.4g}.", ""]
        if self.results:
            lines += ["| Comparison | Test | Metric | Difference | 95% CI | p (Wilcoxon) |",
                      "| --- | --- | --- | --- | --- | --- |"]
            for c in self.results:
                lines.append(f"| {c.row} vs {c.against} | {DOMAIN_TITLES[c.domain]} | "
                             f"{headers.get(c.metric, c.metric)} | {_signed(c.difference)} | "
                             f"[{_signed(c.ci_low)}, {_signed(c.ci_high)}] | "
                             f"{_plain(c.p_wilcoxon)} |")
        else:
            lines.append("No comparison could be made.")
        return lines + ([""] + [f"- {s}" for s in self.skipped] if self.skipped else [])


def _signed(value: float) -> str:
    return f"{value:+.3f}" if math.isfinite(value) else "n/a"


def _plain(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "n/a"


def patient_counts(row: RowResult, domain: str) -> dict[str, Any]:
    """Test patient -> its counts (JSON form) in ``domain``, over the row's folds."""
    return {patient: counts for fold in row.folds
            for patient, counts in fold.get("patient_counts", {}).get(domain, {}).items()}


def compare_rows(exp: Experiment, rows: Sequence[RowResult], pairs: Sequence[Sequence[str]], *,
                 resamples: int, seed: int, folds: int) -> Comparisons:
    """Every configured pair whose two rows ran, per test domain and compared metric."""
    ran = {r.key: r for r in rows if r.status == "ok" and r.folds}
    results: list[Comparison] = []
    skipped: list[str] = []
    for row, against in pairs:
        missing = [key for key in (row, against) if key not in ran]
        if missing:
            skipped.append(f"{row} vs {against}: not compared ({' and '.join(missing)} did "
                           "not run)")
            continue
        for domain in TEST_DOMAINS:
            results += _compare(exp, ran[row], ran[against], domain, resamples, seed)
    return Comparisons(results, skipped, resamples, seed, folds)


def _compare(exp: Experiment, row: RowResult, against: RowResult, domain: str,
             resamples: int, seed: int) -> list[Comparison]:
    counts_a, counts_b = patient_counts(row, domain), patient_counts(against, domain)
    patients = sorted(set(counts_a) & set(counts_b))
    if not patients:
        return []
    template = counts_a[patients[0]]

    def metrics(vector: np.ndarray) -> dict[str, float]:
        scores = exp.summarise(exp.counts_from_dict(from_vector(template, vector)))
        return {m: scores[m] for m in exp.compared_metrics}

    def matrix(counts: Mapping[str, Any]) -> np.ndarray:
        return np.array([count_vector(counts[p]) for p in patients])

    intervals = paired_bootstrap(matrix(counts_a), matrix(counts_b), metrics,
                                 resamples=resamples, seed=seed)
    fold_a = {f["fold"]: f["test"][domain] for f in row.folds}
    fold_b = {f["fold"]: f["test"][domain] for f in against.folds}
    common = sorted(set(fold_a) & set(fold_b))
    out = []
    for metric in exp.compared_metrics:
        ci = intervals[metric]
        p = wilcoxon_p([fold_a[k][metric] for k in common], [fold_b[k][metric] for k in common])
        out.append(Comparison(row.key, against.key, domain, metric, ci.observed, ci.low,
                              ci.high, len(patients), ci.undefined, p, len(common)))
    return out
