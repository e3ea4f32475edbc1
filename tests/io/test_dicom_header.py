"""Damaged DICOM headers are refused by one validation step, naming the attribute."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.data import get_testdata_file

from ctbridge.cli import main
from ctbridge.io import read_scan
from ctbridge.io.dicom_header import ct_header_problems


def _ct_small():
    return pydicom.dcmread(get_testdata_file("CT_small.dcm"))


def _zero_orientation(ds):
    ds.ImageOrientationPatient = [0, 0, 0, 0, 0, 0]


def _skewed_orientation(ds):
    ds.ImageOrientationPatient = [1, 0, 0, 1, 0, 0]


def _slope_zero(ds):
    ds.RescaleSlope = 0


def _no_rescale(ds):
    del ds.RescaleSlope
    del ds.RescaleIntercept


def _bits_stored_too_large(ds):
    ds.BitsStored, ds.HighBit = 20, 19


def _bad_high_bit(ds):
    ds.HighBit = 3


def _colour(ds):
    ds.SamplesPerPixel = 3


def _negative_spacing(ds):
    ds.PixelSpacing = [0.66, -0.66]


def _two_position_values(ds):
    ds.ImagePositionPatient = [1.0, 2.0]


@pytest.mark.parametrize(("damage", "message"), [
    (_zero_orientation, "ImageOrientationPatient [0.0, 0.0, 0.0, 0.0, 0.0, 0.0] is not two unit"),
    (_skewed_orientation, "row and column directions are not orthogonal"),
    (_slope_zero, "RescaleSlope is 0"),
    (_no_rescale, "RescaleIntercept is missing (type 1); RescaleSlope is missing (type 1)"),
    (_bits_stored_too_large, "BitsStored (20) must be between 1 and BitsAllocated (16)"),
    (_bad_high_bit, "HighBit (3) must be BitsStored - 1 (15)"),
    (_colour, "SamplesPerPixel is 3"),
    (_negative_spacing, "PixelSpacing [0.66, -0.66] must be positive"),
    (_two_position_values, "ImagePositionPatient has 2 value(s), expected 3"),
])
def test_damaged_header_is_refused_by_info_and_convert(tmp_path, capsys, damage, message):
    ds = _ct_small()
    damage(ds)
    src = tmp_path / "damaged.dcm"
    ds.save_as(src)
    out = tmp_path / "out.nii.gz"
    for argv in (["info", "-i", str(src)], ["convert", "-i", str(src), "-o", str(out)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith(f"ctbridge: error: {src}: "), err
        assert message in err, err
    assert list(tmp_path.iterdir()) == [src]


def test_real_headers_have_no_problems():
    for name in ("CT_small.dcm", "explicit_VR-UN.dcm"):
        ds = pydicom.dcmread(get_testdata_file(name), stop_before_pixels=True)
        assert ct_header_problems(ds) == [], name


def test_cosines_rounded_by_a_scanner_are_accepted(tmp_path):
    ds = _ct_small()
    ds.ImageOrientationPatient = [0.999999, 0.001, 0, -0.001, 0.999999, 0]
    ds.save_as(tmp_path / "a.dcm")
    assert read_scan(tmp_path / "a.dcm").shape == (1, 128, 128)


def test_not_ct_is_the_first_and_only_problem():
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"), stop_before_pixels=True)
    assert ct_header_problems(ds) == ["not a CT image (Modality is 'MR'); ctbridge reads CT only"]
