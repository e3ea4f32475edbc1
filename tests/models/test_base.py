"""The TranslationModel interface, checked the same way for GMM-UNIT, UNIT and CycleGAN."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from ctbridge.models import TranslationModel, build_model
from tests.models.conftest import tiny_config

THREE = ("nc", "arterial", "venous")


def _batch(model: TranslationModel, size: int = 32, b: int = 2) -> dict[str, torch.Tensor]:
    return {d: torch.randn(b, 1, size, size) for d in model.domains}


@pytest.mark.parametrize("domains", [("nc", "ce"), THREE])
@pytest.mark.parametrize("size", [32, 128])
def test_translate_shapes(kind, domains, size):
    torch.manual_seed(0)
    model = build_model(tiny_config(kind, domains))
    assert model.domains == list(domains)
    x = torch.randn(2, 1, size, size)
    with torch.no_grad():
        for src, dst in model.pairs():
            assert model.translate(x, src, dst).shape == (2, 1, size, size)
    rect = torch.randn(1, 1, 64, 96)  # whole-slice, non-square
    with torch.no_grad():
        assert model.translate(rect, domains[0], domains[-1]).shape == rect.shape


@pytest.mark.parametrize("domains", [("nc", "ce"), THREE])
def test_losses_are_finite_scalars(kind, domains):
    torch.manual_seed(0)
    model = build_model(tiny_config(kind, domains))
    batch = _batch(model)
    d = model.discriminator_losses(batch)
    g = model.generator_losses(batch)
    for losses in (d, g):
        assert "total" in losses
        for name, value in losses.items():
            assert value.shape == () and torch.isfinite(value), name
    assert g["total"].requires_grad and d["total"].requires_grad
    expected = {"gmm_unit": {"kl", "recon", "gan", "cycle_kl", "cycle_recon"},
                "unit": {"kl", "recon", "gan", "cycle_kl", "cycle_recon"},
                "cyclegan": {"gan", "cycle", "identity"}}[kind]
    assert expected <= set(g)
    assert set(model.stats()) == set(model.stats())  # same keys every call
    assert all(isinstance(v, float) for v in model.stats().values())


def test_whole_slice_training_step(kind):
    """A 64-px crop (twice the patch) trains like a patch: finite losses, and a non-zero
    gradient reaches every parameter. (GMM-)UNIT's identity init zeroes the last convolution of
    each residual branch, which blocks the gradient of the layers before it until that
    convolution has moved: the generator is checked at its second step."""
    torch.manual_seed(0)
    model = build_model(tiny_config(kind))
    batch = _batch(model, size=64, b=1)
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=1e-3)
    for losses, params, steps in (
            (model.discriminator_losses, model.discriminator_parameters(), 1),
            (model.generator_losses, model.generator_parameters(), 2)):
        for step in range(steps):
            model.zero_grad(set_to_none=True)
            loss = losses(batch)["total"]
            loss.backward()
            assert torch.isfinite(loss)
            if step < steps - 1:
                opt_g.step()
        dead = [tuple(p.shape) for p in params
                if p.grad is None or not torch.isfinite(p.grad).all() or not p.grad.any()]
        assert not dead, dead


def _snapshot(params):
    return [p.detach().clone() for p in params]


@pytest.mark.parametrize("domains", [("nc", "ce"), THREE])
def test_adam_steps_change_every_parameter(kind, domains):
    torch.manual_seed(0)
    model = build_model(tiny_config(kind, domains))
    g_params, d_params = model.generator_parameters(), model.discriminator_parameters()
    assert {id(p) for p in g_params}.isdisjoint({id(p) for p in d_params})
    assert len(g_params) + len(d_params) == len(list(model.parameters()))
    opt_g = torch.optim.Adam(g_params, lr=1e-3)
    opt_d = torch.optim.Adam(d_params, lr=1e-3)
    batch = _batch(model)
    g0, d0 = _snapshot(g_params), _snapshot(d_params)

    opt_d.zero_grad(set_to_none=True)
    model.discriminator_losses(batch)["total"].backward()
    assert all(p.grad is None for p in g_params)  # fakes were made without gradient
    opt_d.step()
    assert all(torch.equal(a, p) for a, p in zip(g0, g_params, strict=True))

    opt_g.zero_grad(set_to_none=True)
    opt_d.zero_grad(set_to_none=True)
    d1 = _snapshot(d_params)
    model.generator_losses(batch)["total"].backward()
    assert all(p.grad is None for p in d_params)  # D frozen while G learns
    opt_g.step()
    assert all(torch.equal(a, p) for a, p in zip(d1, d_params, strict=True))
    # identity init: a residual branch's inner weights get a gradient once its zero-initialised
    # last convolution has moved, i.e. from the second step on
    opt_g.zero_grad(set_to_none=True)
    model.generator_losses(batch)["total"].backward()
    opt_g.step()

    names = {id(p): n for n, p in model.named_parameters()}
    unchanged = [names[id(p)] for a, p in zip(g0, g_params, strict=True) if torch.equal(a, p)]
    unchanged += [names[id(p)] for a, p in zip(d0, d_params, strict=True) if torch.equal(a, p)]
    assert not unchanged, unchanged


def test_deterministic_translate_is_deterministic(kind):
    torch.manual_seed(0)
    model = build_model(tiny_config(kind)).eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        torch.manual_seed(1)
        a = model.translate(x, "nc", "ce")
        torch.manual_seed(2)
        b = model.translate(x, "nc", "ce")
    assert torch.equal(a, b)


def test_unknown_domain_and_bad_shapes(kind):
    model = build_model(tiny_config(kind))
    with pytest.raises(KeyError, match="unknown domain"):
        model.translate(torch.randn(1, 1, 32, 32), "nc", "delayed")
    with pytest.raises(ValueError, match="divisible by 4"):
        model.translate(torch.randn(1, 1, 30, 32), "nc", "ce")
    with pytest.raises(KeyError, match="lacks domains"):
        model.generator_losses({"nc": torch.randn(1, 1, 32, 32)})


def test_state_dict_round_trips_through_safetensors(kind, tmp_path):
    torch.manual_seed(0)
    model = build_model(tiny_config(kind))
    model.discriminator_losses(_batch(model))  # fills the CycleGAN pool
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    fresh = build_model(tiny_config(kind))
    fresh.load_state_dict(load_file(str(path)), strict=True)
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.translate(x, "nc", "ce"), fresh.translate(x, "nc", "ce"))
    for (k, a), b in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_bf16_autocast_step_runs(kind):
    torch.manual_seed(0)
    model = build_model(tiny_config(kind))
    batch = _batch(model)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        d = model.discriminator_losses(batch)
    d["total"].backward()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        g = model.generator_losses(batch)
    g["total"].backward()
    assert torch.isfinite(g["total"]) and torch.isfinite(d["total"])


@pytest.mark.parametrize("domains", [("nc", "ce"), THREE])
def test_discriminator_warmup_judges_every_domain_in_one_call_with_the_same_numbers(kind,
                                                                                    domains):
    torch.manual_seed(0)
    model = build_model(tiny_config(kind, domains))
    batch = _batch(model, b=3)
    calls = []
    for disc in model.discriminators.values():
        disc.register_forward_hook(lambda *_: calls.append(1))
    one_call = model.discriminator_warmup_losses(batch)
    assert len(calls) == len(domains)  # each D_j: every domain's patches in one call
    model.batch_calls = False
    per_input = model.discriminator_warmup_losses(batch)
    assert len(calls) == len(domains) + len(domains) ** 2
    assert one_call.keys() == per_input.keys()
    for key in one_call:
        torch.testing.assert_close(one_call[key], per_input[key], rtol=1e-5, atol=1e-6)
    assert float(one_call["total"]) > 0
