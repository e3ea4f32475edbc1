"""Physical bounds of a translation: contrast only adds, fat and gas are copied."""

from __future__ import annotations

import numpy as np
import pytest

from ctbridge.inference.bounds import ContrastBounds

SOURCE = np.array([-900.0, -100.0, -50.0, -49.0, 40.0, 40.0, 600.0], np.float32)
TRANSLATED = np.array([-880.0, -90.0, -60.0, -70.0, 20.0, 300.0, 500.0], np.float32)


def test_out_of_non_contrast_never_darker_and_fat_and_gas_copied():
    out = ContrastBounds("nc").apply(SOURCE, TRANSLATED, source="nc", target="arterial")
    assert out.tolist() == [-900.0, -100.0, -50.0, -49.0, 40.0, 300.0, 600.0]
    assert out.dtype == np.float32


def test_into_non_contrast_never_brighter_and_fat_and_gas_copied():
    out = ContrastBounds("nc").apply(SOURCE, TRANSLATED, source="venous", target="nc")
    assert out.tolist() == [-900.0, -100.0, -50.0, -70.0, 20.0, 40.0, 500.0]


def test_between_contrast_phases_only_fat_and_gas_are_copied():
    out = ContrastBounds("nc").apply(SOURCE, TRANSLATED, source="arterial", target="venous")
    assert out.tolist() == [-900.0, -100.0, -50.0, -70.0, 20.0, 300.0, 500.0]


def test_without_a_non_contrast_domain_only_fat_and_gas_are_copied():
    out = ContrastBounds(None).apply(SOURCE, TRANSLATED, source="pre", target="art")
    assert out.tolist() == [-900.0, -100.0, -50.0, -70.0, 20.0, 300.0, 500.0]


def test_without_a_fat_level_only_the_contrast_bound_applies():
    out = ContrastBounds("nc", fat_hu=None).apply(SOURCE, TRANSLATED, source="nc", target="ce")
    assert out.tolist() == [-880.0, -90.0, -50.0, -49.0, 40.0, 300.0, 600.0]


def test_reconstruction_is_left_alone_and_shapes_must_match():
    bounds = ContrastBounds("nc")
    assert bounds.apply(SOURCE, TRANSLATED, source="nc", target="nc") is TRANSLATED
    with pytest.raises(ValueError, match="shape"):
        bounds.apply(SOURCE, TRANSLATED[:3], source="nc", target="ce")
