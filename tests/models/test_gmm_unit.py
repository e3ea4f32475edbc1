from __future__ import annotations

import math

import pytest
import torch

from ctbridge.models import ModelConfig, build_model
from ctbridge.models.gmm_unit import GMMUNIT
from tests.models.conftest import tiny_config


def _model(kind: str = "gmm_unit", **kw) -> GMMUNIT:
    torch.manual_seed(0)
    model = build_model(tiny_config(kind, **kw))
    assert isinstance(model, GMMUNIT)
    return model


def test_sampling_varies_and_uses_torch_rng():
    model = _model()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        torch.manual_seed(3)
        a = model.translate(x, "nc", "ce", sample=True)
        b = model.translate(x, "nc", "ce", sample=True)
        torch.manual_seed(3)
        c = model.translate(x, "nc", "ce", sample=True)
    assert not torch.equal(a, b)
    assert torch.equal(a, c)


def test_component_map_picks_the_nearest_component_and_usage_counts_the_maps():
    """Component j of a 3-component mixture sits at value levels[j] of the code's channel 0,
    which carries the image (identity init: the encoder's shortcut keeps the top-left pixel of
    each 4x4 block in channel 0). Three bands of known values must map to components 0, 1, 2."""
    model = _model(n_components=3)
    lat = model.latent
    k, c = 3, lat.latent_dim
    levels = torch.tensor([-0.5, 0.0, 0.5])
    with torch.no_grad():
        lat.heads.weight.zero_()
        lat.heads.bias.zero_()
        lat.heads.weight.view(k, c, -1)[:, 0, 0] = 1.0  # every component's channel 0: feature 0
        lat.prior_mu.zero_()
        lat.prior_mu[:, 0] = levels
        lat.prior_log_sigma.fill_(math.log(0.1))
        lat.posterior_log_var.fill_(2 * math.log(0.1))
        lat.prior_logits.zero_()  # pi uniform
    x = torch.full((2, 1, 32, 48), -0.45)  # bands of whole 4x4 blocks: nearest -0.5, 0, 0.5
    x[..., 16:32] = 0.1
    x[..., 32:] = 0.45
    comp = model.component_map(x, "nc")
    assert comp.shape == (2, 8, 12) and comp.dtype == torch.int64
    assert torch.equal(comp, torch.tensor([0] * 4 + [1] * 4 + [2] * 4).expand(2, 8, 12))
    # by hand: equal variances 0.1^2 + 0.1^2, equal pi, the other channels all at their means
    r = torch.softmax(-(0.1 - levels) ** 2 / (2 * 0.02), dim=0)
    got = lat.log_responsibilities(model.encode(x, "nc")[0]).exp()[0, :, 3, 5]
    torch.testing.assert_close(got, r, rtol=1e-4, atol=1e-6)
    # usage: the share of latent locations (both domains, last G step) per most responsible
    # component; ce is all 0.45 -> component 2: (64, 64, 64 + 192) of 384
    model.generator_losses({"nc": x, "ce": torch.full_like(x, 0.45)})
    stats = model.stats()
    usage = torch.tensor([stats[f"usage/k{j:02d}"] for j in range(3)])
    torch.testing.assert_close(usage, torch.tensor([1 / 6, 1 / 6, 2 / 3]))
    entropy = -float((usage * usage.log()).sum())
    assert stats["latent/effective_components"] == pytest.approx(math.exp(entropy), rel=1e-5)


def test_unit_prior_is_fixed():
    model = _model("unit")
    names = [n for n, _ in model.named_parameters()]
    assert not any("prior" in n or "posterior_log_var" in n for n in names)
    before = {k: v.clone() for k, v in model.latent.state_dict().items() if "heads" not in k}
    opt = torch.optim.Adam(model.generator_parameters(), lr=1e-2, weight_decay=1e-2)
    model.generator_losses({d: torch.randn(2, 1, 32, 32) for d in model.domains})[
        "total"].backward()
    opt.step()
    for k, v in model.latent.state_dict().items():
        if k in before:
            assert torch.equal(v, before[k]), k
    assert float(model.latent.prior_mu.abs().sum()) == 0  # N(0, I)
    assert model.stats()["usage/k00"] == 1.0


def test_gmm_prior_is_learned():
    model = _model()
    names = {n for n, _ in model.named_parameters()}
    assert {"latent.prior_mu", "latent.prior_log_sigma", "latent.prior_logits",
            "latent.posterior_log_var"} <= names
    assert model.latent.posterior_log_var.shape == (2, 3, 64)  # (domains, K, C)


