from __future__ import annotations

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


def test_component_map_and_usage():
    model = _model(n_components=5)
    x = torch.randn(3, 1, 64, 32)
    comp = model.component_map(x, "nc")
    assert comp.shape == (3, 16, 8) and comp.dtype == torch.int64
    assert 0 <= int(comp.min()) and int(comp.max()) < 5
    model.generator_losses({d: torch.randn(2, 1, 32, 32) for d in model.domains})
    stats = model.stats()
    usage = [v for k, v in stats.items() if k.startswith("usage/")]
    assert len(usage) == 5 and abs(sum(usage) - 1) < 1e-6


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
    post = model.encode(torch.randn(1, 1, 32, 32), "ce")
    assert post.means.shape == (1, 3, 16, 8, 8)  # (B, K, C, h, w): 4x4 pixels per location


def test_translated_kl_weight_can_follow_design():
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


def test_discriminator_noise_fades_with_training_progress():
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=0.125, n_components=3, d_noise_hu=100.0))
    x = torch.randn(4, 1, 32, 32)
    model.train()
    noisy = [model.judge("ce", x) for _ in range(2)]
    assert not torch.allclose(noisy[0], noisy[1])  # a fresh field every call
    clean = model.discriminators["ce"](x)
    model.progress = 0.9  # a tenth of the noise left: scores closer to the clean ones
    late = model.judge("ce", x)
    assert (late - clean).abs().mean() < (noisy[0] - clean).abs().mean()
    model.progress = 1.0
    assert torch.equal(model.judge("ce", x), clean)
    model.progress = 0.0
    model.eval()  # never outside training
    assert torch.equal(model.judge("ce", x), clean)


def test_discriminator_noise_is_smooth_and_sized_in_hu():
    from ctbridge.data.intensity import IntensityScaler
    from ctbridge.models.discriminator import smooth_noise
    torch.manual_seed(0)
    field = smooth_noise(torch.zeros(256, 1, 32, 32), sigma_px=4.0)
    assert abs(float(field.std()) - 1.0) < 0.1
    neighbours = torch.corrcoef(torch.stack([field[..., :-1].flatten(),
                                             field[..., 1:].flatten()]))[0, 1]
    assert neighbours > 0.9  # organ-scale, not pixel noise
    slope = IntensityScaler().soft_tissue_slope
    scaler = IntensityScaler()
    assert abs(float(scaler.to_hu(scaler.to_model(torch.tensor(40.0)) + 100 * slope)) - 140) < 1e-3


def test_cyclegan_refuses_discriminator_noise():
    with pytest.raises(ValueError, match="d_noise_hu"):
        ModelConfig(kind="cyclegan", d_noise_hu=50.0)


def test_intensity_distribution_loss_is_opt_in_and_weighted():
    torch.manual_seed(0)
    batch = {"nc": torch.randn(2, 1, 32, 32) * 0.2, "ce": torch.randn(2, 1, 32, 32) * 0.2 + 0.3}
    totals = {}
    for weight in (0.0, 10.0):
        torch.manual_seed(1)
        model = build_model(ModelConfig(width=0.125, n_components=3, lambda_histogram=weight))
        torch.manual_seed(2)  # the same latent draws for both weights
        totals[weight] = model.generator_losses(batch)
    assert "histogram" not in totals[0.0]
    hist = totals[10.0]["histogram"]
    assert float(hist) > 0.05  # identity start: the 0.3 offset between the domains shows
    # the two ordered pairs add 10 * their own distances; 'histogram' logs their mean
    torch.testing.assert_close(totals[10.0]["total"] - totals[0.0]["total"], 10.0 * hist * 2,
                               rtol=1e-4, atol=1e-4)


