"""The experiment plumbing end to end on a tiny cohort: rows, folds, caching, outputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ctbridge.config import load_config
from ctbridge.data.intensity import IntensityScaler
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.experiments.downstream.config import PancreasConfig, PlaqueConfig
from ctbridge.experiments.downstream.pancreas import PancreasExperiment, grid_shape, run_pancreas
from ctbridge.experiments.downstream.plaque import PlaqueExperiment, run_plaque
from ctbridge.experiments.downstream.store import VolumeStore
from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan
from tests.conftest import RejectSlices
from tests.experiments.downstream.cohort import ShiftModule
from tests.experiments.downstream.conftest import TINY

ROWS = ["baseline", "cyclegan", "unit", "gmm_unit", "oracle"]


def _fake_translator() -> Translator:
    return Translator(ShiftModule(), IntensityScaler(), patch_size=None, name="shift")


def test_plaque_rows_columns_and_synthetic_path(cohort_dir, tmp_path):
    fake = _fake_translator()
    md = run_plaque(cohort_dir, tmp_path / "plaque", overrides=[*TINY, "segmenter.patch=[16, 16]"],
                    translators={"gmm_unit": fake})
    results = json.loads((tmp_path / "plaque" / "results.json").read_text())
    assert results["complete"] and results["experiment"] == "plaque"
    assert [r["key"] for r in results["rows"]] == ROWS
    status = {r["key"]: r["status"] for r in results["rows"]}
    assert status == {"baseline": "ok", "cyclegan": "skipped", "unit": "skipped",
                      "gmm_unit": "ok", "oracle": "ok"}
    gmm = next(r for r in results["rows"] if r["key"] == "gmm_unit")
    assert len(gmm["folds"]) == 2
    for fold in gmm["folds"]:
        assert set(fold["test"]) == {"nc", "ce"}
        assert not set(fold["train"]) & set(fold["test_patients"])
        for scores in fold["test"].values():
            assert {"precision", "recall", "dice"} <= set(scores)
            assert scores["plaques"] == 2 * len(fold["test_patients"])  # 2 plaques each
    assert set(gmm["summary"]) == {"nc", "ce"}
    assert gmm["summary"]["nc"]["dice"]["n"] == 2
    # every patient's NC was translated once through the fake model and cached as CE
    cached = sorted(p.name for p in (tmp_path / "plaque/synthetic/gmm_unit/nc2ce").glob("*.nii.gz"))
    assert cached == results["patients"]
    assert fake.model.calls >= 4
    text = md.read_text()
    header = next(line for line in text.splitlines() if line.startswith("| Training data"))
    assert header.split(" | ")[1:] == ["NC precision", "NC recall", "NC Dice", "CE precision",
                                       "CE recall", "CE Dice |"]
    assert "| NC only (baseline) |" in text
    assert "NC + GMM-UNIT (ours) synthetic CE |" in text
    assert "NC + UNIT synthetic CE *(not run)*" in text
    assert "NC + real CE (oracle) |" in text
    assert "--translator cyclegan=RUN_DIR" in text
    assert (tmp_path / "plaque" / "config.yaml").is_file()


def test_cached_translations_are_reused(cohort_dir, tmp_path):
    """A second run (another output folder, so nothing is resumed) sharing the cache."""
    cache = tmp_path / "cache"
    args = [*TINY, "segmenter.patch=[16, 16]", f"cache_dir={cache}", "oracle=false",
            "segmenter.steps=1"]
    run_plaque(cohort_dir, tmp_path / "run", overrides=args,
               translators={"unit": _fake_translator()})
    first = {p.name: p.stat().st_mtime_ns for p in (cache / "unit/nc2ce").glob("*.nii.gz")}
    again = _fake_translator()
    run_plaque(cohort_dir, tmp_path / "run2", overrides=args, translators={"unit": again})
    assert again.model.calls == 0
    assert {p.name: p.stat().st_mtime_ns for p in (cache / "unit/nc2ce").glob("*.nii.gz")} == first
    rows = json.loads((tmp_path / "run2" / "results.json").read_text())["rows"]
    assert rows[-1]["status"] == "skipped" and "oracle" in rows[-1]["reason"]


def test_pancreas_rows_columns_and_coarse_grid(cohort_dir, tmp_path):
    md = run_pancreas(cohort_dir, tmp_path / "pancreas",
                      overrides=[*TINY, "segmenter.patch=[4, 16, 16]", "spacing_mm=[4, 4, 3]"],
                      translators={"cyclegan": _fake_translator()})
    results = json.loads((tmp_path / "pancreas" / "results.json").read_text())
    assert [r["status"] for r in results["rows"]] == ["ok", "ok", "skipped", "skipped", "ok"]
    fold = results["rows"][1]["folds"][0]
    for scores in fold["test"].values():
        assert {"precision", "recall", "dice", "fp_voxels", "fp_ml"} <= set(scores)
        assert scores["fp_ml"] == pytest.approx(scores["fp_voxels"] * 4 * 4 * 3 / 1000)
        assert math.isfinite(scores["dice"])
    assert (tmp_path / "pancreas/synthetic/cyclegan/ce2nc").is_dir()
    text = md.read_text()
    assert "| CE only (baseline) |" in text and "CE + CycleGAN synthetic NC |" in text
    assert "NC FP voxels" in text and "CE FP voxels" in text
    assert "CE + real NC (oracle)" in text


def test_grid_shape_follows_spacing():
    assert grid_shape((24, 256, 256), (1.4, 1.4, 3.0), (2.8, 2.8, 3.0)) == (24, 128, 128)
    assert grid_shape((4, 32, 32), (2.0, 2.0, 3.0), None) == (4, 32, 32)


@pytest.mark.parametrize("cls, name", [(PlaqueConfig, "plaque"), (PancreasConfig, "pancreas")])
@pytest.mark.parametrize("preset", ["cpu-small", "full", "quick", "cpu-small,quick", "cpu-tables",
                                    None])
def test_shipped_configs_and_presets_validate(cls, name, preset):
    cfg = load_config(cls, f"experiment_{name}", preset=preset)
    assert cfg.experiment == name
    if preset in ("cpu-small", "quick", "cpu-small,quick"):
        assert cfg.device == "cpu" and cfg.folds == 2 and cfg.threads == 1
    if preset and "quick" in preset:
        assert (cfg.segmenter.channels, cfg.segmenter.steps) == ([4, 8], 3)
    if preset == "cpu-small,quick":  # quick changes only what it names
        assert cfg.segmenter.lr == 0.002
    if preset == "cpu-tables":  # cpu-small with the paper's folds (and the plaque ceiling's steps)
        small = load_config(cls, f"experiment_{name}", preset="cpu-small")
        assert cfg.folds == 5 and cfg.threads == 1
        assert cfg.segmenter.steps == (6000 if name == "plaque" else small.segmenter.steps)
        assert cfg.segmenter.channels == small.segmenter.channels


def test_qc_drops_rejected_synthetic_slices_only(cohort_dir, tmp_path):
    cohort = load_cohort(cohort_dir)
    name = cohort.names[0]
    path = cohort.scan_path("ce", name)
    store = VolumeStore(PlaqueExperiment(PlaqueConfig(), cohort), RejectSlices([0, 2]))
    real = store.real("nc", name)
    syn = store.get("syn:gmm_unit", name, path)
    assert real.image.shape[0] == 4  # real data is never filtered
    assert syn.image.shape[0] == 2
    full = PlaqueExperiment(PlaqueConfig(), cohort).volume(read_scan(path), name)
    np.testing.assert_array_equal(syn.image, full.image[[1, 3]])
    np.testing.assert_array_equal(syn.target, full.target[[1, 3]])
    assert store.qc_counts["syn:gmm_unit"] == {"slices": 4, "rejected_slices": 2, "volumes": 1,
                                               "rejected_volumes": 0}
    # 3D: a volume is kept whole below the rejected fraction and dropped above it
    cfg = load_config(PancreasConfig, "experiment_pancreas")
    assert cfg.qc_max_rejected == 0.5
    whole = PancreasExperiment(cfg, cohort).volume(read_scan(path), name)
    keep = VolumeStore(PancreasExperiment(cfg, cohort), RejectSlices([0, 2]))
    np.testing.assert_array_equal(keep.get("syn:unit", name, path).image, whole.image)
    drop = VolumeStore(PancreasExperiment(cfg, cohort), RejectSlices([0, 1, 2]))
    assert drop.get("syn:unit", name, path) is None
    assert drop.qc_counts["syn:unit"]["rejected_volumes"] == 1
