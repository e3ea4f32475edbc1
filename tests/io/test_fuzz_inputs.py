"""Property: whatever is damaged in a scan file, `info` and `convert` answer with exit 0 or 2.

Real files (pydicom's test CTs, a phantom-like series written by ctbridge, a NIfTI volume) get
their header attributes, header bytes or payload bytes mutated by hypothesis. Refusal: exit 2,
at most 3 lines on stderr (library warnings one line each, then the error naming the file), no
output file and no temp file left. Acceptance: exit 0 and an
output that reads back with finite HU. Any other exception is a traceback a user would see:
the test fails. `make test` runs a short profile; `pytest -m slow` runs 20x more examples.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from ctbridge.cli import main
from ctbridge.io import read_scan, write_scan
from ctbridge.io.dicom_header import TYPE_1
from tests.conftest import make_scan

FAST = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DICOM_KEYWORDS = (*TYPE_1, "Modality", "NumberOfFrames", "SliceThickness",
                  "SpacingBetweenSlices", "SeriesInstanceUID", "TransferSyntaxUID")
ODD_VALUES = st.one_of(
    st.none(),  # delete the attribute
    st.sampled_from(["", "0", "-1", "nan", "inf", "-inf", "1e308", "abc", "\\\\", "1\\2"]),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=7),
    st.integers(-(2**31), 2**31 - 1),
)
# NIfTI-1 header fields (offset, struct format) that reading relies on
NIFTI_FIELDS = {"dim": (40, "<8h"), "datatype": (70, "<h"), "bitpix": (72, "<h"),
                "pixdim": (76, "<8f"), "vox_offset": (108, "<f"), "scl_slope": (112, "<f"),
                "scl_inter": (116, "<f"), "qform_code": (252, "<h"), "sform_code": (254, "<h"),
                "quatern": (256, "<6f"), "srow": (280, "<12f")}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """The unharmed files, written once per module."""
    root = tmp_path_factory.mktemp("sources")
    series = write_scan(make_scan(shape=(3, 16, 16)), root / "series")
    nifti = write_scan(make_scan(shape=(3, 16, 16)), root / "scan.nii")
    return {"ct_small": Path(get_testdata_file("CT_small.dcm")),
            "jpeg2000_ct": Path(get_testdata_file("explicit_VR-UN.dcm")),
            "series_slice": sorted(series.iterdir())[1], "nifti": nifti}


def _run(argv: list[str]) -> tuple[int, str]:
    """Exit code and stderr of the CLI. pydicom and nibabel warn about the values broken on
    purpose: every warning is let through ("always"), as a user would see it, and the CLI's
    own handler must make each one a single line."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("always")
        rc = main(argv)
    for log in re.findall(r"all of them in (\S+)", err.getvalue()):  # the CLI's warning log
        Path(log).unlink()
    return rc, err.getvalue().strip()


def _check_stderr(code: int, message: str, src: Path) -> None:
    """Warnings one line each; a refusal: at most 3 lines, the last the error naming the file."""
    lines = message.splitlines() if message else []
    if code == 2:
        assert 1 <= len(lines) <= 3, message
        assert lines[-1].startswith("ctbridge: error: "), message
        assert src.name in lines[-1] or str(src.parent) in lines[-1], message
        lines = lines[:-1]
    assert all(line.startswith("ctbridge: warning: ") for line in lines), message


def _check_cli(src: Path, workdir: Path) -> None:
    out = workdir / "out.nii.gz"
    rc_info, err_info = _run(["info", "-i", str(src)])
    rc, err = _run(["convert", "-i", str(src), "-o", str(out)])
    assert rc_info in (0, 2) and rc in (0, 2), (rc_info, rc, err_info, err)
    for code, message in ((rc_info, err_info), (rc, err)):
        _check_stderr(code, message, src)
    if rc == 2:
        assert not out.exists()
        assert not [p for p in workdir.iterdir() if p.name.startswith(".out.nii.gz")]
    else:
        assert np.isfinite(read_scan(out).array).all()
        out.unlink()


