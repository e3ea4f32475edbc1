"""NIfTI (.nii / .nii.gz) through nibabel, affine preserved exactly.

NIfTI stores voxels (i, j, k) = (x, y, z) with a RAS affine; `Scan` keeps (z, y, x) arrays and
LPS geometry, so the array is transposed and the affine's first two rows negated at this boundary.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from ctbridge.errors import InvalidScanError, one_line
from ctbridge.io.atomic import atomic_path
from ctbridge.io.scan import LPS_TO_RAS, Scan

NIFTI_SUFFIXES = (".nii", ".nii.gz")

_INT_DTYPES = {"int16": np.int16, "int32": np.int32, "uint8": np.uint8, "uint16": np.uint16}


def is_nifti(path: str | Path) -> bool:
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def _load(path: Path) -> nib.Nifti1Image:
    if not path.exists():
        raise InvalidScanError(f"{path}: no such file")
    try:
        img = nib.load(str(path))
    except Exception as exc:  # nibabel raises many types for bad headers / gzip errors
        raise InvalidScanError(f"{path}: not a readable NIfTI file ({one_line(exc)})") from None
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise InvalidScanError(f"{path}: not a NIfTI image ({type(img).__name__})")
    return img


def _check_voxels(path: Path, img: nib.Nifti1Image, what: str = "CT volume") -> tuple[int, ...]:
    """The 3-D shape of ``img`` (singleton 4th and higher dimensions dropped); InvalidScanError
    naming the file and the dtype or shape for complex, RGB/vector or several-volume images,
    which would otherwise lose their imaginary part or colour silently."""
    dtype = img.get_data_dtype()
    if dtype.fields is not None:  # RGB24, RGBA32 and other structured voxels
        raise InvalidScanError(f"{path}: RGB/vector voxels ({', '.join(dtype.names or ())}: "
                               f"dtype {dtype}); a {what} holds one value per voxel")
    if dtype.kind == "c":
        raise InvalidScanError(f"{path}: complex voxels (dtype {dtype}); a {what} is real-valued "
                               "(store the magnitude or the real part yourself)")
    shape = tuple(int(n) for n in img.shape)
    if len(shape) > 3 and any(n != 1 for n in shape[3:]):
        volumes = int(np.prod(shape[3:]))
        raise InvalidScanError(f"{path}: {len(shape)}-D image of shape {shape} ({volumes} "
                               f"volumes or vector components); ctbridge reads one 3-D {what}: "
                               "split it into 3-D files first")
    if len(shape) < 3:
        raise InvalidScanError(f"{path}: expected a 3D volume, got {len(shape)}D shape {shape}")
    return shape[:3]


def _geometry_from_affine(affine_ras: np.ndarray) -> tuple[tuple, tuple, np.ndarray]:
    """Split a RAS affine into ITK-order spacing, LPS origin and LPS direction."""
    lps = LPS_TO_RAS @ affine_ras[:3, :]
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    direction = lps[:3, :3] / spacing
    return tuple(spacing), tuple(lps[:3, 3]), direction


def read_nifti(path: str | Path) -> Scan:
    """Read a 3D NIfTI volume as a `Scan` in HU (scl_slope/inter applied by nibabel)."""
    path = Path(path)
    img = _load(path)
    shape = _check_voxels(path, img)
    try:
        data = np.asarray(img.dataobj, dtype=np.float32)
    except Exception as exc:
        raise InvalidScanError(f"{path}: voxel data cannot be read ({one_line(exc)})") from None
    if data.size == 0:
        raise InvalidScanError(f"{path}: empty volume, shape {img.shape}")
    data = data.reshape(shape)  # singleton 4th/5th dimensions (one time point) dropped
    spacing, origin, direction = _geometry_from_affine(img.affine)
    header = img.header
    description = header.get("descrip", b"")
    description = description.item().decode(errors="replace") if hasattr(description, "item") \
        else str(description)
    scan = Scan(
        array=np.ascontiguousarray(data.transpose(2, 1, 0)),
        spacing=spacing,
        origin=origin,
        direction=direction,
        metadata={"source": str(path), "format": "nifti", "modality": "CT",
                  "series_description": description.strip("\x00 ")},
    )
    return scan.validate(str(path))


def read_labelmap(path: str | Path) -> np.ndarray:
    """Read an integer label volume as a ``(z, y, x)`` int array."""
    path = Path(path)
    img = _load(path)
    shape = _check_voxels(path, img, what="label volume")
    data = np.asarray(img.dataobj).reshape(shape)
    if not np.issubdtype(data.dtype, np.integer):
        if not np.all(np.isfinite(data)) or np.any(data != np.round(data)):
            raise InvalidScanError(f"{path}: label volume holds non-integer values")
        data = data.astype(np.int32)
    return np.ascontiguousarray(data.transpose(2, 1, 0))


def _nifti_image(array_zyx: np.ndarray, scan: Scan, description: str = "") -> nib.Nifti1Image:
    affine = scan.affine_ras
    img = nib.Nifti1Image(np.ascontiguousarray(array_zyx.transpose(2, 1, 0)), affine)
    img.set_qform(affine, code=1)  # scanner coordinates
    img.set_sform(affine, code=1)
    img.header.set_xyzt_units(xyz="mm")
    if description:
        img.header["descrip"] = description[:79].encode(errors="replace")
    return img


def write_nifti(scan: Scan, path: str | Path, dtype: str | None = None) -> Path:
    """Write ``scan`` to ``path`` atomically.

    Args:
        dtype: ``None`` keeps float32 (bit-exact round trip); ``"int16"`` rounds HU to integers,
            the usual on-disk CT type. Values outside the integer range raise instead of wrapping.
    """
    path = Path(path)
    array = scan.array
    if dtype is not None:
        np_dtype = _INT_DTYPES.get(dtype)
        if np_dtype is None:
            raise ValueError(f"unsupported dtype {dtype!r}; use one of {sorted(_INT_DTYPES)}")
        info = np.iinfo(np_dtype)
        rounded = np.rint(array)
        if rounded.min() < info.min or rounded.max() > info.max:
            raise InvalidScanError(
                f"{path}: HU range [{rounded.min():.0f}, {rounded.max():.0f}] does not fit {dtype}")
        array = rounded.astype(np_dtype)
    img = _nifti_image(array, scan, scan.metadata.get("series_description", ""))
    with atomic_path(path) as tmp:
        nib.save(img, str(tmp))
    return path


def write_labelmap(labels: np.ndarray, reference: Scan, path: str | Path) -> Path:
    """Write an integer ``(z, y, x)`` label volume in the geometry of ``reference``."""
    labels = np.asarray(labels)
    if labels.shape != reference.shape:
        raise ValueError(f"labels shape {labels.shape} differs from the scan's {reference.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got {labels.dtype}")
    dtype = np.uint8 if labels.min() >= 0 and labels.max() < 256 else np.int16
    img = _nifti_image(labels.astype(dtype), reference)
    with atomic_path(path) as tmp:
        nib.save(img, str(tmp))
    return Path(path)