def test_intensity_distribution_loss_scaled_per_target_domain():
    torch.manual_seed(0)
    batch = {"nc": torch.randn(2, 1, 32, 32) * 0.2, "ce": torch.randn(2, 1, 32, 32) * 0.2 + 0.3}
    extra = {}
    for name, scale in (("off", None), ("both", {}), ("into nc", {"ce": 0.0}),
                        ("into ce", {"nc": 0.0}), ("into ce x3", {"nc": 0.0, "ce": 3.0})):
        torch.manual_seed(1)
        config = (ModelConfig(width=0.125, n_components=3) if scale is None else
                  ModelConfig(width=0.125, n_components=3, lambda_histogram=10.0,
                              histogram_scale_into=scale))
        model = build_model(config)
        torch.manual_seed(2)  # the same weights and latent draws for every variant
        extra[name] = float(model.generator_losses(batch)["total"])
    extra = {k: v - extra["off"] for k, v in extra.items()}
    assert extra["into nc"] > 0.1 and extra["into ce"] > 0.1  # each direction pays its own
    assert abs(extra["into nc"] + extra["into ce"] - extra["both"]) < 1e-3
    assert abs(extra["into ce x3"] - 3 * extra["into ce"]) < 1e-3
    with pytest.raises(ValueError, match="histogram_scale_into"):
        ModelConfig(lambda_histogram=1.0, histogram_scale_into={"venous": 1.0})
    with pytest.raises(ValueError, match="histogram_scale_into"):
        ModelConfig(lambda_histogram=1.0, histogram_scale_into={"ce": -1.0})


def test_cyclegan_refuses_the_intensity_distribution_loss():
    with pytest.raises(ValueError, match="lambda_histogram"):
        ModelConfig(kind="cyclegan", lambda_histogram=10.0)
    with pytest.raises(ValueError, match="histogram_window_hu"):
        ModelConfig(histogram_window_hu=(400.0, -100.0))


def test_reconstruction_weight_follows_hu_up_to_its_cap():
    assert _model().recon_weight(torch.zeros(1, 1, 4, 4)) is None  # the paper's plain L1
    model = _model(recon_hu_weight_cap=4.0)
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
    for lam in (0.0, 50.0):
        torch.manual_seed(1)
        model = build_model(ModelConfig(width=0.125, n_components=3, **{f"lambda_{term}": lam}))
        torch.manual_seed(2)
        out[lam] = model.generator_losses(batch)
    other = {"keep_calcium": "keep_calcium_cycle", "keep_calcium_cycle": "keep_calcium"}[term]
    keep = float(out[50.0][term])
    assert term not in out[0.0] and other not in out[50.0] and keep > 0
    assert float(out[50.0]["total"]) == pytest.approx(float(out[0.0]["total"]) + 50.0 * keep,
                                                      rel=1e-5)
    soft = {d: x.clamp(max=float(scaler.to_model(torch.tensor(100.0)))) for d, x in batch.items()}
    torch.manual_seed(2)
    assert float(model.generator_losses(soft)[term]) == 0.0  # nothing >= 130 HU
    with pytest.raises(ValueError, match="keep_calcium_from"):
        ModelConfig(**{f"lambda_{term}": 1.0}, keep_calcium_from="venous")
    with pytest.raises(ValueError, match="lambda_keep_calcium"):
        ModelConfig(kind="cyclegan", **{f"lambda_{term}": 1.0})


def test_source_detail_adds_the_source_fine_band_to_every_output_made_from_it():
    torch.manual_seed(0)
    plain = build_model(ModelConfig(width=0.125, n_components=3))
    torch.manual_seed(0)
    detail = build_model(ModelConfig(width=0.125, n_components=3, source_detail_px=1.5))
    assert sorted(plain.state_dict()) == sorted(detail.state_dict())  # same checkpoint keys
    detail.load_state_dict(plain.state_dict())
    x = 0.1 * torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        for dst in ("nc", "ce"):
            want = plain.translate(x, "nc", dst) + detail.source_detail(x)
            assert torch.allclose(detail.translate(x, "nc", dst), want, atol=1e-6)
    batch = {"nc": x, "ce": 0.1 * torch.randn(2, 1, 32, 32)}
    torch.manual_seed(2)
    losses = detail.generator_losses(batch)
    losses["total"].backward()
    assert torch.isfinite(losses["total"])
    assert all(p.grad is not None for p in detail.generator_parameters())
    torch.manual_seed(2)
    assert float(plain.generator_losses(batch)["recon"]) != float(losses["recon"])
    with pytest.raises(ValueError, match="source_detail_px"):
        ModelConfig(kind="cyclegan", source_detail_px=1.0)


