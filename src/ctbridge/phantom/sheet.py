"""A PNG contact sheet per phantom patient: every phase at one slice, plaques ringed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ctbridge.data.intensity import WINDOWS, window

if TYPE_CHECKING:
    from ctbridge.phantom.generate import PhantomPatient


def plaque_slice(plaques: np.ndarray) -> int:
    """The slice holding the most plaque voxels (the middle slice if there are none)."""
    per_slice = (plaques > 0).sum(axis=(1, 2))
    return int(np.argmax(per_slice)) if per_slice.any() else plaques.shape[0] // 2


def contact_sheet(ph: PhantomPatient, path: Path, title: str = "") -> Path:
    """Rows: soft-tissue and vessel windows; columns: phases; red rings around plaques."""
    from ctbridge.plotting import plt, save_figure

    z = plaque_slice(ph.plaques)
    phases = list(ph.volumes)
    rows = ("soft", "vessel")
    fig, axes = plt.subplots(len(rows), len(phases), figsize=(3.2 * len(phases), 6.6),
                             squeeze=False)
    ids = [i for i in np.unique(ph.plaques[z]) if i]
    centres = [np.argwhere(ph.plaques[z] == i).mean(axis=0) for i in ids]
    radius = max(4.0, ph.plaques.shape[1] / 64)
    for r, win in enumerate(rows):
        for c, phase in enumerate(phases):
            ax = axes[r, c]
            ax.imshow(window(ph.volumes[phase][z], *WINDOWS[win]), cmap="gray", vmin=0, vmax=1)
            for cy, cx in centres:
                ax.add_patch(plt.Circle((cx, cy), radius, fill=False, color="red", lw=0.8))
            ax.set_title(f"{phase} ({win} window)", fontsize=8)
            ax.axis("off")
    fig.suptitle(f"{title} slice {z}: {len(ids)} plaque(s) here, "
                 f"{len(ph.plaque_info)} in the volume", fontsize=9)
    return save_figure(fig, path, dpi=90)
