"""Grid comparison from NIfTI headers, and the storage type of a source image."""

from __future__ import annotations

import numpy as np
import pytest

from ctbridge.errors import DataError, InvalidScanError
from ctbridge.formats.geometry import check_same_grid, grid_difference, stored_dtype
from ctbridge.io import Scan, write_labelmap, write_scan
from tests.conftest import make_scan, rotation


def test_a_label_written_on_the_scan_grid_matches(tmp_path):
    scan = make_scan(direction=rotation("x", 12.0))
    image = write_scan(scan, tmp_path / "img.nii.gz", dtype="int16")
    label = write_labelmap(np.zeros(scan.shape, np.uint8), scan, tmp_path / "lab.nii.gz")
    assert grid_difference(image, label) is None
    check_same_grid(image, label)


@pytest.mark.parametrize("change, word", [
    (dict(shape=(5, 20, 24)), "shape"),
    (dict(spacing=(0.7, 0.8, 3.0)), "spacing"),
    (dict(origin=(-120.5, -80.25, 34.0)), "origin"),
    (dict(direction=rotation("z", 5.0)), "direction"),
])
def test_each_difference_is_named(tmp_path, change, word):
    image = write_scan(make_scan(), tmp_path / "img.nii.gz")
    other = make_scan(**change)
    label = write_labelmap(np.zeros(other.shape, np.uint8), other, tmp_path / "lab.nii.gz")
    assert word in grid_difference(image, label)
    with pytest.raises(DataError, match="lab.nii.gz: not on the grid of its image img.nii.gz"):
        check_same_grid(image, label)


def test_unreadable_file_is_an_invalid_scan(tmp_path):
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"nonsense")
    with pytest.raises(InvalidScanError, match="bad.nii.gz: not a readable NIfTI"):
        grid_difference(bad, bad)


def test_stored_dtype_follows_the_source(tmp_path):
    scan = Scan(np.full((2, 8, 8), 40.0, np.float32))
    assert stored_dtype(write_scan(scan, tmp_path / "a.nii.gz", dtype="int16")) == "int16"
    assert stored_dtype(write_scan(scan, tmp_path / "b.nii.gz")) is None
