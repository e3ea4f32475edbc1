"""A PNG contact sheet per phantom patient: every phase at one plaque slice, plaques ringed.

Rows are display windows (soft tissue, vessel), columns the phases, so a reader sees at a glance
that the anatomy is shared, the contrast differs, and the plaques stay put.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ctbridge.data.intensity import WINDOWS, window

if TYPE_CHECKING:
    from ctbridge.phantom.generate import Patient

ROWS = ("soft", "vessel")


def _body_box(labels: np.ndarray, margin: int = 4) -> tuple[slice, slice]:
    """Rows and columns around the body, so the sheet shows anatomy rather than air."""
    h, w = labels.shape
    rr, cc = np.nonzero(labels)
    if rr.size == 0:
        return slice(0, h), slice(0, w)
    return (slice(max(rr.min() - margin, 0), min(rr.max() + margin + 1, h)),
            slice(max(cc.min() - margin, 0), min(cc.max() + margin + 1, w)))


def contact_sheet(patient: Patient, path: str | Path, title: str = "") -> Path:
    """Write the sheet to ``path``: rows are windows, columns phases, red rings on plaques."""
    from ctbridge.plotting import plaque_slice, plt, save_figure

    z = plaque_slice(patient.plaques)
    phases = list(patient.volumes)
    rows, cols = _body_box(patient.labels[z])
    fig, axes = plt.subplots(len(ROWS), len(phases), figsize=(3.6 * len(phases), 6.4),
                             squeeze=False)
    ids = [int(i) for i in np.unique(patient.plaques[z]) if i]
    centres = [np.argwhere(patient.plaques[z] == i).mean(axis=0) for i in ids]
    radius = max(4.0, patient.plaques.shape[1] / 64)
    for r, name in enumerate(ROWS):
        for c, phase in enumerate(phases):
            ax = axes[r, c]
            image = window(patient.volumes[phase][z][rows, cols], *WINDOWS[name])
            ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            for cy, cx in centres:
                ax.add_patch(plt.Circle((cx - cols.start, cy - rows.start), radius, fill=False,
                                        color="red", lw=0.8))
            ax.set_title(f"{phase} ({name} window)", fontsize=8)
            ax.axis("off")
    fig.suptitle(f"{title} slice {z}: {len(ids)} plaque(s) here, "
                 f"{len(patient.plaque_info)} in the volume", fontsize=9)
    return save_figure(fig, path, dpi=100)
