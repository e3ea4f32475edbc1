"""Scoring a translator against the true other phase: known answers with stand-in networks."""

from __future__ import annotations

import numpy as np
import pytest

from ctbridge.data.intensity import IntensityScaler
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.experiments.validation import score_translator
from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan
from tests.experiments.downstream.cohort import ShiftModule, write_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return load_cohort(write_cohort(tmp_path_factory.mktemp("c"), patients=3))


def test_no_op_translator_scores_the_input_against_the_truth(cohort, tmp_path):
    names = cohort.names[:2]
    tr = Translator(ShiftModule(0.0), IntensityScaler(), patch_size=None, name="noop")
    res = score_translator(tr, "noop", cohort, names, source="nc", target="ce",
                           cache_dir=tmp_path, progress=False)
    assert len(res["scans"]) == 2
    for scan, name in zip(res["scans"], names, strict=True):
        nc = read_scan(cohort.scan_path("nc", name)).array
        ce = read_scan(cohort.scan_path("ce", name)).array
        body = nc > -500
        # MAE of the untouched input vs the true CE (int16 files: exact to rounding)
        assert scan["image"]["body"]["mae_hu"] == pytest.approx(
            float(np.abs(nc - ce)[body].mean()), abs=0.5)
        # plaques are identical in both phases, so keeping the input keeps every plaque
        assert scan["plaques"]["recall_pred"] == scan["plaques"]["recall_truth"] == 1.0
        # scored against its source: the input captures none of the enhancement (the int16
        # files round the no-op's output by at most 1 HU), and makes nothing up
        change = scan["change"]
        assert change["enhancement"]["aorta"]["captured"] == pytest.approx(0.0, abs=0.01)
        assert change["enhancement"]["aorta"]["truth_hu"] > 200
        assert change["made_up"]["voxels"] == 0
    assert res["aggregate"]["plaques"]["recall_pred"]["n"] == 2


def test_a_brightening_translator_scores_worse(cohort, tmp_path):
    name = cohort.names[:1]
    ok = score_translator(Translator(ShiftModule(0.0), IntensityScaler(), patch_size=None,
                                     name="a"), "a", cohort, name, source="nc", target="ce",
                          cache_dir=tmp_path, progress=False)
    off = score_translator(Translator(ShiftModule(0.3), IntensityScaler(), patch_size=None,
                                      name="b"), "b", cohort, name, source="nc", target="ce",
                           cache_dir=tmp_path, progress=False)
    assert off["scans"][0]["image"]["body"]["mae_hu"] > ok["scans"][0]["image"]["body"][
        "mae_hu"] + 100
