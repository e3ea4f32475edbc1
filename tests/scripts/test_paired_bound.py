"""scripts/paired_bound.py: the supervised ceiling must train on the right answer.

Its number in docs/results.md is only a ceiling if the target is exactly the noise-keeping perfect
translation and both domains' patches come from one patient at one place.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from ctbridge.data.intensity import IntensityScaler
from ctbridge.data.patch_sampler import load_training_volume
from ctbridge.phantom.dataset import write_phantom_dataset
from ctbridge.phantom.generate import generate_patient

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def paired_bound():
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location("paired_bound", SCRIPTS / "paired_bound.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantom")
    write_phantom_dataset(out, patients=2, size=64, slices=6, slice_mm=2.5,
                          phases=("nc", "arterial"), seed=3, progress=False, sheets=False)
    return out


def test_targets_are_the_noise_keeping_perfect_translation(paired_bound, cohort):
    scaler = IntensityScaler()
    phases = {"nc": "nc", "ce": "arterial"}
    loaded = {d: [load_training_volume(cohort / ph / "patient_001.nii.gz", scaler)]
              for d, ph in phases.items()}
    targets = paired_bound.noise_keeping_targets(cohort, ["patient_001"], phases, loaded, scaler)
    meta = json.loads((cohort / "dataset.json").read_text())
    entry = meta["patients"][1]
    clean = generate_patient(entry["seed"], size=64, slices=6, slice_mm=2.5,
                             phases=("nc", "arterial"), noise_hu=0.0,
                             plaques_max=meta["plaques_max"]).volumes
    nc = scaler.to_hu(load_training_volume(cohort / "nc" / "patient_001.nii.gz", scaler).values)
    ce = scaler.to_hu(load_training_volume(cohort / "arterial" / "patient_001.nii.gz",
                                           scaler).values)
    into_ce = scaler.to_hu(targets["ce"][0])
    into_nc = scaler.to_hu(targets["nc"][0])
    # the target keeps the source's noise and adds the noise-free change
    change = clean["arterial"] - clean["nc"]
    np.testing.assert_allclose(into_ce - nc, change, atol=0.5)
    np.testing.assert_allclose(into_nc - ce, -change, atol=0.5)
    # and it is the true phase up to the difference of the two noises (15 HU each)
    noise = (into_ce - ce)[np.abs(change) < 1]
    assert 15 < noise.std() < 30 and abs(noise.mean()) < 2


def test_sampler_cuts_one_patient_at_one_place(paired_bound, cohort):
    scaler = IntensityScaler()
    phases = {"nc": "nc", "ce": "arterial"}
    names = ["patient_000", "patient_001"]
    volumes = {d: [load_training_volume(cohort / ph / f"{n}.nii.gz", scaler) for n in names]
               for d, ph in phases.items()}
    targets = paired_bound.noise_keeping_targets(cohort, names, phases, volumes, scaler)
    sampler = paired_bound.PairedPatchSampler(volumes, targets, patch_size=16, batch_size=6,
                                              bright_fraction=0.3, seed=1)
    batch = sampler.batch(step=5)
    assert sorted(batch) == ["ce", "nc", "target_ce", "target_nc"]
    assert all(v.shape == (6, 1, 16, 16) for v in batch.values())
    # each nc patch, plus the noise-free change at its place, is its ce target exactly:
    # one patient and one location for all four (a shifted or swapped cut would not be)
    for i in range(6):
        nc = scaler.to_hu(batch["nc"][i, 0].numpy())
        ce = scaler.to_hu(batch["ce"][i, 0].numpy())
        gap_ce = scaler.to_hu(batch["target_ce"][i, 0].numpy()) - nc
        gap_nc = scaler.to_hu(batch["target_nc"][i, 0].numpy()) - ce
        np.testing.assert_allclose(gap_ce, -gap_nc, atol=0.5)
    assert (sampler.batch(step=5)["nc"] == batch["nc"]).all()  # a pure function of the step


def test_paired_training_runs_on_the_schedule_and_saves_a_checkpoint(paired_bound, cohort,
                                                                      tmp_path):
    from ctbridge.config import load_config
    from ctbridge.training.config import TrainConfig

    cfg = load_config(TrainConfig, "gmm_unit", overrides=[
        "device=cpu", "model.width=0.125", "model.n_components=3", "data.batch_size=4",
        "data.patch_size=16", "model.d_layers=2", "optim.steps=4", "optim.d_warmup_steps=0",
        "optim.lr=0.001", "optim.decay_start=0", "log_every=1", "sample_every=1000",
        "checkpoint_every=4", "tensorboard=false", "data.phase_of={ce: arterial}"])
    run = tmp_path / "run"
    trainer = paired_bound.PairedBoundTrainer(cfg, cohort, run, ["patient_000", "patient_001"],
                                              progress=False)
    trainer.run()
    assert (run / "checkpoints" / "latest" / "model.safetensors").is_file()
    lines = (run / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert {"g/nc2ce", "g/ce2nc", "g/total", "lr"} <= set(header)
    lrs = [float(r["lr"]) for r in rows]  # row k holds update k - 1: 1e-3 * (1 - (k - 1) / 4)
    assert lrs == pytest.approx([0.001, 0.00075, 0.0005, 0.00025], rel=1e-6)
