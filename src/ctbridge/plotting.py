"""Matplotlib set up once for files, not screens (Agg), and an atomic PNG writer."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ctbridge.io.atomic import atomic_path  # noqa: E402

__all__ = ["plaque_slice", "plt", "save_figure"]


def plaque_slice(plaques: np.ndarray) -> int:
    """The slice figures show: the one holding the most plaque voxels (else the middle one).

    >>> p = np.zeros((3, 4, 4), int)
    >>> p[2, 1, 1] = 7
    >>> plaque_slice(p), plaque_slice(np.zeros((5, 2, 2)))
    (2, 2)
    """
    per_slice = (np.asarray(plaques) > 0).sum(axis=(1, 2))
    return int(np.argmax(per_slice)) if per_slice.any() else int(plaques.shape[0] // 2)


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG via a temporary file (never a half-written image) and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(path)