def test_shared_layers_and_heads_are_shared():
    model = _model(shared_layers=2)
    assert len(model.encoder.shared) == 2 and len(model.generator.shared) == 2
    assert set(model.encoder.private) == {"nc", "ce"}
    # one set of heads for every domain: (K*C, 512*width, 1, 1)
    assert model.latent.heads.weight.shape == (3 * 64, 64, 1, 1)


def test_latent_is_spatial_for_fine_structures():
    model = _model(latent_dim=16)
    post, _ = model.encode(torch.randn(1, 1, 32, 32), "ce")
    assert post.means.shape == (1, 3, 16, 8, 8)  # (B, K, C, h, w): 4x4 pixels per location


def test_translated_kl_weight_can_follow_the_design_note():
    model = _model(lambda_cycle_kl_translated=100.0)
    assert model.config.lambda_cycle_kl_translated == 100.0
    batch = {d: torch.randn(1, 1, 32, 32) for d in model.domains}
    torch.manual_seed(0)
    heavy = model.generator_losses(batch)
    model.config.lambda_cycle_kl_translated = None
    torch.manual_seed(0)
    light = model.generator_losses(batch)
    expected = (100.0 - 0.1) * heavy["cycle_kl"] * 2  # 2 domains, sum over sources
    torch.testing.assert_close(heavy["total"] - light["total"], expected, rtol=1e-4, atol=1e-3)


def _losses_by_weight(batch: dict[str, torch.Tensor], term: str, weights: tuple[float, ...]
                      ) -> dict[float, dict[str, torch.Tensor]]:
    """Generator losses of one model init per weight of ``term``, with the same latent draws."""
    totals = {}
    for weight in weights:
        torch.manual_seed(1)
        model = build_model(ModelConfig(width=0.125, n_components=3, **{term: weight}))
        torch.manual_seed(2)
        totals[weight] = model.generator_losses(batch)
    return totals


def test_intensity_distribution_loss_is_weighted_and_off_at_zero():
    torch.manual_seed(0)
    batch = {"nc": torch.randn(2, 1, 32, 32) * 0.2, "ce": torch.randn(2, 1, 32, 32) * 0.2 + 0.3}
    totals = _losses_by_weight(batch, "lambda_histogram", (0.0, 10.0))
    assert "histogram" not in totals[0.0]
    hist = totals[10.0]["histogram"]
    assert float(hist) > 0.05  # identity start: the 0.3 offset between the domains shows
    # the two ordered pairs add 10 * their own distances; 'histogram' logs their mean
    torch.testing.assert_close(totals[10.0]["total"] - totals[0.0]["total"], 10.0 * hist * 2,
                               rtol=1e-4, atol=1e-4)


def test_change_tv_is_weighted_and_off_at_zero():
    torch.manual_seed(0)
    batch = {"nc": torch.randn(2, 1, 32, 32) * 0.02, "ce": torch.randn(2, 1, 32, 32) * 0.02}
    totals = _losses_by_weight(batch, "lambda_change_tv", (0.0, 2.0))
    assert "change_tv" not in totals[0.0]
    tv = totals[2.0]["change_tv"]
    assert float(tv) > 0.1  # the latent noise of training decodes to a blotchy change
    torch.testing.assert_close(totals[2.0]["total"] - totals[0.0]["total"], 2.0 * tv * 2,
                               rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="lambda_change_tv"):
        ModelConfig(kind="cyclegan", lambda_change_tv=1.0)


def test_cyclegan_refuses_the_intensity_distribution_loss():
    with pytest.raises(ValueError, match="lambda_histogram"):
        ModelConfig(kind="cyclegan", lambda_histogram=10.0)
    with pytest.raises(ValueError, match="histogram_window_hu"):
        ModelConfig(histogram_window_hu=(400.0, -100.0))


def test_reconstruction_weight_follows_hu_up_to_its_cap():
    # the paper's plain L1 at cap 1
    assert _model(recon_hu_weight_cap=1.0).recon_weight(torch.zeros(1, 1, 4, 4)) is None
    model = _model()  # the recipe's cap: 4
    hu = torch.tensor([-900.0, 40.0, 300.0, 900.0]).view(1, 1, 2, 2)  # gas, tissue, iodine, bone
    weight = model.recon_weight(model.scaler.to_model(hu)).flatten()
    torch.testing.assert_close(weight, torch.tensor([2060 * 1.2 / 700, 1.0, 1.0, 4.0]))
    with pytest.raises(ValueError):
        ModelConfig(recon_hu_weight_cap=0.5)
    with pytest.raises(ValueError, match="recon_hu_weight_cap"):
        ModelConfig(kind="cyclegan", recon_hu_weight_cap=4.0)


