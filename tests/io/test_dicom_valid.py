"""What `convert` writes is a valid CT Image per the standard (dicom3tools' dciodvfy), and a
series derived from DICOM cites its source slices and study."""

from __future__ import annotations

import pydicom
from pydicom.data import get_testdata_file

from ctbridge.cli import main
from ctbridge.io import write_scan
from tests.conftest import dciodvfy, make_scan

# the warnings left (no errors): dciodvfy would like a Study ID to build a DICOMDIR (a new study
# made from a NIfTI file has none to give; type 2: present and empty is valid), and Laterality
# is written empty (= unknown) when the source does not say which body part was examined
ALLOWED_WARNINGS = ("Study ID", "attribute <Laterality>")


def _check_series(folder):
    files = sorted(folder.iterdir())
    assert files
    for path in (files[0], files[-1]):
        errors, warnings = dciodvfy(path)
        assert errors == [], (path.name, errors)
        assert all(any(a in w for a in ALLOWED_WARNINGS) for w in warnings), warnings
    return [pydicom.dcmread(p) for p in files]


def test_nifti_converted_to_dicom_is_a_valid_ct_series(tmp_path):
    src = write_scan(make_scan(shape=(4, 24, 24)), tmp_path / "in.nii.gz")
    assert main(["convert", "-i", str(src), "-o", str(tmp_path / "series")]) == 0
    slices = _check_series(tmp_path / "series")
    assert "SourceImageSequence" not in slices[0]  # nothing in DICOM to cite
    assert slices[0].DerivationDescription.startswith("converted by ctbridge")


def test_dicom_converted_to_dicom_cites_its_source(tmp_path):
    src = get_testdata_file("CT_small.dcm")
    source = pydicom.dcmread(src)
    assert main(["convert", "-i", src, "-o", str(tmp_path / "series")]) == 0
    (ds,) = _check_series(tmp_path / "series")
    (ref,) = ds.SourceImageSequence
    assert ref.ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert ref.ReferencedSOPClassUID == source.SOPClassUID
    assert ds.StudyInstanceUID == source.StudyInstanceUID  # filed beside its source
    assert ds.SeriesInstanceUID != source.SeriesInstanceUID
    for keyword in ("PatientID", "PatientBirthDate", "PatientSex", "StudyID", "KVP"):
        assert str(ds.get(keyword)) == str(source.get(keyword)), keyword
