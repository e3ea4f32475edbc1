"""Is a label map on its image's voxel grid? Read from the NIfTI headers only (fast).

nnU-Net refuses (shape, spacing) or warns about (origin, direction) an image and label that
disagree; a label carried over to a synthetic image must sit on exactly the same grid.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from ctbridge.errors import DataError, InvalidScanError, one_line

# mm; NIfTI stores the affine as float32, so a copied grid agrees to ~1e-5 relative
ATOL_MM = 1e-4
RTOL = 1e-5


def nifti_grid(path: Path) -> tuple[tuple[int, ...], np.ndarray]:
    """(3D shape, 4x4 voxel-to-world affine) of a NIfTI file, from its header."""
    try:
        img = nib.load(str(path))
    except Exception as exc:  # nibabel raises many types for bad headers / gzip errors
        raise InvalidScanError(f"{path}: not a readable NIfTI file ({one_line(exc)})") from None
    shape = tuple(int(n) for n in img.shape)
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        raise InvalidScanError(f"{path}: expected a 3D volume, got shape {shape}")
    return shape, np.asarray(img.affine, np.float64)


def _mm(values: np.ndarray) -> list[float]:
    return np.round(values, 4).tolist()


def grid_difference(a: Path, b: Path) -> str | None:
    """What differs between the grids of two NIfTI files (shape, spacing, origin, direction),
    or None when they are identical within float32 header precision."""
    shape_a, aff_a = nifti_grid(a)
    shape_b, aff_b = nifti_grid(b)
    if shape_a != shape_b:
        return f"shape {shape_a} vs {shape_b}"
    spacing_a = np.linalg.norm(aff_a[:3, :3], axis=0)
    spacing_b = np.linalg.norm(aff_b[:3, :3], axis=0)
    if not np.allclose(spacing_a, spacing_b, rtol=RTOL, atol=ATOL_MM):
        return f"spacing {_mm(spacing_a)} vs {_mm(spacing_b)}"
    if not np.allclose(aff_a[:3, 3], aff_b[:3, 3], rtol=RTOL, atol=ATOL_MM):
        return f"origin {_mm(aff_a[:3, 3])} vs {_mm(aff_b[:3, 3])}"
    if not np.allclose(aff_a[:3, :3] / spacing_a, aff_b[:3, :3] / spacing_b, atol=1e-5):
        return "direction differs"
    return None


def check_same_grid(image: Path, label: Path) -> None:
    """DataError naming both files when ``label`` is not on ``image``'s voxel grid."""
    problem = grid_difference(image, label)
    if problem:
        raise DataError(f"{label}: not on the grid of its image {image.name} ({problem})")


def stored_dtype(path: Path) -> str | None:
    """``"int16"`` when a NIfTI file stores unscaled integers (CT as usually shipped), else
    None (float32): so a synthetic image is stored like its source."""
    try:
        img = nib.load(str(path))
    except Exception:
        return None
    dtype = img.get_data_dtype()
    slope, inter = img.header.get_slope_inter()
    scaled = (slope not in (None, 1.0) and np.isfinite(slope)) or (inter not in (None, 0.0)
                                                                  and np.isfinite(inter))
    return "int16" if np.issubdtype(dtype, np.integer) and not scaled else None
