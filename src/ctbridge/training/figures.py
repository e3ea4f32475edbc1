"""PNG figures written during training: sample grids, component maps, loss curves.

Matplotlib with the Agg backend (no display needed); every figure goes through
`ctbridge.plotting.save_figure` so a crash mid-write never leaves a broken PNG.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ctbridge.data.intensity import WINDOWS, window
from ctbridge.plotting import plt, save_figure


def translation_grid(rows: Sequence[tuple[str, Sequence[tuple[str, np.ndarray]]]], path: Path,
                     win: str = "soft") -> Path:
    """One row per source domain: the real slice, then its translations (all in HU)."""
    n_cols = max(len(cols) for _, cols in rows)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(2.6 * n_cols, 2.6 * len(rows)),
                             squeeze=False)
    center, width = WINDOWS[win]
    for r, (row_name, cols) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(cols):
                title, image = cols[c]
                ax.imshow(window(image, center, width), cmap="gray", vmin=0, vmax=1)
                ax.set_title(title, fontsize=8)
        axes[r, 0].set_ylabel(row_name)
    fig.suptitle(f"window {win} (C {center:.0f} / W {width:.0f} HU)", fontsize=8)
    return save_figure(fig, path)


def component_map_figure(image_hu: np.ndarray, components: np.ndarray, n_components: int,
                         path: Path, title: str = "") -> Path:
    """The paper's Fig. 2 idea: a slice beside the most responsible mixture component per
    latent location (organs, vessel walls and plaques should fall into different components)."""
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
    axes[0].imshow(window(image_hu, *WINDOWS["soft"]), cmap="gray")
    axes[0].set_title("input", fontsize=8)
    cmap = plt.get_cmap("tab20", max(n_components, 2))
    im = axes[1].imshow(components, cmap=cmap, vmin=-0.5, vmax=max(n_components, 2) - 0.5,
                        interpolation="nearest")
    used = np.unique(components)
    axes[1].set_title(f"most responsible component ({used.size} of {n_components} used)",
                      fontsize=8)
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    for ax in axes:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def loss_curves(csv_path: Path, path: Path, smooth: int = 5) -> Path | None:
    """Plot every loss column of ``metrics.csv`` against step (moving average of ``smooth``)."""
    if not csv_path.is_file():
        return None
    with csv_path.open() as f:
        rows = list(csv.DictReader(f))
    if len(rows) < 2:
        return None
    steps = np.array([float(r["step"]) for r in rows])
    groups: Mapping[str, list[str]] = {
        "discriminator": [k for k in rows[0] if k.startswith("d/")],
        "generator": [k for k in rows[0] if k.startswith("g/")],
        "component usage": [k for k in rows[0] if k.startswith("usage/")],
    }
    groups = {k: v for k, v in groups.items() if v}
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.5), squeeze=False)
    for ax, (name, keys) in zip(axes[0], groups.items(), strict=True):
        for key in keys:
            values = np.array([float(r[key]) if r.get(key) not in (None, "") else np.nan
                               for r in rows])
            k = max(1, min(smooth, len(values)))
            smoothed = np.convolve(values, np.ones(k) / k, mode="valid")
            ax.plot(steps[k - 1:], smoothed, label=key.split("/", 1)[1], lw=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step")
        if name != "component usage":
            ax.set_yscale("symlog", linthresh=1e-2)
        ax.legend(fontsize=6, ncol=2)
    return save_figure(fig, path)
