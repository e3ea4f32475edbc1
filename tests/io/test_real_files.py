"""Real files that no one here wrote: pydicom's CT_small and pydicom-data's JPEG 2000 CT."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut

from ctbridge.cli import main
from ctbridge.io import read_scan


def _testdata(name: str) -> str:
    path = get_testdata_file(name)  # exact name: no download attempt
    if path is None:
        pytest.fail(f"pydicom test file {name} is not installed (pydicom-data is a dev dependency)")
    return str(path)


@pytest.mark.parametrize("name", ["CT_small.dcm", "explicit_VR-UN.dcm"])
def test_real_ct_reads_to_pydicom_hu(name):
    path = _testdata(name)
    ds = pydicom.dcmread(path)
    expected = apply_modality_lut(ds.pixel_array, ds).astype(np.float32)
    scan = read_scan(path)
    assert scan.shape == (1, *expected.shape)
    np.testing.assert_array_equal(scan.array[0], expected)
    assert scan.spacing[:2] == pytest.approx((float(ds.PixelSpacing[1]), float(ds.PixelSpacing[0])))
    np.testing.assert_allclose(scan.origin, [float(v) for v in ds.ImagePositionPatient])


def test_jpeg2000_abdominal_slice_has_ct_values():
    scan = read_scan(_testdata("explicit_VR-UN.dcm"))
    assert scan.metadata["series_description"] == "Pancreas"
    assert scan.array.min() == pytest.approx(-1024)
    tissue = scan.array[scan.array > -200]
    assert 0 < np.median(tissue) < 100  # abdominal soft tissue
    assert (tissue > 150).sum() > 500  # contrast-filled vessels and bone


@pytest.mark.parametrize("name", ["CT_small.dcm", "explicit_VR-UN.dcm"])
def test_simpleitk_agrees_with_convert_output(tmp_path, name):
    src = _testdata(name)
    out = tmp_path / "out.nii.gz"
    assert main(["convert", "-i", src, "-o", str(out)]) == 0
    ref = sitk.ReadImage(src)
    ours = sitk.ReadImage(str(out))
    np.testing.assert_allclose(sitk.GetArrayFromImage(ours), sitk.GetArrayFromImage(ref))
    np.testing.assert_allclose(ours.GetOrigin(), ref.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(ours.GetSpacing()[:2], ref.GetSpacing()[:2], atol=1e-5)
    np.testing.assert_allclose(ours.GetDirection(), ref.GetDirection(), atol=1e-6)


def test_reverse_way_nifti_to_dicom_agrees_with_simpleitk(tmp_path):
    src = _testdata("CT_small.dcm")
    nii, series = tmp_path / "a.nii.gz", tmp_path / "series"
    assert main(["convert", "-i", src, "-o", str(nii)]) == 0
    assert main(["convert", "-i", str(nii), "-o", str(series)]) == 0
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(series)))
    ours, ref = reader.Execute(), sitk.ReadImage(str(nii))
    np.testing.assert_allclose(sitk.GetArrayFromImage(ours), sitk.GetArrayFromImage(ref), atol=0.5)
    np.testing.assert_allclose(ours.GetOrigin(), ref.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(ours.GetDirection(), ref.GetDirection(), atol=1e-6)
