"""The per-case loop: translation, label copy, QC, resume by content hash, failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ctbridge.data.intensity import IntensityScaler
from ctbridge.datasets.manifest import read_manifest
from ctbridge.datasets.synthesize import Job, ModelRef, QualityGate, synthesize
from ctbridge.errors import CheckpointError
from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan, write_labelmap, write_scan
from tests.conftest import RejectSlices, make_scan


class Shift(torch.nn.Module):
    """A stand-in translator network: adds a learnable shift (model range); counts calls."""

    domains = ["nc", "ce"]
    downsampling = 0

    def __init__(self, shift: float = 0.05) -> None:
        super().__init__()
        self.shift = torch.nn.Parameter(torch.tensor(shift))
        self.calls = 0

    def translate(self, x, source, target, *, sample=False):
        self.calls += 1
        return x + self.shift


def translator(shift: float = 0.05) -> Translator:
    return Translator(Shift(shift), IntensityScaler(), patch_size=None, name="shift")


@pytest.fixture
def jobs(tmp_path):
    out = []
    for i in range(3):
        scan = make_scan(shape=(4, 16, 16), seed=i)
        image = write_scan(scan, tmp_path / "in" / f"c{i}.nii.gz", dtype="int16")
        labels = (scan.array > 0).astype(np.uint8)
        label = write_labelmap(labels, scan, tmp_path / "in" / f"c{i}_label.nii.gz")
        out.append(Job(f"c{i}_synce", f"c{i}", image, tmp_path / "out" / f"c{i}_synce.nii.gz",
                       label, tmp_path / "out" / f"c{i}_synce_label.nii.gz", dtype="int16",
                       needs_label=True))
    return out


def _run(jobs, model, tmp_path, **kw):
    return synthesize(jobs, model if isinstance(model, ModelRef) else ModelRef(model),
                      target="ce", source="nc", manifest=tmp_path / "manifest.csv",
                      progress=False, **kw)


def test_cases_are_translated_with_their_label_copied(jobs, tmp_path):
    model = translator()
    outcome = _run(jobs, model, tmp_path)
    assert [r.decision for r in outcome.rows] == ["written"] * 3 and not outcome.resumed
    for job in jobs:
        assert job.label_out.read_bytes() == job.label.read_bytes()
        real, syn = read_scan(job.image), read_scan(job.image_out)
        assert syn.spacing == pytest.approx(real.spacing) and syn.shape == real.shape
        body = real.array > -500
        assert np.all(syn.array[body] > real.array[body])  # shifted up inside the body
        np.testing.assert_array_equal(syn.array[real.array < -900], real.array[real.array < -900])
    rows = read_manifest(tmp_path / "manifest.csv")
    assert rows["c0_synce"].model == "shift (in memory)" and rows["c0_synce"].direction == "nc->ce"


def test_rerun_skips_finished_cases_and_redoes_what_changed(jobs, tmp_path):
    _run(jobs, translator(), tmp_path)
    again = translator()
    outcome = _run(jobs, again, tmp_path)
    assert again.model.calls == 0 and outcome.resumed == {"c0_synce", "c1_synce", "c2_synce"}
    jobs[1].image_out.unlink()  # a lost file is made again
    outcome = _run(jobs, again, tmp_path)
    assert outcome.resumed == {"c0_synce", "c2_synce"} and jobs[1].image_out.is_file()
    other = translator(shift=0.1)  # other weights: everything is redone
    outcome = _run(jobs, other, tmp_path)
    assert not outcome.resumed and other.model.calls > 0


def test_quality_control_rejects_volumes_above_the_limit(jobs, tmp_path):
    gate = QualityGate(RejectSlices([0, 1]), max_rejected=0.2, identity="stand-in")
    outcome = _run(jobs, translator(), tmp_path, gate=gate)
    assert {r.decision for r in outcome.rows} == {"rejected"}
    assert all(r.qc_rejected == 0.5 and "QC rejects 50%" in r.reason for r in outcome.rows)
    assert not any(p.exists() for job in jobs for p in job.outputs)
    again = translator()
    assert _run(jobs, again, tmp_path, gate=gate).resumed and again.model.calls == 0
    looser = QualityGate(RejectSlices([0, 1]), max_rejected=0.5, identity="stand-in")
    outcome = _run(jobs, translator(), tmp_path, gate=looser)  # 0.5 is not above 0.5
    assert {r.decision for r in outcome.rows} == {"written"}


def test_bad_cases_fail_alone_and_are_retried(jobs, tmp_path):
    jobs[0].image.write_bytes(b"garbage")
    small = make_scan(shape=(2, 4, 4))
    write_scan(small, jobs[1].image, dtype="int16")
    write_labelmap(np.zeros(small.shape, np.uint8), small, jobs[1].label)
    outcome = _run(jobs, translator(), tmp_path)
    decisions = {r.case: (r.decision, r.reason) for r in outcome.rows}
    assert decisions["c0_synce"][0] == "failed" and "c0.nii.gz" in decisions["c0_synce"][1]
    assert decisions["c1_synce"][0] == "failed" and "too small" in decisions["c1_synce"][1]
    assert decisions["c2_synce"][0] == "written"
    assert not jobs[0].image_out.exists() and not jobs[1].image_out.exists()
    assert _run(jobs, translator(), tmp_path).resumed == {"c2_synce"}  # failures are retried


def test_a_label_off_the_image_grid_fails_the_case(jobs, tmp_path):
    scan = read_scan(jobs[2].image)
    moved = make_scan(shape=scan.shape, spacing=(1.0, 1.0, 1.0))
    write_labelmap(np.zeros(scan.shape, np.uint8), moved, jobs[2].label)
    outcome = _run(jobs, translator(), tmp_path)
    assert outcome.rows[2].decision == "failed" and "not on the grid" in outcome.rows[2].reason


def test_a_model_without_the_domains_stops_before_writing(jobs, tmp_path):
    with pytest.raises(CheckpointError, match="source domain 'arterial' must be one of"):
        synthesize(jobs, ModelRef(translator()), target="ce", source="arterial",
                   manifest=tmp_path / "m.csv", progress=False)
    with pytest.raises(CheckpointError, match="cannot translate to 'portal'"):
        synthesize(jobs, ModelRef(Translator(Shift(), IntensityScaler(), patch_size=None)),
                   target="portal", source="nc", manifest=tmp_path / "m.csv", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_checkpoint_is_loaded_only_when_a_case_needs_it(jobs, tmp_path, checkpoint):
    _run(jobs, ModelRef(checkpoint), tmp_path)
    ref = ModelRef(checkpoint)
    assert len(_run(jobs, ref, tmp_path).resumed) == 3
    assert "translator" not in ref.__dict__  # hashed, never loaded