def _gated_twin(bias: float) -> tuple[GMMUNIT, GMMUNIT]:
    """A plain model and the same weights with an output gate whose logit is ``bias``."""
    torch.manual_seed(0)
    plain = build_model(ModelConfig(width=0.125, n_components=3))
    torch.manual_seed(0)
    gated = build_model(ModelConfig(width=0.125, n_components=3, output_gate="pixel",
                                    output_gate_bias=bias))
    state = gated.state_dict()
    for key, value in plain.state_dict().items():
        if state[key].shape == value.shape:
            state[key] = value
        else:  # the output conv: the image channel from the plain model, the gate kept
            state[key] = torch.cat([value, state[key][value.shape[0]:]])
    gated.load_state_dict(state)
    assert isinstance(plain, GMMUNIT) and isinstance(gated, GMMUNIT)
    return plain.eval(), gated.eval()


@pytest.mark.parametrize("bias", [-3.0, 0.0, 2.0])
def test_output_gate_blends_the_generator_output_with_the_source(bias):
    plain, gated = _gated_twin(bias)
    x = 0.1 * torch.randn(2, 1, 32, 32)
    a = torch.sigmoid(torch.tensor(bias))  # the gate starts constant: weights 0, this bias
    with torch.no_grad():
        content = plain.translate(x, "nc", "ce")
        want = a * content + (1 - a) * x
        assert torch.allclose(gated.translate(x, "nc", "ce"), want, atol=1e-6)
        assert torch.allclose(gated.gate_map(x, "nc", "ce"), a.expand(2, 1, 32, 32))
        # the reconstruction is the generator's own output, as in training's VAE term
        assert torch.allclose(gated.translate(x, "nc", "nc"), plain.translate(x, "nc", "nc"),
                              atol=1e-6)


def test_the_vae_reconstruction_is_ungated_unless_asked():
    x = {"nc": 0.1 * torch.randn(2, 1, 32, 32), "ce": 0.1 * torch.randn(2, 1, 32, 32)}
    recon = {}
    for gate_reconstruction in (False, True):
        torch.manual_seed(0)
        model = build_model(ModelConfig(width=0.125, n_components=1, output_gate="pixel",
                                        gate_reconstruction=gate_reconstruction))
        with torch.no_grad():  # a gate that is shut everywhere
            for d in model.domains:
                model.generator.private[d][-1].bias[1] = -60.0
        torch.manual_seed(1)
        recon[gate_reconstruction] = float(model.generator_losses(x)["recon"])
    assert recon[True] == 0.0  # a shut gate returns the source: nothing left to learn
    assert recon[False] > 1e-4  # the generator's own output is what the VAE term judges


def test_a_closed_gate_keeps_the_source_exactly_and_an_open_one_the_generator():
    _, gated = _gated_twin(0.0)
    x = 0.1 * torch.randn(1, 1, 32, 32)
    out = gated.generator.private["ce"][-1]
    with torch.no_grad():
        out.bias[1] = -60.0  # sigmoid -> 0 in float32
        assert torch.equal(gated.translate(x, "nc", "ce"), x)
        out.bias[1] = 60.0
        content = gated.decode(gated.latent.most_responsible_mean(gated.encoder(x, "nc"), 0),
                               "ce")[:, :1]
        assert torch.allclose(gated.translate(x, "nc", "ce"), content, atol=1e-7)


@pytest.mark.parametrize("where", ["pixel", "latent"])
def test_output_gate_starts_as_the_identity_and_learns(where):
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=0.125, n_components=1, output_gate=where))
    x = 0.1 * torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.eval().translate(x, "nc", "ce"), x, atol=1e-5)
        gate = model.gate_map(x, "nc", "ce")
        assert gate.shape == (2, 1, 32, 32) and torch.allclose(gate, torch.full_like(gate, .5))
    model.train()
    batch = {"nc": x, "ce": 0.1 * torch.randn(2, 1, 32, 32) + 0.2}
    losses = model.generator_losses(batch)
    losses["total"].backward()
    if where == "pixel":
        gate_weight = model.generator.private["ce"][-1].weight[1]
        grad = model.generator.private["ce"][-1].weight.grad[1]
    else:
        gate_weight = model.gate_heads["ce"].weight
        grad = gate_weight.grad
        assert any(p is gate_weight for p in model.generator_parameters())
    assert grad is not None and float(grad.abs().sum()) > 0


