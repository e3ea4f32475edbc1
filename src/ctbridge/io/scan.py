"""The `Scan` value: a CT volume in Hounsfield units with its geometry.

Conventions (the same as SimpleITK, so results can be checked against it):

* ``array`` is float32 HU indexed ``[z, y, x]`` (slice, row, column).
* ``spacing`` and ``origin`` are in ITK order ``(x, y, z)``: column spacing, row spacing,
  slice spacing in mm; origin is the LPS position (mm) of the centre of voxel ``[0, 0, 0]``.
* ``direction`` is a 3x3 matrix whose columns are the LPS unit vectors along increasing
  ``x`` (column), ``y`` (row) and ``z`` (slice) index.

World coordinates are DICOM's patient LPS everywhere; NIfTI's RAS is converted at the file
boundary only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ctbridge.errors import InvalidScanError

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
MIN_DIRECTION_DET = 0.5  # gantry tilts and mild shears pass; collapsed axes do not
MAX_SPACING_MM = 1000.0  # a voxel larger than a metre is a damaged header, not a CT
MAX_ORIGIN_MM = 1e5


@dataclass
class Scan:
    """A CT volume in HU with its geometry.

    Args:
        array: HU values, float32, shape ``(z, y, x)``.
        spacing: voxel size in mm, ``(x, y, z)``.
        origin: LPS position in mm of voxel ``[0, 0, 0]``, ``(x, y, z)``.
        direction: 3x3, columns are LPS unit vectors of the x, y, z index axes.
        metadata: source information (``modality``, ``series_description``, ``source``,
            DICOM ``study_instance_uid`` ...). Free-form, copied to derived scans.
    """

    array: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.array = np.asarray(self.array, dtype=np.float32)
        self.spacing = tuple(float(s) for s in self.spacing)  # type: ignore[assignment]
        self.origin = tuple(float(o) for o in self.origin)  # type: ignore[assignment]
        self.direction = np.asarray(self.direction, dtype=np.float64).reshape(3, 3)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.array.shape)  # type: ignore[return-value]

    @property
    def affine_lps(self) -> np.ndarray:
        """4x4 matrix mapping voxel index ``(x, y, z, 1)`` to LPS mm."""
        affine = np.eye(4)
        affine[:3, :3] = self.direction @ np.diag(self.spacing)
        affine[:3, 3] = self.origin
        return affine

    @property
    def affine_ras(self) -> np.ndarray:
        """4x4 matrix mapping voxel index ``(x, y, z, 1)`` to RAS mm (NIfTI's world)."""
        affine = self.affine_lps
        affine[:3, :] = LPS_TO_RAS @ affine[:3, :]
        return affine

    @property
    def orientation(self) -> str:
        """Axis codes of the x, y, z index axes, e.g. ``LPS`` for a plain axial DICOM series.

        Each letter is the patient direction that the axis points to (nibabel's convention).
        """
        import nibabel as nib

        codes = nib.orientations.aff2axcodes(self.affine_ras)
        return "".join(c or "?" for c in codes)  # None: no single direction (oblique)

    def with_array(self, array: np.ndarray, **metadata: Any) -> Scan:
        """A scan with the same geometry and new voxels (e.g. a translation of this one)."""
        array = np.asarray(array, dtype=np.float32)
        if array.shape != self.array.shape:
            raise ValueError(f"shape {array.shape} differs from the scan's {self.array.shape}")
        return replace(self, array=array, metadata={**self.metadata, **metadata})

    def validate(self, source: str = "scan") -> Scan:
        """Check that this is a usable volume; raise :class:`InvalidScanError` naming ``source``."""
        if self.array.ndim != 3:
            raise InvalidScanError(
                f"{source}: expected a 3D volume (z, y, x), got {self.array.ndim}D "
                f"shape {self.array.shape}"
            )
        if self.array.size == 0 or min(self.array.shape) == 0:
            raise InvalidScanError(f"{source}: empty volume, shape {self.array.shape}")
        finite = np.isfinite(self.array)
        if not finite.all():
            bad = np.argwhere(~finite)[0]
            raise InvalidScanError(
                f"{source}: {int((~finite).sum())} voxels are NaN or inf "
                f"(first at z={bad[0]}, y={bad[1]}, x={bad[2]})"
            )
        if any(not np.isfinite(s) or s <= 0 for s in self.spacing):
            raise InvalidScanError(f"{source}: spacing must be positive, got {self.spacing}")
        if not (np.isfinite(self.origin).all() and np.isfinite(self.direction).all()):
            raise InvalidScanError(f"{source}: origin or direction is not finite")
        if max(self.spacing) > MAX_SPACING_MM or max(map(abs, self.origin)) > MAX_ORIGIN_MM:
            raise InvalidScanError(f"{source}: implausible geometry for a CT scan (spacing "
                                   f"{self.spacing} mm, origin {self.origin} mm)")
        det = float(np.linalg.det(self.direction))
        if abs(det) < MIN_DIRECTION_DET:
            raise InvalidScanError(f"{source}: the voxel axes are (nearly) degenerate: direction "
                                   f"determinant {det:.3g} (1 for orthogonal axes)")
        return self
