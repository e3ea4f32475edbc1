"""Fixtures: a tiny on-disk cohort and a tiny segmenter config."""

from __future__ import annotations

import pytest

from tests.experiments.downstream.cohort import write_cohort

TINY = ["folds=2", "device=cpu", "progress=false", "segmenter.channels=[4, 8]",
        "segmenter.strides=[2]", "segmenter.num_res_units=0", "segmenter.batch_size=2",
        "segmenter.steps=2", "segmenter.sw_batch_size=4"]


@pytest.fixture(scope="session")
def cohort_dir(tmp_path_factory):
    return write_cohort(tmp_path_factory.mktemp("cohort"))