def test_output_gate_refusals():
    with pytest.raises(ValueError, match="output_gate"):
        ModelConfig(kind="cyclegan", output_gate="pixel")
    with pytest.raises(ValueError, match="choose one"):
        ModelConfig(output_gate="latent", source_detail_px=1.0)
    with pytest.raises(ValueError, match="output_gate"):
        ModelConfig(output_gate="everywhere")
    with pytest.raises(ValueError, match="no output gate"):
        _model().gate_map(torch.zeros(1, 1, 32, 32), "nc", "ce")


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


@pytest.mark.parametrize("where", ["pixel", "latent"])
def test_a_gated_model_round_trips_through_safetensors(where, tmp_path):
    from safetensors.torch import load_file, save_file

    config = ModelConfig(width=0.125, n_components=3, output_gate=where)
    torch.manual_seed(0)
    model = build_model(config)
    with torch.no_grad():  # a gate that is not the constant of the init
        for p in model.generator_parameters():
            p.add_(0.01 * torch.randn_like(p))
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    fresh = build_model(ModelConfig.model_validate(config.model_dump()))
    fresh.load_state_dict(load_file(str(path)), strict=True)
    x = 0.1 * torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.eval().translate(x, "nc", "ce"),
                           fresh.eval().translate(x, "nc", "ce"))
        assert float(fresh.gate_map(x, "nc", "ce").std()) > 0


def test_full_gradient_gate_gives_the_content_the_whole_gradient_and_the_same_output():
    torch.manual_seed(0)
    out = torch.randn(2, 2, 8, 8, requires_grad=True)  # content, gate logit
    source = torch.randn(2, 1, 8, 8, requires_grad=True)
    grads, values = {}, {}
    for full in (False, True):
        model = build_model(ModelConfig(width=0.125, n_components=1, output_gate="pixel",
                                        gate_full_gradient=full))
        y = model.gated(out, source)
        out.grad = source.grad = None
        y.sum().backward()
        grads[full] = (out.grad.clone(), source.grad.clone())
        values[full] = y.detach()
    a = torch.sigmoid(out[:, 1:]).detach()
    assert torch.allclose(values[False], values[True])
    assert torch.allclose(grads[False][0][:, :1], a)  # content's share: the gate
    assert torch.allclose(grads[True][0][:, :1], torch.ones_like(a))  # the whole gradient
    for full in (False, True):  # the gate's and the source's own gradients are unchanged
        assert torch.allclose(grads[full][0][:, 1:], grads[False][0][:, 1:])
        assert torch.allclose(grads[full][1], 1 - a)


def test_gate_into_one_domain_only_and_large_changes_never_held_back():
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=0.125, n_components=1, output_gate="latent",
                                    output_gate_into=["ce"], output_gate_bias=-60.0))
    assert isinstance(model, GMMUNIT) and sorted(model.gate_heads) == ["ce"]
    x = 0.1 * torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.eval().translate(x, "nc", "ce"), x)  # shut gate: the source
        assert torch.equal(model.gate_map(x, "ce", "nc"), torch.ones(1, 1, 32, 32))
        z = model.latent.most_responsible_mean(model.encoder(x, "ce"), 1)
        assert torch.equal(model.translate(x, "ce", "nc"), model.decode(z, "nc"))  # ungated
    with pytest.raises(ValueError, match="output_gate_into"):
        ModelConfig(output_gate="pixel", output_gate_into=["venous"])
    # the floor: a shut gate still lets a change of >= 100 HU through, none below 50 HU
    floor = build_model(ModelConfig(width=0.125, n_components=1, output_gate="pixel",
                                    gate_open_above_hu=100.0, output_gate_bias=-60.0))
    assert isinstance(floor, GMMUNIT)
    per_hu = floor.scaler.soft_tissue_slope
    source = torch.zeros(1, 1, 1, 3)
    content = torch.tensor([[[[30.0, 75.0, 150.0]]]]) * per_hu  # HU changes 30, 75, 150
    out = torch.cat([content, torch.full_like(content, -60.0)], dim=1)
    gate = floor.gate_of(out, source).flatten()
    assert torch.allclose(gate, torch.tensor([0.0, 0.5, 1.0]), atol=1e-4)
