"""Every bad input gets one clear line naming the file and the problem, and no output file."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from ctbridge.cli import main
from ctbridge.errors import InvalidScanError
from ctbridge.io import write_scan
from tests.conftest import make_scan


def _convert_fails(capsys, src, out, message):
    assert main(["convert", "-i", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("ctbridge: error: ")
    assert message in err, err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    return err


def _series(tmp_path, name="series", **kw):
    return write_scan(make_scan(shape=(6, 12, 12), **kw), tmp_path / name)


def test_missing_file(tmp_path, capsys):
    src = tmp_path / "nope.nii.gz"
    _convert_fails(capsys, src, tmp_path / "out.nii.gz", f"{src}: no such file")


def test_not_a_ct(tmp_path, capsys):
    src = get_testdata_file("MR_small.dcm")
    _convert_fails(capsys, src, tmp_path / "out.nii.gz", "not a CT image (Modality is 'MR')")


def test_several_series_are_listed(tmp_path, capsys):
    a, b = _series(tmp_path, "a"), _series(tmp_path, "b")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for f in [*a.iterdir(), *b.iterdir()]:
        f.rename(mixed / f"{f.parent.name}_{f.name}")
    uids = {pydicom.dcmread(f).SeriesInstanceUID for f in mixed.iterdir()}
    err = _convert_fails(capsys, mixed, tmp_path / "out.nii.gz", "holds 2 series")
    assert all(uid in err for uid in uids)
    assert "6 files" in err


def test_missing_slice_is_located(tmp_path, capsys):
    series = _series(tmp_path)
    (series / "slice_0003.dcm").unlink()
    _convert_fails(capsys, series, tmp_path / "out.nii.gz",
                   "missing slice(s): step 5.000 mm between slice_0002.dcm and slice_0004.dcm")


def test_uneven_spacing_is_located(tmp_path, capsys):
    series = _series(tmp_path)
    f = series / "slice_0004.dcm"
    ds = pydicom.dcmread(f)
    ds.ImagePositionPatient[2] = float(ds.ImagePositionPatient[2]) - 0.7
    ds.save_as(f)
    _convert_fails(capsys, series, tmp_path / "out.nii.gz", "uneven slice spacing")


def test_undecodable_compression_names_the_plugins(tmp_path, capsys):
    ds = pydicom.dcmread(get_testdata_file("MR_small_jpeg_ls_lossless.dcm"))
    ds.Modality = "CT"
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024  # type 1 in a CT header
    src = tmp_path / "jpegls_ct.dcm"
    ds.save_as(src)
    err = _convert_fails(capsys, src, tmp_path / "out.nii.gz", "cannot decode pixel data")
    assert "JPEG-LS" in err and "pyjpegls" in err


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf(tmp_path, capsys, value):
    data = np.zeros((5, 6, 7), np.float32)
    data[2, 3, 4] = value
    src = tmp_path / "bad.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(src))
    _convert_fails(capsys, src, tmp_path / "out.nii.gz", "1 voxels are NaN or inf (first at z=4")


def test_empty_volume(tmp_path, capsys):
    src = tmp_path / "empty.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((5, 0, 7), np.float32), np.eye(4)), str(src))
    _convert_fails(capsys, src, tmp_path / "out.nii.gz", "empty volume")


def test_2d_image_where_volume_needed(tmp_path, capsys):
    src = tmp_path / "flat.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((5, 7), np.float32), np.eye(4)), str(src))
    _convert_fails(capsys, src, tmp_path / "out.nii.gz", "expected a 3D volume, got 2D")


def test_not_a_nifti(tmp_path, capsys):
    src = tmp_path / "garbage.nii.gz"
    src.write_bytes(b"this is not gzip")
    _convert_fails(capsys, src, tmp_path / "out.nii.gz", "not a readable NIfTI file")


def test_folder_without_dicom(tmp_path, capsys):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello")
    _convert_fails(capsys, folder, tmp_path / "out.nii.gz", "no DICOM image files")


def test_failed_write_leaves_previous_output_untouched(tmp_path):
    out = tmp_path / "out.nii.gz"
    write_scan(make_scan(), out)
    before = out.read_bytes()
    bad = make_scan()
    bad.array[0, 0, 0] = np.nan
    with pytest.raises(InvalidScanError, match="NaN or inf"):
        write_scan(bad, tmp_path / "series")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nii.gz"]


RGB24 = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])


@pytest.mark.parametrize("kind, message", [
    ("complex", "complex voxels (dtype complex64)"),
    ("rgb", "RGB/vector voxels (R, G, B"),
    ("two volumes", "4-D image of shape (7, 6, 5, 2) (2 volumes"),
    ("vector", "5-D image of shape (7, 6, 5, 1, 3) (3 volumes or vector components)"),
])
def test_complex_rgb_and_multi_volume_nifti_are_refused(tmp_path, capsys, kind, message):
    """Reading them as one real volume would drop the imaginary part (nibabel's ComplexWarning
    was the only sign), the colour or every volume but the first."""
    shape = (7, 6, 5)
    if kind == "complex":
        data = (np.ones(shape) + 2j * np.ones(shape)).astype(np.complex64)
    elif kind == "rgb":
        data = np.zeros(shape, RGB24)
    elif kind == "two volumes":
        data = np.zeros((*shape, 2), np.int16)
    else:
        data = np.zeros((*shape, 1, 3), np.float32)
    src = tmp_path / f"{kind.replace(' ', '_')}.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(src))
    assert nib.load(str(src)).get_data_dtype() == data.dtype  # written as meant
    err = _convert_fails(capsys, src, tmp_path / "out.nii.gz", message)
    assert str(src) in err
    assert main(["info", "-i", str(src)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_singleton_fourth_and_fifth_dimensions_are_one_volume(tmp_path, capsys):
    data = np.arange(7 * 6 * 5, dtype=np.float32).reshape(7, 6, 5)
    src = tmp_path / "one_time_point.nii.gz"
    nib.save(nib.Nifti1Image(data[..., None, None], np.eye(4)), str(src))
    out = tmp_path / "out.nii.gz"
    assert main(["convert", "-i", str(src), "-o", str(out)]) == 0
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(np.asarray(nib.load(str(out)).dataobj), data)
