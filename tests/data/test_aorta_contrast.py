"""The image evidence on phantom patients it was not tuned on, and on a real CT slice."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from ctbridge.data.aorta_contrast import image_evidence, slice_finding
from ctbridge.data.phase_evidence import CONTRAST
from ctbridge.io import Scan, read_scan
from ctbridge.phantom import LABELS, generate_patient


@pytest.fixture(scope="module")
def patients():
    return [generate_patient(seed, size=192, slices=20) for seed in (3000, 3001, 3002)]


def test_every_phase_is_told_from_non_contrast(patients):
    for pt in patients:
        for phase in pt.volumes:
            ev = image_evidence(pt.scan(phase))
            assert ev.phases == ({"nc"} if phase == "nc" else CONTRAST), (pt.seed, phase,
                                                                         ev.detail)


def test_the_measured_aorta_is_the_phantoms(patients):
    pt = patients[0]
    lumen = pt.labels == LABELS["aorta"]
    for phase in ("nc", "arterial"):
        truth = float(np.median(pt.volumes[phase][lumen]))
        detail = image_evidence(pt.scan(phase)).detail
        measured = float(detail.split("median ")[1].split(" HU")[0])
        assert abs(measured - truth) < 25, (phase, truth, detail)


def test_rows_running_anterior_are_flipped_first(patients):
    scan = patients[0].scan("arterial")
    flipped = Scan(scan.array[:, ::-1].copy(), spacing=scan.spacing, origin=scan.origin,
                   direction=np.diag([1.0, -1.0, 1.0]))
    assert image_evidence(flipped).phases == CONTRAST


def test_no_body_or_no_spine_gives_no_opinion():
    air = Scan(np.full((20, 64, 64), -1000.0, np.float32), spacing=(2.0, 2.0, 3.0))
    assert not image_evidence(air).phases
    water = np.full((20, 64, 64), -1000.0, np.float32)
    water[:, 10:54, 10:54] = 0.0  # a water phantom: a body, no spine, no aorta
    ev = image_evidence(Scan(water, spacing=(4.0, 4.0, 3.0)))
    assert not ev.phases and "no aorta" in ev.detail


def test_a_real_contrast_enhanced_slice():
    """pydicom-data's JPEG 2000 abdominal CT (enhanced; its rows run posterior -> anterior)."""
    scan = read_scan(get_testdata_file("explicit_VR-UN.dcm"))
    assert scan.direction[1, 1] < 0
    finding = slice_finding(scan.array[0][::-1], (scan.spacing[1], scan.spacing[0]))
    assert finding.kind == "enhanced" and 150 < finding.hu < 400  # a venous-phase aorta
