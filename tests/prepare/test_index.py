from __future__ import annotations

from pydicom.data import get_testdata_file

from ctbridge.io.dicom import write_dicom_series
from ctbridge.prepare.index import index_tree
from tests.conftest import make_scan


def test_every_file_is_either_a_header_or_a_reason(tmp_path):
    write_dicom_series(make_scan(shape=(3, 8, 8)), tmp_path / "a" / "b" / "series")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".DS_Store").write_bytes(b"\0\1")  # hidden: not even listed
    (tmp_path / "DICOMDIR").write_bytes(open(get_testdata_file("DICOMDIR"), "rb").read())
    good = next((tmp_path / "a" / "b" / "series").iterdir())
    (tmp_path / "cut").write_bytes(good.read_bytes()[:200])
    headers, skipped = index_tree(tmp_path, progress=False)
    assert len(headers) == 3 and {h.modality for h in headers} == {"CT"}
    assert all(h.position is not None and h.rows == 8 for h in headers)
    reasons = {p.path.name: p.reason for p in skipped}
    assert reasons["notes.txt"] == "not a DICOM file"
    assert reasons["DICOMDIR"].startswith("DICOMDIR")
    assert reasons["cut"]  # truncated: named with its reason, never a crash
    assert ".DS_Store" not in reasons
