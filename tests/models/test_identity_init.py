"""Lossless (pixel-shuffle) stage shortcuts and the identity initialisation."""

from __future__ import annotations

import pytest
import torch

from ctbridge.models import ModelConfig, build_model
from ctbridge.models.blocks import StageShortcut, eye_, identity_init
from ctbridge.models.gmm_unit import IDENTITY_LATENT_NOISE


def _model(**kw):
    torch.manual_seed(0)
    base = dict(width=0.125, n_components=1)
    return build_model(ModelConfig(**{**base, **kw}))


@pytest.mark.parametrize("kind", ["gmm_unit", "unit"])
def test_every_translation_starts_as_the_identity(kind):
    model = _model(kind=kind).eval()
    x = torch.randn(2, 1, 32, 48) * 0.3
    with torch.no_grad():
        for src, dst in (("nc", "nc"), ("nc", "ce"), ("ce", "nc")):
            assert torch.allclose(model.translate(x, src, dst), x, atol=1e-5)


def test_with_many_components_the_identity_is_perturbed_only_by_the_heads_default_init():
    model = _model(n_components=25).eval()
    x = torch.randn(2, 1, 32, 32) * 0.3
    with torch.no_grad():
        err = (model.translate(x, "nc", "ce") - x).abs()
    assert 0 < float(err.mean()) < 0.02  # < ~12 HU in soft tissue, components differ


def test_training_noise_decodes_to_the_documented_size():
    model = _model()
    x = torch.zeros(64, 1, 32, 32)
    post, _ = model.encode(x, "nc")
    z = model.latent.sample(post)  # posterior std 0.1 -> gain 10
    with torch.no_grad():
        decoded = model.decode(z, domain="nc")
    assert float(decoded.std()) == pytest.approx(IDENTITY_LATENT_NOISE, rel=0.15)


def test_every_weight_still_learns_after_an_identity_start():
    model = _model(n_components=3)
    params = model.generator_parameters()
    before = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=1e-3)
    batch = {d: torch.randn(2, 1, 32, 32) * 0.3 for d in model.domains}
    for _ in range(2):  # zero-initialised last convs pass gradients on from the second step
        opt.zero_grad()
        model.generator_losses(batch)["total"].backward()
        opt.step()
    names = {id(p): n for n, p in model.named_parameters()}
    frozen = [names[id(p)] for b, p in zip(before, params, strict=True) if torch.equal(b, p)]
    assert frozen == []


def test_shuffle_shortcut_carries_every_pixel_down_and_up():
    down = StageShortcut(torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1),
                                             torch.nn.MaxPool2d(2)), 1, 4, resample="down")
    up = StageShortcut(torch.nn.Sequential(torch.nn.Upsample(scale_factor=2),
                                           torch.nn.Conv2d(4, 1, 3, padding=1)), 4, 1,
                       resample="up")
    identity_init(down)
    identity_init(up)
    x = torch.randn(3, 1, 8, 8)
    assert down(x).shape == (3, 4, 4, 4)
    assert torch.equal(up(down(x)), x)


def test_eye_keeps_the_first_channels():
    w = eye_(torch.empty(3, 5, 1, 1), gain=2.0)
    assert w[:, :, 0, 0].tolist() == [[2, 0, 0, 0, 0], [0, 2, 0, 0, 0], [0, 0, 2, 0, 0]]


def test_discriminator_warmup_teaches_real_versus_other_domain():
    model = _model(d_width=0.25)
    assert model.discriminators["nc"].net[0][0].out_channels == 16  # d_width, not width
    opt = torch.optim.Adam(model.discriminator_parameters(), lr=2e-3)
    torch.manual_seed(1)
    ranked = []
    for _ in range(60):  # 'nc' patches are dark, 'ce' patches bright: trivially separable
        batch = {"nc": torch.randn(8, 1, 32, 32) * 0.1 - 0.3,
                 "ce": torch.randn(8, 1, 32, 32) * 0.1 + 0.3}
        losses = model.discriminator_warmup_losses(batch)
        opt.zero_grad()
        losses["total"].backward()
        opt.step()
        ranked.append(float(losses["ranked"]))
    assert ranked[-1] == 1.0 and float(losses["gan"]) < 0.1
