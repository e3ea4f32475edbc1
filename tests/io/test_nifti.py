from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from ctbridge.errors import InvalidScanError
from ctbridge.io import read_labelmap, read_scan, write_labelmap, write_scan
from tests.conftest import make_scan, rotation


def _nifti_file(tmp_path, data, affine, name="in.nii.gz"):
    path = tmp_path / name
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_nifti_file_round_trip_is_bit_identical(tmp_path, dtype):
    rng = np.random.default_rng(1)
    data = rng.integers(-1024, 3000, size=(24, 20, 7)).astype(dtype)  # (x, y, z) on disk
    affine = np.array([[-0.7, 0.02, 0.0, 120.5], [0.01, -0.75, 0.1, 90.0],
                       [0.0, 0.05, 2.5, -300.0], [0, 0, 0, 1]])
    src = _nifti_file(tmp_path, data, affine)
    scan = read_scan(src)
    assert scan.shape == (7, 20, 24)
    out = write_scan(scan, tmp_path / "out.nii.gz", dtype=None if dtype == np.float32 else "int16")
    back = nib.load(str(out))
    np.testing.assert_array_equal(np.asarray(back.dataobj), data)
    assert back.get_data_dtype() == np.dtype(dtype)
    np.testing.assert_array_equal(back.affine, nib.load(str(src)).affine)


def test_scan_geometry_is_lps_itk_order(tmp_path):
    # RAS affine with voxel (0,0,0) at RAS (10, 20, 30): LPS origin is (-10, -20, 30).
    affine = np.diag([0.5, 0.6, 3.0, 1.0])
    affine[:3, 3] = (10, 20, 30)
    scan = read_scan(_nifti_file(tmp_path, np.zeros((4, 5, 6), np.float32), affine))
    assert scan.spacing == pytest.approx((0.5, 0.6, 3.0))
    assert scan.origin == pytest.approx((-10, -20, 30))
    np.testing.assert_allclose(scan.direction, np.diag([-1, -1, 1]))
    assert scan.orientation == "RAS"


def test_scan_to_nifti_to_scan_oblique(tmp_path, oblique_scan):
    back = read_scan(write_scan(oblique_scan, tmp_path / "o.nii"))
    np.testing.assert_array_equal(back.array, oblique_scan.array)
    np.testing.assert_allclose(back.affine_lps, oblique_scan.affine_lps, atol=1e-4)


def test_labelmap_round_trip(tmp_path, scan):
    labels = (scan.array > 0).astype(np.uint8) * 3
    path = write_labelmap(labels, scan, tmp_path / "lab.nii.gz")
    np.testing.assert_array_equal(read_labelmap(path), labels)


def test_int16_refuses_out_of_range_without_writing(tmp_path):
    scan = make_scan()
    scan.array[0, 0, 0] = 40000.0
    with pytest.raises(InvalidScanError, match="does not fit int16"):
        write_scan(scan, tmp_path / "x.nii.gz", dtype="int16")
    assert list(tmp_path.iterdir()) == []


def test_four_d_singleton_accepted_but_2d_refused(tmp_path):
    ok = _nifti_file(tmp_path, np.zeros((4, 5, 6, 1), np.float32), np.eye(4), "a.nii.gz")
    assert read_scan(ok).shape == (6, 5, 4)
    flat = _nifti_file(tmp_path, np.zeros((4, 5), np.float32), np.eye(4), "b.nii.gz")
    with pytest.raises(InvalidScanError, match=r"b\.nii\.gz: expected a 3D volume, got 2D"):
        read_scan(flat)


def test_rotation_helper_is_orthonormal():
    r = rotation("y", 33.0)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
