"""Smoothing the change a translation into contrast makes: blotches go, edges and big changes
stay, zero stays zero, radii follow the pixel size."""

from __future__ import annotations

import numpy as np
import pytest

from ctbridge.inference.enhancement import EnhancementSmoothing, self_guided_filter

SPACING = (1.4, 1.4, 3.0)  # the phantom's (x, y, z) mm: radius 8 px


def test_flat_blotchy_change_is_averaged_to_its_mean():
    rng = np.random.default_rng(0)
    source = (40 + 15 * rng.standard_normal((2, 96, 96))).astype(np.float32)  # noise stays
    change = 50 + 18 * rng.standard_normal((2, 96, 96)).astype(np.float32)
    out = EnhancementSmoothing().apply(source, source + change, SPACING)
    kept = out - source
    assert abs(float(kept.mean()) - float(change.mean())) < 1.0
    assert float(kept.std()) < 0.4 * float(change.std())


def test_lumen_edge_and_large_changes_are_kept():
    """A 250-HU disc (a contrast-filled lumen) keeps its value and does not bleed outwards."""
    yy, xx = np.mgrid[:64, :64]
    disc = (yy - 32) ** 2 + (xx - 32) ** 2 <= 8 ** 2
    change = np.where(disc, 250.0, 0.0).astype(np.float32)[None]
    source = np.full_like(change, 40.0)
    out = EnhancementSmoothing().apply(source, source + change, SPACING) - source
    np.testing.assert_array_equal(out[0][disc], 250.0)
    ring = ((yy - 32) ** 2 + (xx - 32) ** 2 > 8 ** 2) & ((yy - 32) ** 2 + (xx - 32) ** 2 <= 10 ** 2)
    assert float(out[0][ring].max()) < 25.0


def test_no_change_stays_no_change_and_dtype_is_kept():
    source = np.random.default_rng(1).normal(0, 100, (3, 40, 50)).astype(np.float32)
    out = EnhancementSmoothing().apply(source, source.copy(), SPACING)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, source, atol=1e-4)


def test_each_slice_is_filtered_on_its_own():
    change = np.zeros((3, 32, 32), np.float32)
    change[1] = 60.0
    out = self_guided_filter(change, (4, 4), 25.0 ** 2)
    np.testing.assert_array_equal(out[0], 0.0)
    np.testing.assert_allclose(out[1], 60.0, atol=1e-3)


@pytest.mark.parametrize(("spacing", "radius"), [((1.4, 1.4, 3.0), (8, 8)),
                                                 ((0.7, 0.7, 1.0), (16, 16)),
                                                 ((1.4, 0.7, 1.0), (16, 8)),
                                                 ((40.0, 40.0, 5.0), (1, 1))])
def test_radius_in_pixels_follows_the_pixel_size(spacing, radius):
    assert EnhancementSmoothing(radius_mm=11.0).radius_px(spacing) == radius


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in shape"):
        EnhancementSmoothing().apply(np.zeros((1, 8, 8)), np.zeros((1, 8, 9)), SPACING)


def test_tag_names_the_parameters():
    assert EnhancementSmoothing(11, 25, 150).tag == "smooth:11mm,25HU,150HU"
