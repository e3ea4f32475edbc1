"""PNG panels of a translation: input, translation, truth, difference, and plaque close-ups.

Figures use matplotlib's object API with the Agg canvas (no display, no global backend switch).
Images are shown in a [-200, 600] HU window so soft tissue, contrast-filled lumen (~300 HU) and
plaques (> 400 HU saturate to white) are told apart; the difference map (translation - truth, HU)
uses a diverging colormap symmetric around 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ctbridge.io.atomic import atomic_path

DISPLAY_HU: tuple[float, float] = (-200.0, 600.0)


def _figure(rows: int, cols: int, size: float = 3.0) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size * cols, size * rows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    for ax in axes.ravel():
        ax.set_axis_off()
    return fig, axes


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return Path(path)


def _diff_limit(diff: np.ndarray) -> float:
    """Symmetric colour limit: the 99th percentile of the non-zero |diff|, at least 50 HU.

    Non-zero only, so a few wrong voxels among exact ones (a lost plaque) are not saturated.
    """
    nonzero = np.abs(diff[diff != 0])
    return max(50.0, float(np.percentile(nonzero, 99))) if nonzero.size else 50.0


def _show_row(axes: Sequence[Any], images: Sequence[tuple[str, np.ndarray | None]],
              diff: np.ndarray, contour: np.ndarray | None = None) -> None:
    """CT images in the display window, then the difference map."""
    lim = _diff_limit(diff)
    for ax, (title, image) in zip(axes, images, strict=False):
        if image is None:
            continue
        ax.imshow(image, cmap="gray", vmin=DISPLAY_HU[0], vmax=DISPLAY_HU[1],
                  interpolation="nearest")
        if contour is not None and contour.any():
            ax.contour(contour, levels=[0.5], colors="yellow", linewidths=0.6)
        ax.set_title(title, fontsize=8)
    ax = axes[len(images)]
    im = ax.imshow(diff, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_title("translation - truth (HU)", fontsize=8)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)


def save_panel(path: Path, pred_hu: np.ndarray, true_hu: np.ndarray, plaques: np.ndarray,
               input_hu: np.ndarray | None = None) -> Path:
    """PNG of one axial slice: input (if given), translation, truth, difference."""
    from ctbridge.plotting import plaque_slice

    z = plaque_slice(plaques)
    images = [("translation", pred_hu[z]), ("truth", true_hu[z])]
    if input_hu is not None:
        images.insert(0, ("input", input_hu[z]))
    fig, axes = _figure(1, len(images) + 1, size=4.0)
    _show_row(axes[0], images, pred_hu[z] - true_hu[z])
    fig.suptitle(f"slice {z}", fontsize=9)
    return _save(fig, path)


def _crop_box(centre: Sequence[float], shape: Sequence[int], half: int) -> tuple[slice, slice]:
    y, x = (int(round(c)) for c in centre)
    return (slice(max(y - half, 0), min(y + half + 1, shape[0])),
            slice(max(x - half, 0), min(x + half + 1, shape[1])))


def save_plaque_crops(path: Path, pred_hu: np.ndarray, true_hu: np.ndarray,
                      plaques: np.ndarray, table: Sequence[Mapping[str, Any]],
                      input_hu: np.ndarray | None = None, max_plaques: int = 8,
                      half: int = 12) -> Path | None:
    """Zoomed crops (one row per plaque) around up to ``max_plaques`` plaques.

    Plaques lost in the translation come first, then the rest by id, so the failures are the
    ones shown. Each crop is centred on the plaque's centroid in its middle slice; the plaque
    outline is drawn in yellow. Returns None when there are no plaques.
    """
    order = sorted(table, key=lambda r: (bool(r["kept_pred"]), r["id"]))[:max_plaques]
    if not order:
        return None
    cols = 3 + (input_hu is not None)
    fig, axes = _figure(len(order), cols + 1, size=2.4)
    for ax_row, row in zip(axes, order, strict=True):
        own = plaques == row["id"]
        zs = np.flatnonzero(own.any(axis=(1, 2)))
        z = int(zs[len(zs) // 2])
        box = _crop_box(np.argwhere(own[z]).mean(axis=0), own.shape[1:], half)
        images = [(f"#{row['id']} pred ({'kept' if row['kept_pred'] else 'lost'})",
                   pred_hu[z][box]), ("truth", true_hu[z][box])]
        if input_hu is not None:
            images.insert(0, ("input", input_hu[z][box]))
        _show_row(ax_row, images, pred_hu[z][box] - true_hu[z][box], contour=own[z][box])
    return _save(fig, path)
