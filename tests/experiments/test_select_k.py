"""`ctbridge select-k` on a tiny cohort: every K trained with the same budget, scored on the
held-out validation patients, table/plot/JSON written, the chosen K is the best by the rule."""

from __future__ import annotations

import json
import math

import pytest

from ctbridge.cli import main
from ctbridge.datasets.manifest import read_manifest
from ctbridge.errors import ConfigError
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.experiments.select_k import KResult, choose, parse_ks
from ctbridge.experiments.validation import score_translator
from tests.experiments.downstream.cohort import write_cohort

TINY_TRAIN = ["optim.steps=3", "data.batch_size=2", "data.patch_size=16", "model.d_layers=2",
              "tensorboard=false", "log_every=1", "data.phase_of={ce: arterial}"]


def _result(k: int, recall: float, false_calc: float = 0.0, mae: float = 10.0,
            dice: float = math.nan) -> KResult:
    scores = {"plaque_recall": recall, "false_calcifications": false_calc, "mae_body": mae}
    return KResult(k, f"k{k}", 1.0, scores, {"mae_body": mae},
                   {} if math.isnan(dice) else {"dice": dice})


def test_parse_ks_sorts_and_refuses_bad_values():
    assert parse_ks("25, 1,5,5") == [1, 5, 25]
    for bad in ("", "0,5", "a,b"):
        with pytest.raises(ConfigError):
            parse_ks(bad)


def test_choose_by_criterion_with_tie_breaks():
    rs = [_result(1, 0.5, dice=0.2), _result(5, 0.9, false_calc=3, dice=0.4),
          _result(10, 0.9, false_calc=1, dice=0.3), _result(25, 0.7, dice=math.nan)]
    assert choose(rs, "ce_dice").k == 5
    assert choose(rs, "plaque_recall").k == 10  # tie on recall: fewer false calcifications
    same = [_result(5, 0.5, mae=12.0), _result(1, 0.5, mae=12.0)]
    assert choose(same, "plaque_recall").k == 1  # full tie: the smaller K
    assert choose([_result(1, 0.5, mae=30.0), _result(2, 0.1, mae=20.0)], "mae").k == 2


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_select_k_cli_end_to_end(tmp_path):
    data = write_cohort(tmp_path / "cohort", patients=5)
    out = tmp_path / "sel"
    args = ["select-k", "--data", str(data), "--out", str(out), "--k", "1,2",
            "--val-patients", "2", "--downstream-preset", "cpu-small",
            *[a for s in TINY_TRAIN for a in ("--set", s)]]
    tiny_seg = ["segmenter.channels=[4, 8]", "segmenter.strides=[2]",
                "segmenter.num_res_units=0", "segmenter.batch_size=2", "segmenter.steps=2",
                "segmenter.patch=[16, 16]", "segmenter.sw_batch_size=4"]
    args += [a for s in tiny_seg for a in ("--downstream-set", s)]
    assert main(args) == 0
    cohort = load_cohort(data)
    res = json.loads((out / "results.json").read_text())
    assert res["validation_patients"] == ["patient_003.nii.gz", "patient_004.nii.gz"]
    assert [r["k"] for r in res["results"]] == [1, 2]
    for r in res["results"]:
        cfg = (out / f"k{r['k']:02d}" / "config.yaml").read_text()
        assert f"n_components: {r['k']}" in cfg
        assert "patient_003.nii.gz" in cfg  # validation patients held out of training
        assert set(r["downstream"]) >= {"dice", "recall", "precision"}
        # the table's scores are the evaluation's, on the validation patients only
        again = score_translator(out / f"k{r['k']:02d}", f"k{r['k']}", cohort,
                                 res["validation_patients"], source="nc", target="ce",
                                 cache_dir=tmp_path / "again", progress=False)["aggregate"]
        assert r["nc2ce"]["plaque_recall"] == pytest.approx(
            again["plaques"]["recall_pred"]["mean"])
        assert r["nc2ce"]["mae_body"] == pytest.approx(again["image"]["body"]["mae_hu"]["mean"])
    best = choose([KResult(**r) for r in res["results"]], "ce_dice")
    assert res["chosen_k"] == best.k
    md = (out / "results.md").read_text()
    assert f"chosen K = {best.k}" in md and "Downstream reference" in md
    assert (out / "select_k.png").stat().st_size > 1000
    # the raw translations: the same trained runs, every synthetic scan made again
    manifest = out / "synthetic" / "k01" / "nc2ce" / "manifest.csv"
    bounded = {case: row.key for case, row in read_manifest(manifest).items()}
    assert res["bounds"] is True and bounded
    assert main([*args, "--no-bounds"]) == 0
    assert json.loads((out / "results.json").read_text())["bounds"] is False
    free = {case: row.key for case, row in read_manifest(manifest).items()}
    assert free.keys() == bounded.keys() and all(free[c] != bounded[c] for c in free)


def test_select_k_refuses_cyclegan_config(tmp_path):
    data = write_cohort(tmp_path / "cohort", patients=4)
    code = main(["select-k", "--data", str(data), "--out", str(tmp_path / "o"),
                 "--config", "configs/cyclegan.yaml"])
    assert code == 2
