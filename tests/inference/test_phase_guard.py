"""The phase check before a translation: phantom scans both ways, DICOM tags and descriptions,
pydicom-data's real slices, and what `translate` and `synthesize` do with a scan it refuses."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from ctbridge.cli import main
from ctbridge.data.aorta_contrast import image_evidence, slice_finding, slice_findings
from ctbridge.datasets.build import synthesize_dataset
from ctbridge.errors import PhaseError
from ctbridge.inference.phase_guard import check_phase, require_phase
from ctbridge.io import Scan, read_scan, write_scan
from ctbridge.phantom import LABELS, generate_patient
from ctbridge.phantom.nnunet_export import write_phantom_nnunet

PHANTOM = dict(size=128, slices=12, phases=("nc", "arterial"))  # 2.8-mm pixels: the aorta is
# found in every slice the check looks at (16 of 16 scans right at this size in a trial; at
# 64 px and below the check abstains)


@pytest.fixture(scope="module")
def patient():
    return generate_patient(10, **PHANTOM)


def _aorta_hu(pt, phase: str) -> float:
    return float(np.median(pt.volumes[phase][pt.labels == LABELS["aorta"]]))


def test_the_image_tells_both_phases_both_ways(patient):
    nc, arterial = patient.scan("nc"), patient.scan("arterial")
    assert check_phase(nc, source="nc", target="ce", non_contrast="nc").ok
    assert check_phase(arterial, source="ce", target="nc", non_contrast="nc").ok
    into = check_phase(arterial, source="nc", target="ce", non_contrast="nc")
    assert not into.ok and [e.source for e in into.against] == ["image"]
    reason = into.reason()
    assert "already contrast-enhanced" in reason and "not a 'nc' scan" in reason
    measured = float(reason.split("enhanced aorta, median ")[1].split(" HU")[0])
    assert abs(measured - _aorta_hu(patient, "arterial")) < 25  # the phantom's own aorta
    back = check_phase(nc, source="ce", target="nc", non_contrast="nc")
    assert not back.ok and "unenhanced aorta" in back.reason()
    assert "already non-contrast" in back.reason()
    # between two contrast domains a non-contrast scan is "not contrast-enhanced"
    other = check_phase(nc, source="arterial", target="venous", non_contrast="nc")
    assert "not contrast-enhanced" in other.reason()
    with pytest.raises(PhaseError, match="--force translates anyway"):
        require_phase(arterial, source="nc", target="ce", non_contrast="nc", name="x.nii.gz")


def test_pixels_coarser_than_3_mm_are_not_judged():
    """Phantom patient 22 at 80 px (4.5-mm pixels): in its arterial scan the aorta check finds
    blood-like blobs instead of the aorta (prepare's image evidence says "unenhanced"); the
    guard does not judge such pixels, so the scan is not refused out of contrast."""
    arterial = generate_patient(22, size=80, slices=12, phases=("arterial",)).scan("arterial")
    assert image_evidence(arterial).phases == {"nc"}  # what prepare's vote says
    check = check_phase(arterial, source="ce", target="nc", non_contrast="nc")
    assert check.ok
    assert check.evidence[-1].detail.startswith("not judged: 4.5-mm pixels")


def test_blood_like_blobs_beside_an_enhanced_aorta_do_not_say_non_contrast():
    """Phantom patient 22 at 128 px (2.8-mm pixels), arterial: blood-like blobs (unenhanced
    veins) in 4 of the 7 slices looked at and an enhanced aorta in 2; prepare's majority vote
    says "unenhanced", the guard abstains instead of refusing the scan out of contrast."""
    arterial = generate_patient(22, size=128, slices=12, phases=("arterial",)).scan("arterial")
    assert image_evidence(arterial).phases == {"nc"}
    kinds = [f.kind for f in slice_findings(arterial)]
    assert kinds.count("enhanced") == 2 and kinds.count("blood") == 4
    check = check_phase(arterial, source="ce", target="nc", non_contrast="nc")
    assert check.ok and check.evidence[-1].detail.endswith("but enhanced in 2: not judged "
                                                           "(arterial-phase veins are unenhanced)")


def _water(shape=(12, 64, 64)) -> Scan:
    """A body without a spine: the image has no opinion, so the header decides."""
    hu = np.full(shape, -1000.0, np.float32)
    hu[:, 8:56, 8:56] = 30.0
    return Scan(hu, spacing=(2.0, 2.0, 3.0))


def test_dicom_tags_and_description_decide_where_the_image_abstains(tmp_path):
    agent = read_scan(write_scan(_water(), tmp_path / "agent",
                                 attributes={"ContrastBolusAgent": "Iomeprol 400",
                                             "ContrastBolusRoute": "IV"}))
    check = check_phase(agent, source="nc", target="ce", non_contrast="nc")
    assert [e.source for e in check.against] == ["tags"]
    assert "ContrastBolusAgent 'Iomeprol 400'" in check.reason()
    assert "already contrast-enhanced" in check.reason()
    native = _water()
    native.metadata["series_description"] = "Abdomen nativ 3.0 B30f"
    native = read_scan(write_scan(native, tmp_path / "native"))
    check = check_phase(native, source="ce", target="nc", non_contrast="nc")
    assert [e.source for e in check.against] == ["description"]
    assert "'nativ'" in check.reason() and "already non-contrast" in check.reason()
    # a series ctbridge derived names the translation ("nc->ce"), not the phase: not read
    derived = _water()
    derived.metadata["series_description"] = "ctbridge cyclegan nc->ce"
    derived = read_scan(write_scan(derived, tmp_path / "derived"))
    assert check_phase(derived, source="ce", target="nc", non_contrast="nc").ok
    # a NIfTI description is free text nobody's scanner wrote: only the image counts
    nifti = read_scan(write_scan(native, tmp_path / "native.nii.gz"))
    assert nifti.metadata["series_description"] == "Abdomen nativ 3.0 B30f"
    assert check_phase(nifti, source="ce", target="nc", non_contrast="nc").ok


def test_pydicom_real_contrast_slice_abstains_and_does_not_block():
    """explicit_VR-UN.dcm: one enhanced abdominal slice (prepare's slice finder sees a
    venous-phase aorta in it), an empty ContrastBolusAgent and "Pancreas" as description. The
    image evidence needs the aorta in 3 slices, so a single slice abstains; so do the header's
    empty tag and its word: nothing blocks either direction."""
    scan = read_scan(get_testdata_file("explicit_VR-UN.dcm"))
    finding = slice_finding(scan.array[0][::-1], (scan.spacing[1], scan.spacing[0]))
    assert finding.kind == "enhanced"  # what one slice shows...
    for source, target in (("nc", "ce"), ("ce", "nc")):
        check = check_phase(scan, source=source, target=target, non_contrast="nc")
        assert check.ok
        assert not any(e.has_opinion for e in check.evidence)  # ...is no opinion of the scan
        image = next(e for e in check.evidence if e.source == "image")
        assert "1 of 1 slices" in image.detail


def test_pydicom_real_tags_and_descriptions_decide():
    """CT_small.dcm records ContrastBolusAgent ISOVUE300/100 (IV); 693_UNCI.dcm, a head slice
    of CQ500, is described "5/5mm Plain" (a non-contrast word)."""
    contrast = read_scan(get_testdata_file("CT_small.dcm"))
    check = check_phase(contrast, source="nc", target="ce", non_contrast="nc")
    assert not check.ok and "ContrastBolusAgent 'ISOVUE300/100'" in check.reason()
    assert check_phase(contrast, source="ce", target="nc", non_contrast="nc").ok
    plain = read_scan(get_testdata_file("693_UNCI.dcm"))
    check = check_phase(plain, source="ce", target="nc", non_contrast="nc")
    assert not check.ok and "'Plain'" in check.reason() and "already non-contrast" in \
        check.reason()
    assert check_phase(plain, source="nc", target="ce", non_contrast="nc").ok


def test_translate_refuses_a_contrast_scan_into_contrast_and_force_translates(
        tmp_path, checkpoint, patient, capsys):
    ce = write_scan(patient.scan("arterial"), tmp_path / "arterial.nii.gz", dtype="int16")
    nc = write_scan(patient.scan("nc"), tmp_path / "nc.nii.gz", dtype="int16")
    out = tmp_path / "out.nii.gz"
    capsys.readouterr()
    assert main(["translate", "-i", str(ce), "-o", str(out), "--model", str(checkpoint),
                 "--to", "ce"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ctbridge: error: ") and "arterial.nii.gz: image: enhanced " \
        "aorta, median" in err[-1]
    assert "already contrast-enhanced" in err[-1] and "--force" in err[-1]
    assert not out.exists()
    assert main(["translate", "-i", str(ce), "-o", str(out), "--model", str(checkpoint),
                 "--to", "ce", "--force"]) == 0
    assert read_scan(out).shape == patient.scan("arterial").shape
    assert main(["translate", "-i", str(nc), "-o", str(tmp_path / "nc_ce.nii.gz"), "--model",
                 str(checkpoint), "--to", "ce"]) == 0
    # into non-contrast the other way round
    assert main(["translate", "-i", str(nc), "-o", str(tmp_path / "x.nii.gz"), "--model",
                 str(checkpoint), "--to", "nc"]) == 2
    assert "already non-contrast" in capsys.readouterr().err


def test_translate_a_folder_goes_on_past_a_refused_scan(tmp_path, checkpoint, patient, capsys):
    folder = tmp_path / "in"
    write_scan(patient.scan("nc"), folder / "a_nc.nii.gz", dtype="int16")
    write_scan(patient.scan("arterial"), folder / "b_arterial.nii.gz", dtype="int16")
    assert main(["translate", "-i", str(folder), "-o", str(tmp_path / "out"), "--model",
                 str(checkpoint), "--to", "ce"]) == 101
    err = capsys.readouterr().err
    assert "failed: b_arterial.nii.gz:" in err and "already contrast-enhanced" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_nc.nii.gz"]


def test_translate_a_real_single_slice_is_not_blocked(tmp_path, checkpoint):
    src = get_testdata_file("explicit_VR-UN.dcm")
    for to in ("ce", "nc"):
        out = tmp_path / f"{to}.nii.gz"
        assert main(["translate", "-i", src, "-o", str(out), "--model", str(checkpoint),
                     "--to", to]) == 0
        assert read_scan(out).shape == (1, 512, 512)


@pytest.fixture(scope="module")
def mixed_dataset(tmp_path_factory):
    """An NC nnU-Net data set of three phantom cases, one of whose images is its patient's
    arterial scan (same grid, so its label still fits): a CE case among NC ones."""
    roots = write_phantom_nnunet(tmp_path_factory.mktemp("mixed"), patients=3, seed=10,
                                 plaques_max=4, progress=False, **PHANTOM)
    nc = roots["nc"]
    shutil.copy2(roots["arterial"] / "imagesTr" / "patient_001_0000.nii.gz",
                 nc / "imagesTr" / "patient_001_0000.nii.gz")
    return nc


def _manifest(out):
    with (out / "manifest.csv").open(newline="") as f:
        return {row["case"]: row for row in csv.DictReader(f)}


def test_synthesize_lists_a_contrast_case_in_an_nc_set_as_rejected(tmp_path, checkpoint,
                                                                   mixed_dataset):
    out = tmp_path / "Dataset911_X"
    result = synthesize_dataset(mixed_dataset, out, model=checkpoint, target="ce", folds=2,
                                progress=False)
    rows = _manifest(out)
    assert {c: r["decision"] for c, r in rows.items()} == {
        "patient_000_synce": "written", "patient_001_synce": "rejected",
        "patient_002_synce": "written"}
    reason = rows["patient_001_synce"]["reason"]
    assert reason.startswith("phase check: image: enhanced aorta, median")
    assert "already contrast-enhanced" in reason and "--force" in reason
    assert not (out / "imagesTr" / "patient_001_synce_0000.nii.gz").exists()
    assert (out / "imagesTr" / "patient_001_0000.nii.gz").exists()  # the original stays
    assert result.outcome.count("rejected") == 1
    meta = json.loads((out / "dataset.json").read_text())["ctbridge"]
    assert meta["phase_rejected"] == 1 and meta["qc_rejected"] == 0
    # --force translates it; the cases already written resume as they are
    forced = synthesize_dataset(mixed_dataset, out, model=checkpoint, target="ce", folds=2,
                                progress=False, force=True)
    assert forced.outcome.count("written") == 3
    assert forced.outcome.resumed == {"patient_000_synce", "patient_002_synce"}
    assert (out / "imagesTr" / "patient_001_synce_0000.nii.gz").exists()
    again = synthesize_dataset(mixed_dataset, out, model=checkpoint, target="ce", folds=2,
                               progress=False)  # a checked re-run keeps what --force made
    assert again.outcome.count("written") == 3 and len(again.outcome.resumed) == 3


def test_synthesize_command_shows_the_rejected_case(tmp_path, checkpoint, mixed_dataset,
                                                    capsys):
    out = tmp_path / "Dataset912_X"
    assert main(["synthesize", "-i", str(mixed_dataset), "-o", str(out), "--model",
                 str(checkpoint), "--to", "ce", "--folds", "2"]) == 0
    err = capsys.readouterr().err
    assert "patient_001_synce" in err and "rejected" in err
