"""Body masks computed from HU, so air outside the patient is known and never assumed.

Used to oversample training patches inside the body and, at inference, to keep air as air.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

BODY_THRESHOLD_HU = -500.0  # between air (-1000) and fat (-100): robust to noise and lung


def body_mask(volume_hu: np.ndarray, threshold_hu: float = BODY_THRESHOLD_HU) -> np.ndarray:
    """Boolean mask of the patient's body in a ``(z, y, x)`` (or ``(y, x)``) HU volume.

    The largest 3D connected component above ``threshold_hu`` (drops the table and blankets that
    do not touch the body), with holes (bowel gas, lung) filled slice by slice.
    """
    volume_hu = np.asarray(volume_hu)
    if volume_hu.ndim == 2:
        return body_mask(volume_hu[None], threshold_hu)[0]
    if volume_hu.ndim != 3:
        raise ValueError(f"expected (z, y, x) or (y, x), got shape {volume_hu.shape}")
    above = volume_hu > threshold_hu
    labels, n = ndimage.label(above)
    if n == 0:
        return above
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    mask = labels == int(np.argmax(sizes))
    for z in range(mask.shape[0]):
        mask[z] = ndimage.binary_fill_holes(mask[z])
    return mask
