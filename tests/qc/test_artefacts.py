"""Each artefact: a no-op at strength 0, deterministic per seed, and the amount it states."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ctbridge.data.body_mask import body_mask
from ctbridge.phantom import generate_patient
from ctbridge.qc.artefacts import (
    BLUR_MAX_SIGMA,
    CHECKER_MAX_HU,
    DRIFT_MAX_HU,
    KINDS,
    SEAM_MAX_HU,
    apply_artefact,
    blur,
    checkerboard,
    erase_bright_spots,
    hallucinated_spots,
    intensity_drift,
    noise_level,
    noise_texture,
    small_bright_structures,
    tile_seams,
)

SIZE = 96


@pytest.fixture(scope="module")
def phantom_slice() -> tuple[np.ndarray, np.ndarray]:
    """A real phantom slice (NC, mid-abdomen) and its body mask."""
    vol = generate_patient(11, size=SIZE, slices=6, phases=("nc",)).volumes["nc"]
    body = body_mask(vol)
    return vol[3], body[3]


def disc_slice(seed: int = 0, noise: float = 15.0) -> tuple[np.ndarray, np.ndarray]:
    """Air around a 40 HU soft-tissue disc with white noise: a controlled body."""
    yy, xx = np.indices((SIZE, SIZE))
    body = (yy - SIZE / 2) ** 2 + (xx - SIZE / 2) ** 2 < (0.4 * SIZE) ** 2
    rng = np.random.default_rng(seed)
    hu = np.where(body, 40.0 + noise * rng.standard_normal((SIZE, SIZE)), -1000.0)
    return hu.astype(np.float32), body


@pytest.mark.parametrize("kind", KINDS)
def test_strength_zero_is_an_exact_copy(kind, phantom_slice):
    hu, body = phantom_slice
    out = apply_artefact(kind, hu, 0.0, np.random.default_rng(0), body=body)
    assert out is not hu and out.dtype == np.float32
    np.testing.assert_array_equal(out, hu)


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_per_seed_and_input_untouched(kind):
    hu, body = disc_slice()
    hu[30:32, 40:42] = 600.0  # something to erase
    before = hu.copy()
    a = apply_artefact(kind, hu, 0.8, np.random.default_rng(5), body=body)
    b = apply_artefact(kind, hu, 0.8, np.random.default_rng(5), body=body)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(hu, before)
    assert np.abs(a - hu).max() > 1.0, f"{kind} changed nothing at strength 0.8"
    assert np.all(a[~body] == hu[~body]), f"{kind} changed air outside the body"
    if kind not in ("blur", "erase_bright_spots"):  # these two have no random draw to vary
        c = apply_artefact(kind, hu, 0.8, np.random.default_rng(6), body=body)
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("strength", [0.5, 1.0])
def test_checkerboard_amplitude(strength):
    hu, body = disc_slice()
    out = checkerboard(hu, strength, np.random.default_rng(1), body=body)
    d = (out - hu)[body]
    assert np.abs(d).max() == pytest.approx(CHECKER_MAX_HU * strength, rel=1e-4)
    # a periodic pattern: the change averages out
    assert abs(d.mean()) < 0.1 * CHECKER_MAX_HU * strength


def test_checkerboard_of_period_2_changes_every_body_pixel_by_the_amplitude():
    hu, body = disc_slice()
    for seed in range(20):
        rng = np.random.default_rng(seed)
        if int(np.random.default_rng(seed).integers(2, 5)) == 2:
            d = (checkerboard(hu, 1.0, rng, body=body) - hu)[body]
            np.testing.assert_allclose(np.abs(d), CHECKER_MAX_HU, rtol=1e-4)
            return
    pytest.fail("no seed in 0..19 drew period 2")


def test_tile_seams_amount():
    hu, body = disc_slice()
    out = tile_seams(hu, 1.0, np.random.default_rng(2), body=body)
    d = np.abs(out - hu)[body]
    assert d.max() <= 1.5 * SEAM_MAX_HU + 1e-3
    # at least one full border line: many pixels change by >= half the line amplitude
    assert (d >= 0.5 * SEAM_MAX_HU - 1e-3).sum() >= 0.5 * SIZE


def test_blur_removes_noise_and_one_pixel_plaques():
    hu, body = disc_slice()
    hu[48, 48] = 40.0 + 800.0  # a 1-px plaque
    inner = ndimage.binary_erosion(body, iterations=8)
    for seed in range(5):
        out = blur(hu, 1.0, np.random.default_rng(seed), body=body)
        inner_no_plaque = inner.copy()
        inner_no_plaque[40:57, 40:57] = False
        assert out[inner_no_plaque].std() < 0.2 * 15.0
        assert out[48, 48] - 40.0 < 0.1 * 800.0
    assert BLUR_MAX_SIGMA * 0.75 >= 1.5


def test_small_bright_structures_are_plaques_not_bone_or_speckle():
    hu, body = disc_slice()
    hu[30:32, 40:42] = 600.0  # plaque: 4 px
    hu[60:75, 30:45] = 700.0  # bone: 225 px, too large
    found = small_bright_structures(hu, body)
    assert len(found) == 1 and found[0][30, 40]


def test_erase_bright_spots_removes_the_fraction_asked():
    hu, body = disc_slice()
    spots = [(30, 40), (50, 60), (66, 36)]
    for y, x in spots:
        hu[y:y + 2, x:x + 2] = 600.0
    full = erase_bright_spots(hu, 1.0, np.random.default_rng(3), body=body)
    assert all(full[y:y + 2, x:x + 2].max() < 130.0 for y, x in spots)
    assert small_bright_structures(full, body) == []
    half = erase_bright_spots(hu, 0.5, np.random.default_rng(3), body=body)
    assert len(small_bright_structures(half, body)) == 1  # ceil(0.5 * 3) = 2 erased
    # erased pixels take the level of their surroundings (40 HU soft tissue)
    assert np.all(np.abs(full[30:32, 40:42] - 40.0) < 10.0)


def test_erase_bright_spots_without_any_is_a_no_op():
    hu, body = disc_slice()
    np.testing.assert_array_equal(erase_bright_spots(hu, 1.0, np.random.default_rng(0),
                                                     body=body), hu)


@pytest.mark.parametrize("strength", [0.2, 1.0])
def test_hallucinated_spots_reach_200_hu(strength):
    hu, body = disc_slice()
    out = hallucinated_spots(hu, strength, np.random.default_rng(4), body=body)
    labels, n = ndimage.label(out > 130.0)
    assert 1 <= n <= max(1, round(5 * strength))
    assert out.max() >= 200.0
    assert out.max() <= 800.0 + 1e-3
    sizes = np.bincount(labels.ravel())[1:]
    assert sizes.max() <= 45  # small: FWHM <= 4 px, so > 130 HU within a radius of 3.5 px


@pytest.mark.parametrize("strength", [0.5, 1.0])
def test_intensity_drift_is_smooth_and_sized(strength):
    hu, body = disc_slice(noise=0.0)
    for seed in range(5):
        d = intensity_drift(hu, strength, np.random.default_rng(seed), body=body) - hu
        peak = np.abs(d).max()
        assert 0.6 * DRIFT_MAX_HU * strength - 1e-3 <= peak <= DRIFT_MAX_HU * strength + 1e-3
        grad = np.abs(np.diff(d, axis=1))[body[:, 1:] & body[:, :-1]]
        assert grad.max() < 0.15 * peak  # low-frequency: no edge


def test_noise_texture_has_the_stated_level_and_grain(phantom_slice):
    hu, body = phantom_slice
    level = noise_level(hu, body)
    assert 10.0 < level < 20.0  # the phantom's 15 HU
    for seed in range(5):
        d = (noise_texture(hu, 1.0, np.random.default_rng(seed), body=body) - hu)
        assert 0.8 * level < d[body].std() < 1.8 * level
        a, b = d[:, 1:][body[:, 1:] & body[:, :-1]], d[:, :-1][body[:, 1:] & body[:, :-1]]
        assert np.corrcoef(a, b)[0, 1] > 0.5  # correlated, unlike CT's near-white noise


def test_bad_arguments():
    hu, body = disc_slice()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown artefact"):
        apply_artefact("ringing", hu, 0.5, rng)
    with pytest.raises(ValueError, match="strength"):
        blur(hu, 1.5, rng)
    with pytest.raises(ValueError, match="one"):
        blur(hu[None], 0.5, rng)
    with pytest.raises(ValueError, match="mask"):
        blur(hu, 0.5, rng, body=body[1:])
