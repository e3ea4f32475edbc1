"""Tiling, blending, geometry and failure modes of whole-scan translation.

An identity-like network isolates the inference machinery: any seam, offset or blending error
shows up as a difference from the input.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ctbridge.data.intensity import IntensityScaler
from ctbridge.errors import CheckpointError
from ctbridge.inference.bounds import ContrastBounds
from ctbridge.inference.enhancement import EnhancementSmoothing
from ctbridge.inference.translator import Translator
from tests.conftest import make_scan, rotation
from tests.labelled_data import write_checkpoint


class IdentityLike(torch.nn.Module):
    """Fully convolutional 'translator' that returns its input (plus an optional shift)."""

    domains = ["nc", "ce"]
    downsampling = 2

    def __init__(self, shift: float = 0.0, noise: float = 0.0) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0, 1, 1] = 1.0
        self.shift, self.noise = shift, noise

    def translate(self, x, source, target, *, sample=False):
        assert x.shape[-1] % 4 == 0 and x.shape[-2] % 4 == 0
        y = self.conv(x) + self.shift
        return y + self.noise * torch.randn_like(y) if sample else y


def _body_scan(shape=(3, 70, 90), **kw):
    scan = make_scan(shape=shape, **kw)
    return scan


@pytest.mark.parametrize("mode", ["window", "full"])
def test_identity_model_gives_back_the_input_within_1_hu(mode):
    scan = _body_scan()
    tr = Translator(IdentityLike(), IntensityScaler(), patch_size=32)
    out = tr.translate_scan(scan, "ce", mode=mode, overlap=0.5).scan
    assert np.abs(out.array - scan.array).max() < 1.0
    assert out.metadata["series_description"].endswith("nc->ce")


def test_air_stays_air_even_when_the_model_shifts_everything():
    scan = _body_scan()
    tr = Translator(IdentityLike(shift=0.1), IntensityScaler(), patch_size=32)
    out = tr.translate_scan(scan, "ce", mode="full").scan
    air = scan.array < -900
    np.testing.assert_array_equal(out.array[air], scan.array[air])
    assert np.all(out.array[~air] != scan.array[~air])


@pytest.mark.parametrize(("source", "target", "shift"), [("nc", "ce", -0.1), ("ce", "nc", 0.1)])
def test_bounds_undo_a_change_against_physics_and_copy_fat(source, target, shift):
    """A model that darkens into contrast (or brightens out of it) changes nothing, bounded."""
    scan = _body_scan()
    scan.array[:, 30:40, 30:60] = -100.0  # fat inside the body
    tr = Translator(IdentityLike(shift=shift), IntensityScaler(), patch_size=32,
                    bounds=ContrastBounds("nc"))
    bounded = tr.translate_scan(scan, target, source=source, mode="full").scan.array
    np.testing.assert_array_equal(bounded, scan.array)
    free = tr.translate_scan(scan, target, source=source, mode="full", bounded=False).scan.array
    body = scan.array > -900
    assert np.all(free[body] != scan.array[body])
    tr_ok = Translator(IdentityLike(shift=-shift), IntensityScaler(), patch_size=32,
                       bounds=ContrastBounds("nc"))  # the physical direction passes
    allowed = tr_ok.translate_scan(scan, target, source=source, mode="full").scan.array
    fat = scan.array == -100.0
    np.testing.assert_array_equal(allowed[fat], scan.array[fat])
    soft = body & ~fat & (scan.array > -50)
    assert np.all(allowed[soft] != scan.array[soft])


@pytest.mark.parametrize(("domains", "non_contrast"), [(("nc", "ce"), "nc"),
                                                       (("pre", "art"), None)])
def test_a_checkpoint_brings_bounds_for_its_non_contrast_domain(tmp_path, domains,
                                                                non_contrast):
    run = write_checkpoint(tmp_path / "run", domains=domains)
    assert Translator.from_checkpoint(run).bounds == ContrastBounds(non_contrast)


class Blotchy(IdentityLike):
    """Adds a uniform change plus a fixed blotch pattern (period 8 px), signed by direction."""

    def translate(self, x, source, target, *, sample=False):
        yy, xx = torch.meshgrid(torch.arange(x.shape[-2]), torch.arange(x.shape[-1]),
                                indexing="ij")
        blotch = torch.sin(yy * 0.785) * torch.sin(xx * 0.785)
        change = 0.06 + 0.04 * blotch  # model range: ~35 HU +- ~25 HU
        return self.conv(x) + (change if source == "nc" else -change)


def test_smoothing_calms_the_change_into_contrast_only():
    scan = _body_scan(shape=(2, 64, 64))
    scan.array[:] = np.where(scan.array > -900, 40.0, scan.array)  # flat soft tissue
    tr = Translator(Blotchy(), IntensityScaler(), patch_size=32, bounds=ContrastBounds("nc"),
                    smoothing=EnhancementSmoothing())
    inner = np.zeros(scan.shape, bool)
    inner[:, 24:40, 24:40] = True  # far from the body's edge
    smooth = tr.translate_scan(scan, "ce", source="nc").scan.array - scan.array
    raw = tr.translate_scan(scan, "ce", source="nc", smooth=False).scan.array - scan.array
    assert float(raw[inner].std()) > 5.0
    assert float(smooth[inner].std()) < 0.3 * float(raw[inner].std())
    assert abs(float(smooth[inner].mean()) - float(raw[inner].mean())) < 3.0
    unbounded = tr.translate_scan(scan, "ce", source="nc", bounded=False).scan.array
    np.testing.assert_array_equal(unbounded - scan.array, raw)  # --no-bounds: no smoothing
    out_of = [tr.translate_scan(scan, "nc", source="ce", smooth=s).scan.array
              for s in (True, False)]
    np.testing.assert_array_equal(out_of[0], out_of[1])  # out of contrast: not smoothed


@pytest.mark.parametrize(("domains", "smoothed"), [(("nc", "ce"), True), (("pre", "art"), False)])
def test_a_checkpoint_brings_smoothing_with_a_non_contrast_domain(tmp_path, domains, smoothed):
    run = write_checkpoint(tmp_path / "run", domains=domains)
    assert (Translator.from_checkpoint(run).smoothing is not None) is smoothed


def test_geometry_is_kept_including_oblique():
    scan = _body_scan(direction=rotation("x", 20.0), spacing=(0.6, 0.8, 1.5))
    out = Translator(IdentityLike(), IntensityScaler()).translate_scan(scan, "ce").scan
    assert out.spacing == scan.spacing and out.origin == scan.origin
    np.testing.assert_array_equal(out.direction, scan.direction)


@pytest.mark.parametrize("mode", ["window", "full"])
def test_batch_size_does_not_change_the_result(mode):
    scan = _body_scan(shape=(5, 40, 44))
    tr = Translator(IdentityLike(shift=0.05), IntensityScaler(), patch_size=16)
    a = tr.translate_scan(scan, "ce", mode=mode, batch=1).scan.array
    b = tr.translate_scan(scan, "ce", mode=mode, batch=4).scan.array
    np.testing.assert_array_equal(a, b)


def test_samples_std_map_zero_for_deterministic_and_positive_for_noisy():
    scan = _body_scan(shape=(2, 32, 32))
    std = Translator(IdentityLike(), IntensityScaler()).translate_scan(
        scan, "ce", mode="full", samples=3).std
    assert std is not None and float(std.array.max()) == 0.0
    std = Translator(IdentityLike(noise=0.05), IntensityScaler()).translate_scan(
        scan, "ce", mode="full", samples=3).std
    body = scan.array > -500
    assert float(std.array[body].min()) > 0.0 and float(std.array[~body].max()) == 0.0


def test_unknown_target_and_ambiguous_source():
    tr = Translator(IdentityLike(), IntensityScaler())
    with pytest.raises(CheckpointError, match="cannot translate to 'venous'"):
        tr.translate_scan(_body_scan(), "venous")
    three = IdentityLike()
    three.domains = ["nc", "arterial", "venous"]
    with pytest.raises(CheckpointError, match="say which one the input is in"):
        Translator(three, IntensityScaler()).translate_scan(_body_scan(), "venous")


def test_far_outside_training_statistics_warns_with_numbers():
    stats = {"nc": {"p1": -150.0, "p5": -100.0, "p50": 40.0, "p95": 200.0, "p99": 600.0}}
    tr = Translator(IdentityLike(), IntensityScaler(), stats=stats)
    scan = _body_scan()
    scan.array[scan.array > -500] += 900.0
    with pytest.warns(UserWarning, match=r"median HU inside the body is 9\d\d, the 'nc' training"):
        tr.translate_scan(scan, "ce", mode="full")
