"""Real slices by patient, balanced batches, held-out kinds never produced, config checks."""

from __future__ import annotations

import numpy as np
import pytest

from ctbridge.data.intensity import IntensityScaler
from ctbridge.errors import ConfigError, DataError
from ctbridge.io import write_scan
from ctbridge.phantom import write_phantom_dataset
from ctbridge.qc import artefacts
from ctbridge.qc.config import QC_COHORT_SEED, qc_config
from ctbridge.qc.dataset import (
    ArtefactBatches,
    crop_around_body,
    eval_artefacts,
    folder_volumes,
    phantom_cohort,
    slices_of,
    train_validation_split,
)
from tests.conftest import make_scan


@pytest.fixture(scope="module")
def tiny_slices():
    cfg = qc_config("tiny", {"cohort.patients": 3, "cohort.slices": 4})
    volumes = phantom_cohort(cfg.cohort)
    return cfg, slices_of(volumes, sorted(volumes), cfg.min_body_fraction)


def test_cohort_seed_is_not_the_demo_seed():
    assert QC_COHORT_SEED != 0
    assert qc_config("tiny").cohort.seed == QC_COHORT_SEED


def test_split_is_by_patient_disjoint_and_reproducible():
    names = [f"p{i}" for i in range(7)]
    train, val = train_validation_split(names, 2, seed=3)
    assert len(val) == 2 and set(train) | set(val) == set(names) and not set(train) & set(val)
    assert train_validation_split(names, 2, seed=3) == (train, val)
    assert train_validation_split(["a", "b"], 5, seed=0)[0]  # training keeps at least one patient
    with pytest.raises(DataError):
        train_validation_split(["a"], 1, seed=0)


def test_held_out_kinds_are_never_produced_in_training(tiny_slices, monkeypatch):
    cfg, slices = tiny_slices
    for kind in cfg.held_out:
        def refuse(*args, _kind=kind, **kwargs):
            raise AssertionError(f"held-out kind {_kind} was produced for training")
        monkeypatch.setitem(artefacts.ARTEFACTS, kind, refuse)
    batches = ArtefactBatches(slices, cfg.train_kinds, IntensityScaler(), crop=None,
                              strength=tuple(cfg.strength), seed=0)
    seen: set[str] = set()
    for _ in range(10):
        x, body, y, kinds = batches.batch(16)
        assert x.shape == (16, 1, 64, 64) and body.shape == x.shape
        assert y.sum().item() == 8  # exactly balanced
        assert [k == "real" for k in kinds] == [v == 0 for v in y.tolist()]
        seen |= set(kinds)
    assert seen - {"real"} <= set(cfg.train_kinds)
    assert not seen & set(cfg.held_out)
    assert -1.1 < x.min() and x.max() < 1.1  # model range of the translators' scaler


def test_config_refuses_bad_kind_lists():
    with pytest.raises(ConfigError, match="unknown artefact"):
        qc_config("tiny", {"held_out": ["ringing"]})
    with pytest.raises(ConfigError, match="not in kinds"):
        qc_config("tiny", {"kinds": ["blur"], "held_out": ["checkerboard"]})
    with pytest.raises(ConfigError, match="nothing to train"):
        qc_config("tiny", {"kinds": ["blur"], "held_out": ["blur"]})
    with pytest.raises(ConfigError, match="no preset"):
        qc_config("huge")
    assert qc_config("tiny", {"held_out": []}).train_kinds == list(artefacts.KINDS)


def test_crop_stays_on_the_body_and_pads_small_slices():
    hu = np.full((40, 50), -1000.0, np.float32)
    body = np.zeros(hu.shape, bool)
    body[10:20, 30:45] = True
    hu[body] = 40.0
    rng = np.random.default_rng(0)
    for _ in range(10):
        c, b = crop_around_body(hu, body, 24, rng)
        assert c.shape == (24, 24) and b.any()
    c, b = crop_around_body(hu, body, 64, rng)
    assert c.shape == (64, 64) and b.sum() == body.sum() and c.min() == -1024.0


def test_eval_artefacts_are_reproducible_and_mark_no_ops(tiny_slices):
    _, slices = tiny_slices
    a = eval_artefacts(slices, "blur", 1.0, seed=0)
    b = eval_artefacts(slices, "blur", 1.0, seed=0)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    flat = slices_of({"p": [np.where(slices.body[0], 40.0, -1000.0)[None].repeat(2, 0)]},
                     ["p"], 0.05)
    assert eval_artefacts(flat, "erase_bright_spots", 1.0, seed=0) == [None, None]


def test_folder_volumes_reads_phantom_folders_and_scan_folders(tmp_path):
    root = write_phantom_dataset(tmp_path / "ph", patients=2, size=32, slices=3,
                                 phases=("nc", "arterial"), seed=9, sheets=False,
                                 progress=False)
    volumes = folder_volumes(root)
    assert sorted(volumes) == ["patient_000.nii.gz", "patient_001.nii.gz"]
    assert [v.shape for v in volumes["patient_000.nii.gz"]] == [(3, 32, 32)] * 2
    scans = tmp_path / "scans"
    for i in range(2):
        write_scan(make_scan(seed=i), scans / f"s{i}.nii.gz")
    assert len(folder_volumes(scans)) == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        folder_volumes(tmp_path / "empty")
