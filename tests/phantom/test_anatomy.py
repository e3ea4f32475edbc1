"""Random anatomy: seeds are patients, and the vessel course is anatomical."""

from __future__ import annotations

import numpy as np

from ctbridge.phantom.anatomy import random_anatomy


def test_same_seed_same_patient_different_seed_different_patient():
    assert random_anatomy(4) == random_anatomy(4)
    a, b = random_anatomy(4), random_anatomy(5)
    assert a != b
    assert a.body_a != b.body_a and a.aorta_centre(0.5) != b.aorta_centre(0.5)


def test_aorta_bifurcates_into_iliacs_left_and_right_of_the_midline():
    for seed in range(5):
        p = random_anatomy(seed)
        (lx, _), (rx, _) = p.iliac_centres(1.0)
        assert lx > 15 and rx < -15  # x points to the patient's left
        assert p.iliac_centres(p.bifurcation_t)[0] == p.iliac_centres(p.bifurcation_t)[1]
        assert p.aorta_centre(0.3)[1] < p.vertebra_y(0.3)  # anterior to the spine
        assert p.ivc_x < 0 < p.aorta_centre(0.1)[0]  # IVC right, aorta left


def test_plaque_burden_follows_plaques_max():
    counts = [len(random_anatomy(s, plaques_max=20).plaques) for s in range(10)]
    assert len(set(counts)) >= 4 and max(counts) <= 20
    assert all(len(random_anatomy(s, plaques_max=0).plaques) == 0 for s in range(5))
    for pl in random_anatomy(1, plaques_max=20).plaques:
        assert 0.5 <= pl.diameter <= 3.0 and pl.calcium_hu >= 130
        assert abs(pl.offset) < pl.diameter / 2  # it straddles the lumen edge: on the wall
        assert np.isfinite(pl.t)
