"""A contact sheet per domain: the middle slice of every series with its decision.

A person checks the sorting at a glance: a bright aorta in the non-contrast sheet, or a dark
one in the contrast sheet, stands out among a dozen thumbnails.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ctbridge.data.intensity import WINDOWS, window


def series_sheet(thumbnails: Sequence[tuple[str, np.ndarray]], path: Path, title: str,
                 columns: int = 6) -> Path:
    """Write ``(caption, HU slice)`` thumbnails in a grid (soft-tissue window) to ``path``."""
    from ctbridge.plotting import plt, save_figure

    n = max(len(thumbnails), 1)
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (caption, hu) in zip(axes.flat, thumbnails, strict=False):
        ax.imshow(window(hu, *WINDOWS["soft"]), cmap="gray", vmin=0, vmax=1)
        ax.set_title(caption, fontsize=6)
    fig.suptitle(f"{title}: {len(thumbnails)} series", fontsize=9)
    return save_figure(fig, path, dpi=90)
