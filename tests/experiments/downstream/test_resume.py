"""Rerunning an experiment into its folder resumes: finished (row, fold) results are reused,
missing ones trained, results of another config refused."""

from __future__ import annotations

import json

import pytest

from ctbridge.errors import ConfigError
from ctbridge.experiments.downstream import runner
from ctbridge.experiments.downstream.plaque import run_plaque
from tests.experiments.downstream.conftest import TINY
from tests.experiments.downstream.test_experiments import _fake_translator

ARGS = [*TINY, "segmenter.patch=[16, 16]", "segmenter.steps=1"]


class Crash(Exception):
    pass


@pytest.fixture
def trained(monkeypatch):
    """The descriptions of the segmenters trained; ``trained.crash_at = N`` fails the N-th."""
    real = runner.train_segmenter
    calls: list[str] = []

    def counting(*args, **kwargs):
        calls.append(kwargs["desc"])
        if len(calls) == getattr(counting, "crash_at", 0):
            raise Crash
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "train_segmenter", counting)
    counting.calls = calls
    return counting


def _results(out):
    return json.loads((out / "results.json").read_text())


def test_a_rerun_trains_only_what_is_missing(cohort_dir, tmp_path, trained):
    out = tmp_path / "o"
    trained.crash_at = 3  # baseline's two folds, then the oracle's first fails
    with pytest.raises(Crash):
        run_plaque(cohort_dir, out, overrides=ARGS)
    partial = _results(out)  # written after every fold
    assert not partial["complete"]
    assert [(r["key"], len(r["folds"])) for r in partial["rows"]
            if r["status"] == "ok"] == [("baseline", 2)]
    trained.crash_at, trained.calls[:] = 0, []
    run_plaque(cohort_dir, out, overrides=ARGS)
    assert trained.calls == ["plaque oracle fold 0", "plaque oracle fold 1"]
    full = _results(out)
    assert full["complete"] and full["resumed_folds"] == 2 and "comparisons" in full
    assert full["rows"][0]["folds"] == partial["rows"][0]["folds"]

    trained.calls[:] = []  # runtime-only fields may change
    run_plaque(cohort_dir, out, overrides=[*ARGS, "threads=1", "comparisons=[[oracle, baseline]]",
                                           "bootstrap_resamples=100"])
    assert trained.calls == []
    assert [c["against"] for c in _results(out)["comparisons"]["results"]] == ["baseline"] * 4

    data = _results(out)
    del data["rows"][-1]["folds"][1]
    (out / "results.json").write_text(json.dumps(data))
    run_plaque(cohort_dir, out, overrides=ARGS)
    assert trained.calls == ["plaque oracle fold 1"]


def test_a_different_config_is_refused_naming_the_keys(cohort_dir, tmp_path, trained):
    out = tmp_path / "o"
    run_plaque(cohort_dir, out, overrides=[*ARGS, "oracle=false"])
    trained.calls[:] = []
    with pytest.raises(ConfigError) as err:
        run_plaque(cohort_dir, out, overrides=[*ARGS, "oracle=false", "segmenter.steps=2",
                                               "size_bins=[5]"])
    message = str(err.value)
    assert "\n" not in message and "new --out" in message
    assert "(segmenter.steps, size_bins differ)" in message
    assert trained.calls == [] and _results(out)["config"]["segmenter"]["steps"] == 1


def test_an_added_translator_adds_its_row_and_a_changed_one_is_refused(cohort_dir, tmp_path,
                                                                       trained):
    out = tmp_path / "o"
    args = [*ARGS, "oracle=false"]
    run_plaque(cohort_dir, out, overrides=args)
    trained.calls[:] = []
    run_plaque(cohort_dir, out, overrides=args, translators={"gmm_unit": _fake_translator()})
    assert trained.calls == ["plaque gmm_unit fold 0", "plaque gmm_unit fold 1"]
    other = _fake_translator()
    other.name = "another"
    with pytest.raises(ConfigError, match=r"\(translators\.gmm_unit differ\)"):
        run_plaque(cohort_dir, out, overrides=args, translators={"gmm_unit": other})
    with pytest.raises(ConfigError, match=r"\(translators\.gmm_unit differ\)"):
        run_plaque(cohort_dir, out, overrides=args)  # dropping it would lose its row


def test_results_without_a_config_record_are_refused(cohort_dir, tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    (out / "results.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ConfigError, match="cannot be resumed; use a new --out"):
        run_plaque(cohort_dir, out, overrides=ARGS)
