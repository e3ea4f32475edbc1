"""Smooth the enhancement a translation into contrast adds, where it is small and flat.

A translation out of the non-contrast phase is its source plus a change (the enhancement). The
source's noise is carried over (docs/results.md, "Where the error into contrast lives": slope
1.00), so the change should be what iodine adds: smooth within an organ at the scale of
millimetres. The translators add made-up blotches to it instead (12-18 HU of texture in muscle
and liver). A self-guided filter (He et al., "Guided image filtering", 2010) of the change
removes what is small and flat against ``eps_hu`` and keeps edges (the lumen's 250-HU step),
and changes of ``keep_above_hu`` or more (a contrast-filled lumen, an enhancing cortex) are not
touched, so the aorta's median is not pulled towards its wall.

Applied at inference only, in HU, slice by slice, after the physical bounds of
:mod:`ctbridge.inference.bounds` and before they are applied again (a filtered change of zero
stays zero, so fat and gas stay copied). Measured on 14 held-out patients of two phantom
cohorts (docs/research-log.md, inference-only tries): liver texture into contrast 1.64 / 1.71
-> about 1.5, body MAE 0.01 x lower, aorta and plaques unchanged.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> source = np.zeros((1, 64, 64), np.float32)
    >>> change = 60 + 15 * rng.standard_normal((1, 64, 64)).astype(np.float32)
    >>> smoothed = EnhancementSmoothing().apply(source, source + change, (1.4, 1.4, 3.0))
    >>> bool(smoothed.std() < 0.5 * change.std())
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class EnhancementSmoothing:
    """Self-guided filtering of ``translation - source`` into contrast.

    Args:
        radius_mm: in-plane half-width of the filter's box (8 px on 1.4-mm pixels).
        eps_hu: local standard deviation of the change below which it is averaged away
            (regularisation of the guided filter, in HU).
        keep_above_hu: changes at least this large are kept as they are.
    """

    radius_mm: float = 11.0
    eps_hu: float = 25.0
    keep_above_hu: float = 150.0

    @property
    def tag(self) -> str:
        """Short text naming the parameters (cache keys, provenance)."""
        return f"smooth:{self.radius_mm:g}mm,{self.eps_hu:g}HU,{self.keep_above_hu:g}HU"

    def radius_px(self, spacing: Sequence[float]) -> tuple[int, int]:
        """(rows, columns) radius in pixels for ``spacing`` in ITK order (x, y, z) mm."""
        return (max(1, round(self.radius_mm / float(spacing[1]))),
                max(1, round(self.radius_mm / float(spacing[0]))))

    def apply(self, source_hu: np.ndarray, translated_hu: np.ndarray,
              spacing: Sequence[float]) -> np.ndarray:
        """``translated_hu`` (z, y, x) with its change from ``source_hu`` filtered per slice."""
        if source_hu.shape != translated_hu.shape:
            raise ValueError(f"source {source_hu.shape} and translation "
                             f"{translated_hu.shape} differ in shape")
        change = (np.asarray(translated_hu, np.float32)
                  - np.asarray(source_hu, np.float32))
        filtered = self_guided_filter(change, self.radius_px(spacing), self.eps_hu ** 2)
        change = np.where(change >= self.keep_above_hu, change, filtered)
        return (source_hu + change).astype(translated_hu.dtype, copy=False)


def self_guided_filter(x: np.ndarray, radius: tuple[int, int], eps: float) -> np.ndarray:
    """Guided filter of ``x`` (z, y, x) by itself in each slice: local linear model a*x + b
    over (2r+1)^2 boxes, a = var / (var + eps), averaged over the boxes covering a pixel."""
    size = (1, 2 * radius[0] + 1, 2 * radius[1] + 1)

    def box(v: np.ndarray) -> np.ndarray:
        return ndimage.uniform_filter(v, size=size, mode="reflect")

    mean = box(x)
    var = np.maximum(box(x * x) - mean * mean, 0.0)
    a = var / (var + eps)
    b = mean - a * mean
    return box(a) * x + box(b)
