"""The experiments' translated cohorts go through the synthesize loop: cached per scan by
content, redone when the data or the checkpoint change, one manifest per cache folder."""

from __future__ import annotations

import shutil

import pytest

from ctbridge.data.intensity import IntensityScaler
from ctbridge.datasets.manifest import read_manifest
from ctbridge.errors import DataError
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.experiments.downstream.synthetic import translate_cohort
from ctbridge.inference.bounds import ContrastBounds
from ctbridge.inference.enhancement import EnhancementSmoothing
from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan, write_scan
from tests.experiments.downstream.cohort import ShiftModule
from tests.labelled_data import write_checkpoint


def _mtimes(paths):
    return {p.name: p.stat().st_mtime_ns for p in paths.values()}


def test_cache_is_reused_and_redone_per_changed_scan(cohort_dir, tmp_path):
    data = shutil.copytree(cohort_dir, tmp_path / "data")
    cohort = load_cohort(data)
    cache = tmp_path / "cache"
    (cache / "unit" / "nc2ce").mkdir(parents=True)
    (cache / "unit" / "nc2ce" / "source.json").write_text("{}")  # the old cache record
    kw = dict(source="nc", target="ce", cache_dir=cache, progress=False)
    fake = Translator(ShiftModule(), IntensityScaler(), patch_size=None, name="shift")
    paths = translate_cohort(fake, "unit", cohort, cohort.names, **kw)
    assert sorted(paths) == cohort.names and all(p.is_file() for p in paths.values())
    assert not (cache / "unit" / "nc2ce" / "source.json").exists()
    rows = read_manifest(cache / "unit" / "nc2ce" / "manifest.csv")
    assert sorted(rows) == cohort.names and {r.direction for r in rows.values()} == {"nc->ce"}
    before = _mtimes(paths)
    again = Translator(ShiftModule(), IntensityScaler(), patch_size=None, name="shift")
    translate_cohort(again, "unit", cohort, cohort.names, **kw)
    assert again.model.calls == 0 and _mtimes(paths) == before
    # one regenerated scan: only it is translated again
    changed = cohort.scan_path("nc", cohort.names[1])
    scan = read_scan(changed)
    write_scan(scan.with_array(scan.array + 3), changed, dtype="int16")
    translate_cohort(again, "unit", cohort, cohort.names, **kw)
    after = _mtimes(paths)
    assert {n for n in after if after[n] != before[n]} == {cohort.names[1]}


def test_bounds_are_applied_and_switching_them_redoes_the_cache(cohort_dir, tmp_path):
    cohort = load_cohort(cohort_dir)
    names = cohort.names[:2]
    kw = dict(source="nc", target="ce", cache_dir=tmp_path / "cache", progress=False)
    darker = Translator(ShiftModule(-0.05), IntensityScaler(), patch_size=None, name="dark",
                        bounds=ContrastBounds("nc"))  # darkening into contrast: unphysical
    bounded = translate_cohort(darker, "t", cohort, names, **kw)
    for name in names:  # clipped back to the source inside the body, bit for bit
        src = read_scan(cohort.scan_path("nc", name)).array
        assert (read_scan(bounded[name]).array == src).all()
    key = read_manifest(bounded[names[0]].parent / "manifest.csv")[names[0]].key
    free = translate_cohort(darker, "t", cohort, names, bounded=False, **kw)
    assert darker.model.calls == 2 * len(names)  # redone, not taken from the cache
    assert read_manifest(free[names[0]].parent / "manifest.csv")[names[0]].key != key
    src = read_scan(cohort.scan_path("nc", names[0])).array
    assert (read_scan(free[names[0]]).array < src)[src > -500].all()


def test_switching_the_smoothing_redoes_the_cache(cohort_dir, tmp_path):
    cohort = load_cohort(cohort_dir)
    names = cohort.names[:1]
    kw = dict(source="nc", target="ce", cache_dir=tmp_path / "cache", progress=False)
    brighter = Translator(ShiftModule(0.05), IntensityScaler(), patch_size=None, name="b",
                          bounds=ContrastBounds("nc"), smoothing=EnhancementSmoothing())
    keys = []
    for smooth in (True, False, True):
        paths = translate_cohort(brighter, "t", cohort, names, smooth=smooth, **kw)
        keys.append(read_manifest(paths[names[0]].parent / "manifest.csv")[names[0]].key)
    assert keys[0] != keys[1] and keys[2] == keys[0]
    assert brighter.model.calls == 3 * len(names)  # each switch redone, not mixed up


def test_a_retrained_checkpoint_redoes_the_cache(cohort_dir, tmp_path):
    cohort = load_cohort(cohort_dir)
    run = write_checkpoint(tmp_path / "run", seed=0)
    kw = dict(source="nc", target="ce", cache_dir=tmp_path / "cache", progress=False)
    first = read_manifest(translate_cohort(run, "gmm", cohort, cohort.names[:2], **kw)[
        cohort.names[0]].parent / "manifest.csv")
    write_checkpoint(run, seed=1)  # retrained in place: same path, new weights
    second = read_manifest(translate_cohort(run, "gmm", cohort, cohort.names[:2], **kw)[
        cohort.names[0]].parent / "manifest.csv")
    assert all(first[n].key != second[n].key for n in cohort.names[:2])
    assert first[cohort.names[0]].model_sha256 != second[cohort.names[0]].model_sha256


def test_an_untranslatable_scan_stops_the_experiment_with_its_name(cohort_dir, tmp_path):
    data = shutil.copytree(cohort_dir, tmp_path / "data")
    cohort = load_cohort(data)
    cohort.scan_path("nc", cohort.names[2]).write_bytes(b"broken")
    fake = Translator(ShiftModule(), IntensityScaler(), patch_size=None, name="shift")
    with pytest.raises(DataError, match=f"1 of 4 scans could not be translated; "
                                        f"{cohort.names[2]}"):
        translate_cohort(fake, "unit", cohort, cohort.names, source="nc", target="ce",
                         cache_dir=tmp_path / "cache", progress=False)
