"""GMM-UNIT with the residual U-Net pair (model.generator: unet) around the shared latent."""

from __future__ import annotations

import pytest
import torch

from ctbridge.models import ModelConfig, build_model
from ctbridge.models.unet import UNetEncoder, UNetGenerator


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(generator="unet", width=0.125, n_components=3))


@pytest.mark.parametrize("train", [False, True])
def test_every_translation_starts_as_the_identity(model, train):
    model.train(train)
    x = torch.randn(2, 1, 32, 32)
    for src in model.domains:
        for dst in model.domains:
            torch.testing.assert_close(model.translate(x, src, dst), x, rtol=0, atol=0)


def test_whole_slices_and_the_size_rule(model):
    model.eval()
    x = torch.randn(1, 1, 96, 80)
    assert model.translate(x, "nc", "ce").shape == x.shape
    with pytest.raises(ValueError, match="divisible by 16"):
        model.translate(torch.randn(1, 1, 40, 40), "nc", "ce")


def test_the_deepest_blocks_are_shared_between_domains():
    enc = UNetEncoder(["nc", "ce"], width=0.125, shared_layers=1)
    gen = UNetGenerator(["nc", "ce"], latent_dim=64, width=0.125, shared_layers=1)
    assert len(enc.shared) == 1 and len(enc.private["nc"]) == len(enc.private["ce"]) == 4
    assert enc.private["nc"][0] is not enc.private["ce"][0]
    assert len(gen.shared) == 1 and len(gen.private["ce"]) == 4  # 3 up-blocks + output conv


def test_losses_train_every_part_and_the_latent_reaches_the_output(model):
    batch = {d: torch.randn(4, 1, 32, 32) for d in model.domains}
    losses = model.generator_losses(batch)
    assert {"kl", "recon", "gan", "cycle_kl", "cycle_recon", "histogram"} <= set(losses)
    losses["total"].backward()
    for name, part in (("encoder", model.encoder), ("latent", model.latent.heads),
                       ("generator", model.generator)):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads), name
    # after one step the change from the source depends on z: another z, another output
    opt = torch.optim.Adam(model.generator_parameters(), lr=1e-2)
    opt.step()
    model.eval()
    x = batch["nc"]
    h, skips = model.features(x, "nc")
    z = model.latent.most_responsible_mean(h, model.domain_index("nc"))
    a = model.decode(z, *skips, domain="ce")
    b = model.decode(z + 1.0, *skips, domain="ce")
    assert not torch.allclose(a, x) and not torch.allclose(a, b)


def test_discriminator_losses_run(model):
    batch = {d: torch.randn(2, 1, 32, 32) for d in model.domains}
    out = model.discriminator_losses(batch)
    assert torch.isfinite(out["total"])


def test_the_change_into_contrast_can_be_guided_by_the_source():
    torch.manual_seed(0)
    model = build_model(ModelConfig(generator="unet", width=0.125, n_components=2,
                                    change_filter_px=3))
    x = torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(model.translate(x, "nc", "ce"), x, rtol=0, atol=0)  # identity
    assert model.generator.filtered == {"ce"}  # into contrast only; nc keeps the raw change
    with pytest.raises(ValueError, match="needs generator 'unet'"):
        ModelConfig(change_filter_px=3)
