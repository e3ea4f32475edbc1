from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from ctbridge.io import read_scan, write_scan
from tests.conftest import make_scan, rotation


def _sitk_read_series(folder):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


@pytest.mark.parametrize("geometry", ["axial", "oblique", "non_square"])
def test_scan_dicom_scan_round_trip(tmp_path, geometry):
    direction = {"axial": np.eye(3), "oblique": rotation("x", 23.0) @ rotation("y", 11.0),
                 "non_square": rotation("z", 90.0)}[geometry]
    spacing = {"axial": (0.7, 0.7, 3.0), "oblique": (0.61, 0.83, 1.5),
               "non_square": (0.5, 0.9, 2.0)}[geometry]
    scan = make_scan(spacing=spacing, direction=direction)
    scan.array[1, 2, 3] = 123.4  # non-integer HU: stored with slope 1, error <= 0.5
    back = read_scan(write_scan(scan, tmp_path / "series"))
    assert back.shape == scan.shape
    assert np.abs(back.array - scan.array).max() <= 0.5
    np.testing.assert_allclose(back.spacing, scan.spacing, atol=1e-4)
    np.testing.assert_allclose(back.origin, scan.origin, atol=1e-4)
    np.testing.assert_allclose(back.direction, scan.direction, atol=1e-6)


def test_written_series_is_a_valid_derived_ct(tmp_path, scan):
    folder = write_scan(scan, tmp_path / "series", study_instance_uid="1.2.3.4")
    files = sorted(folder.iterdir())
    assert len(files) == scan.shape[0]
    datasets = [pydicom.dcmread(f) for f in files]
    series = {ds.SeriesInstanceUID for ds in datasets}
    sops = {ds.SOPInstanceUID for ds in datasets}
    assert len(series) == 1 and len(sops) == len(files)
    ds = datasets[0]
    assert ds.Modality == "CT" and list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert ds.StudyInstanceUID == "1.2.3.4"
    assert ds.SOPClassUID == pydicom.uid.CTImageStorage
    # new study unless one is passed
    other = pydicom.dcmread(next(write_scan(scan, tmp_path / "s2").iterdir()))
    assert other.StudyInstanceUID != "1.2.3.4"


def test_simpleitk_reads_our_series_identically(tmp_path, oblique_scan):
    folder = write_scan(oblique_scan, tmp_path / "series")
    image = _sitk_read_series(folder)
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), oblique_scan.array, atol=0.5)
    np.testing.assert_allclose(image.GetSpacing(), oblique_scan.spacing, atol=1e-4)
    np.testing.assert_allclose(image.GetOrigin(), oblique_scan.origin, atol=1e-4)
    np.testing.assert_allclose(np.reshape(image.GetDirection(), (3, 3)), oblique_scan.direction,
                               atol=1e-5)


def test_slices_sorted_by_position_not_file_order(tmp_path, scan):
    folder = write_scan(scan, tmp_path / "series")
    files = sorted(folder.iterdir())
    # rename so that lexical order is reversed and instance numbers are scrambled
    for i, f in enumerate(files):
        ds = pydicom.dcmread(f)
        ds.InstanceNumber = (7 * i) % len(files) + 1
        ds.save_as(folder / f"z{len(files) - i:03d}.dcm")
        f.unlink()
    back = read_scan(folder)
    np.testing.assert_allclose(back.array, scan.array, atol=0.5)
    np.testing.assert_allclose(back.origin, scan.origin, atol=1e-4)


def test_huge_range_uses_a_rescale_slope_within_1_hu(tmp_path):
    scan = make_scan()
    scan.array[0, 1, 1] = 40000.0  # beyond int16: slope > 1 but still within 1 HU
    back = read_scan(write_scan(scan, tmp_path / "s"))
    assert np.abs(back.array - scan.array).max() <= 1.0
