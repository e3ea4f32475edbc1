"""``results.png``: the spread of each row's main metric over folds, one panel per test phase.

A mean ± std hides whether one bad fold drives a difference; the box plot (with each fold as a
dot) shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ctbridge.experiments.downstream.results import DOMAIN_TITLES, TEST_DOMAINS, RowResult
from ctbridge.plotting import plt, save_figure


def fold_values(row: RowResult, domain: str, metric: str) -> list[float]:
    """The row's finite per-fold ``metric`` in ``domain``."""
    values = (f["test"].get(domain, {}).get(metric) for f in row.folds if "test" in f)
    return [float(v) for v in values if v is not None and np.isfinite(v)]


def plot_results(rows: Sequence[RowResult], path: Path, *, metric: str = "dice",
                 header: str = "Dice", title: str = "") -> Path:
    """Box plots of ``metric`` over folds per row that ran, a panel per test phase."""
    ran = [r for r in rows if r.status == "ok" and r.folds]
    fig, axes = plt.subplots(1, len(TEST_DOMAINS), figsize=(4.2 * len(TEST_DOMAINS), 3.6),
                             squeeze=False, sharey=True)
    for ax, domain in zip(axes[0], TEST_DOMAINS, strict=True):
        data = [fold_values(r, domain, metric) for r in ran]
        if ran:
            ax.boxplot([d if d else [np.nan] for d in data], widths=0.5, showfliers=False)
            for i, values in enumerate(data, start=1):
                ax.plot(np.full(len(values), i), values, "o", ms=3, color="tab:blue", alpha=0.7)
            ax.set_xticks(range(1, len(ran) + 1), [r.key for r in ran], rotation=30,
                          ha="right", fontsize=8)
        ax.set_title(f"tested on {DOMAIN_TITLES[domain]}", fontsize=9)
        ax.set_ylabel(f"{header} (per fold)")
        ax.grid(axis="y", alpha=0.3)
    low, high = axes[0, 0].get_ylim()  # shared; a metric in [0, 1] needs no room beyond
    axes[0, 0].set_ylim(max(low, -0.02), min(high, 1.02))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
