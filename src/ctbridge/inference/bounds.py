"""Physical bounds on a translated scan: contrast only adds, and fat and gas do not enhance.

Iodine adds attenuation and takes none away, so a scan of a contrast phase is, voxel by voxel,
at least as bright as the non-contrast scan of the same anatomy; translated from the same scan,
a translation out of the non-contrast phase is never darker than its source and one into it
never brighter. A translation that keeps the source's noise, as a realistic one does, meets the
bound exactly, so clipping to it removes only error the generator made up. Fat and gas do not
enhance in any phase, so voxels of the source at or below ``fat_hu`` are copied.

Applied at inference only: the same rules inside training (a copy of fat and gas around the
latent) cost plaques out of contrast (docs/method.md, Inference).

Example:
    >>> import numpy as np
    >>> bounds = ContrastBounds(non_contrast="nc")
    >>> src = np.array([-100.0, 40.0, 40.0]); out = np.array([-80.0, 30.0, 300.0])
    >>> bounds.apply(src, out, source="nc", target="ce").tolist()
    [-100.0, 40.0, 300.0]
    >>> bounds.apply(src, out, source="ce", target="nc").tolist()
    [-100.0, 30.0, 40.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAT_AND_GAS_HU = -50.0
"""Source voxels at or below this are fat or gas (fat -120..-80 HU, noise ~15 HU)."""


@dataclass(frozen=True)
class ContrastBounds:
    """Which domain is non-contrast, and the HU up to which source voxels are copied.

    Args:
        non_contrast: the model's non-contrast domain; translations between two other
            domains (arterial -> venous) are not bounded by contrast, only by ``fat_hu``.
            None: the model has no non-contrast domain, only ``fat_hu`` applies.
        fat_hu: source voxels <= this are copied into the translation; None: none are.
    """

    non_contrast: str | None = "nc"
    fat_hu: float | None = FAT_AND_GAS_HU

    def apply(self, source_hu: np.ndarray, translated_hu: np.ndarray, *, source: str,
              target: str) -> np.ndarray:
        """``translated_hu`` within the bounds of its ``source_hu`` (same shape, HU)."""
        if source_hu.shape != translated_hu.shape:
            raise ValueError(f"source {source_hu.shape} and translation "
                             f"{translated_hu.shape} differ in shape")
        out = translated_hu
        if source == target:
            return out
        if source == self.non_contrast:  # never true when there is none (None)
            out = np.maximum(out, source_hu)
        elif target == self.non_contrast:
            out = np.minimum(out, source_hu)
        if self.fat_hu is not None:
            out = np.where(source_hu <= self.fat_hu, source_hu, out)
        return out.astype(translated_hu.dtype, copy=False)