def _set_attribute(ds: pydicom.Dataset, keyword: str, value) -> None:
    target = ds.file_meta if keyword == "TransferSyntaxUID" else ds
    if value is None:
        if keyword in target:
            delattr(target, keyword)
        return
    if isinstance(value, list):
        value = [str(v) for v in value]
    elif not isinstance(value, str):
        value = str(value)
    elem = target.data_element(keyword) if keyword in target else None
    if elem is None:
        setattr(target, keyword, value)
    else:  # bypass the value converters: the raw string is what a damaged file holds
        elem._value = value


mutations = st.one_of(
    st.tuples(st.just("attribute"), st.sampled_from(DICOM_KEYWORDS), ODD_VALUES),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                        min_size=1, max_size=8), st.just(None)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(None)),
)


def _mutate_dicom(src: Path, dst: Path, mutation) -> None:
    kind, a, b = mutation
    if kind == "attribute":
        ds = pydicom.dcmread(src)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pydicom.config.disable_value_validation():
                try:
                    _set_attribute(ds, a, b)
                    ds.save_as(dst, enforce_file_format=False)
                except Exception:  # pydicom cannot even encode it: damage the bytes instead
                    dst.write_bytes(src.read_bytes()[: len(src.read_bytes()) // 2])
        return
    data = bytearray(src.read_bytes())
    if kind == "flip":
        for where, byte in a:
            data[min(int(where * len(data)), len(data) - 1)] = byte
    else:
        data = data[: int(a * len(data))]
    dst.write_bytes(bytes(data))


def _mutate_nifti(src: Path, dst: Path, field: str, values, truncate: float | None,
                  compress: bool) -> None:
    data = bytearray(src.read_bytes())
    offset, fmt = NIFTI_FIELDS[field]
    count = struct.calcsize(fmt) // struct.calcsize(fmt[-1])
    current = list(struct.unpack_from(fmt, data, offset))
    for i, v in enumerate(values[:count]):
        current[i] = v
    struct.pack_into(fmt, data, offset, *current)
    blob = gzip.compress(bytes(data)) if compress else bytes(data)
    if truncate is not None:
        blob = blob[: int(truncate * len(blob))]
    dst.write_bytes(blob)


def _nifti_values(field: str):
    fmt = NIFTI_FIELDS[field][1]
    if fmt[-1] == "h":
        number = st.integers(-32768, 32767)
    else:
        number = st.floats(width=32, allow_nan=True, allow_infinity=True)
    return st.lists(number, min_size=1, max_size=12)


nifti_damage = st.sampled_from(sorted(NIFTI_FIELDS)).flatmap(
    lambda f: st.tuples(st.just(f), _nifti_values(f),
                        st.one_of(st.none(), st.floats(0, 1)), st.booleans()))


def _dicom_property(src: Path, mutation) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "damaged.dcm"
        _mutate_dicom(src, dst, mutation)
        _check_cli(dst, Path(tmp))


def _nifti_property(src: Path, damage) -> None:
    field, values, truncate, compress = damage
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / ("damaged.nii.gz" if compress else "damaged.nii")
        _mutate_nifti(src, dst, field, values, truncate, compress)
        _check_cli(dst, Path(tmp))


DICOM_SOURCES = st.sampled_from(["ct_small", "jpeg2000_ct", "series_slice"])


@FAST
@given(source=DICOM_SOURCES, mutation=mutations)
def test_damaged_dicom_is_refused_cleanly_or_read_finite(sources, source, mutation):
    _dicom_property(sources[source], mutation)


@FAST
@given(damage=nifti_damage)
def test_damaged_nifti_is_refused_cleanly_or_read_finite(sources, damage):
    _nifti_property(sources["nifti"], damage)


@pytest.mark.slow
@LONG
@given(source=DICOM_SOURCES, mutation=mutations)
def test_damaged_dicom_long(sources, source, mutation):
    _dicom_property(sources[source], mutation)


@pytest.mark.slow
@LONG
@given(damage=nifti_damage)
def test_damaged_nifti_long(sources, damage):
    _nifti_property(sources["nifti"], damage)