def test_reconstruction_weight_raises_the_generator_loss_in_bone():
    torch.manual_seed(0)
    bone = {d: torch.full((2, 1, 32, 32), 0.8) + 0.02 * torch.randn(2, 1, 32, 32)
            for d in ("nc", "ce")}
    recon = {}
    for cap in (1.0, 8.0):
        torch.manual_seed(1)
        model = build_model(ModelConfig(width=0.125, n_components=3, recon_hu_weight_cap=cap))
        torch.manual_seed(2)
        recon[cap] = float(model.generator_losses(bone)["recon"])
    assert recon[8.0] == pytest.approx(8.0 * recon[1.0], rel=1e-4)  # every pixel is bone


@pytest.mark.parametrize("term", ["keep_calcium", "keep_calcium_cycle"])
def test_keep_calcium_terms_add_their_weighted_part_and_need_bright_source_pixels(term):
    """keep_calcium: translation vs source; keep_calcium_cycle: the way back vs source."""
    torch.manual_seed(0)
    hu = torch.full((2, 1, 32, 32), 40.0) + 15 * torch.randn(2, 1, 32, 32)
    hu[:, :, 10:13, 10:13] = 600.0  # a calcification in the non-contrast patch
    scaler = GMMUNIT(ModelConfig(width=0.125, n_components=3)).scaler
    batch = {"nc": scaler.to_model(hu), "ce": scaler.to_model(hu + 200.0 * (hu > 100))}
    out = {}
    other = {"keep_calcium": "keep_calcium_cycle", "keep_calcium_cycle": "keep_calcium"}[term]
    for lam in (0.0, 50.0):
        torch.manual_seed(1)
        model = build_model(ModelConfig(width=0.125, n_components=3, **{f"lambda_{term}": lam},
                                        **{f"lambda_{other}": 0.0}))
        torch.manual_seed(2)
        out[lam] = model.generator_losses(batch)
    keep = float(out[50.0][term])
    assert term not in out[0.0] and other not in out[50.0] and keep > 0
    assert float(out[50.0]["total"]) == pytest.approx(float(out[0.0]["total"]) + 50.0 * keep,
                                                      rel=1e-5)
    soft = {d: x.clamp(max=float(scaler.to_model(torch.tensor(100.0)))) for d, x in batch.items()}
    torch.manual_seed(2)
    assert float(model.generator_losses(soft)[term]) == 0.0  # nothing >= 130 HU
    with pytest.raises(ValueError, match="keep_calcium_from"):
        ModelConfig(**{f"lambda_{term}": 1.0, f"lambda_{other}": 0.0}, keep_calcium_from="venous")
    with pytest.raises(ValueError, match="lambda_keep_calcium"):
        ModelConfig(kind="cyclegan", **{f"lambda_{term}": 1.0})


def _count_calls(module: torch.nn.Module, calls: dict[str, int], key: str) -> None:
    def hook(*_) -> None:
        calls[key] += 1
    module.register_forward_hook(hook)


@pytest.mark.parametrize("kind", ["gmm_unit", "unit"])
def test_losses_batched_into_one_call_per_network_equal_one_call_per_input(kind):
    # G_d renders its reconstruction and its translations, D_d judges the real patches and
    # the translations, each in one call: the same numbers and gradients as separate calls
    batch = {"nc": torch.randn(3, 1, 32, 32) * 0.2, "ce": torch.randn(3, 1, 32, 32) * 0.2 + 0.3}
    results = []
    for batched in (True, False):
        model = _model(kind, lambda_histogram=10.0, recon_hu_weight_cap=4.0)
        model.batch_calls = batched
        calls = {"G": 0, "D": 0}
        _count_calls(model.generator, calls, "G")
        for disc in model.discriminators.values():
            _count_calls(disc, calls, "D")
        torch.manual_seed(3)
        d = model.discriminator_losses(batch)
        g = model.generator_losses(batch)
        g["total"].backward()
        grads = [p.grad.clone() for p in model.generator_parameters() if p.grad is not None]
        results.append((d, g, grads, calls))
    (d1, g1, grads1, calls1), (d2, g2, grads2, calls2) = results
    # D step: 2 translations + D(real, fake) per domain; G step: recon + translation per G_d,
    # 2 cycles; D on the 2 translations
    assert calls1 == {"G": 2 + 2 + 2, "D": 2 + 2} and calls2 == {"G": 2 + 4 + 2, "D": 4 + 2}
    assert d1.keys() == d2.keys() and g1.keys() == g2.keys()
    for key in d1:
        torch.testing.assert_close(d1[key], d2[key], rtol=1e-5, atol=1e-6)
    for key in g1:
        torch.testing.assert_close(g1[key].detach(), g2[key].detach(), rtol=1e-5, atol=1e-6)
    assert len(grads1) == len(grads2) > 0
    for a, b in zip(grads1, grads2, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
