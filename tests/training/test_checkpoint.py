from __future__ import annotations

import pytest
import torch

from ctbridge.errors import CheckpointError
from ctbridge.models import checkpoint as model_ckpt
from ctbridge.training import checkpoint as ckpt


def _model_and_opt():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(5, 4)).pow(2).mean().backward()
        opt.step()
    return model, opt


def test_save_load_round_trip_restores_weights_optimizer_and_rng(tmp_path):
    model, opt = _model_and_opt()
    torch.manual_seed(123)
    folder = ckpt.save_checkpoint(tmp_path / "latest", model=model, config_tree={"a": 1},
                                  optimizers={"g": opt}, step=3)
    expected_draw = torch.rand(3)
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.yaml", "model.safetensors", "trainer.json", "trainer.safetensors"]

    model2 = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 1))
    opt2 = torch.optim.Adam(model2.parameters(), lr=1.0)
    model_ckpt.load_state_into(model2, folder)
    state = ckpt.load_trainer_state(folder, {"g": opt2})
    assert state["step"] == 3
    assert torch.equal(torch.rand(3), expected_draw)  # RNG restored
    for p, q in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(p, q)
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s2["param_groups"][0]["lr"] == 1e-2
    for idx in s1["state"]:
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(s1["state"][idx][key], s2["state"][idx][key])


def test_corrupt_and_mismatched_weights(tmp_path):
    model, opt = _model_and_opt()
    folder = ckpt.save_checkpoint(tmp_path / "c", model=model, config_tree={}, optimizers={},
                                  step=0)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or not a safetensors file"):
        model_ckpt.load_state_into(model, folder)
    folder = ckpt.save_checkpoint(tmp_path / "d", model=model, config_tree={}, optimizers={},
                                  step=0)
    with pytest.raises(CheckpointError, match="weights do not fit the model"):
        model_ckpt.load_state_into(torch.nn.Linear(2, 2), folder)


def test_resolve_checkpoint(tmp_path):
    model, _ = _model_and_opt()
    latest = ckpt.save_checkpoint(tmp_path / "run" / "checkpoints" / "latest", model=model,
                                  config_tree={}, optimizers={}, step=0)
    assert model_ckpt.resolve_checkpoint(tmp_path / "run") == latest
    assert model_ckpt.resolve_checkpoint(latest / "model.safetensors") == latest
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        model_ckpt.resolve_checkpoint(tmp_path)


# every key a config.yaml written before the switches were removed holds, at its default
OLD_MODEL_KEYS = {"d_noise_hu": 0.0, "d_noise_px": 4.0, "source_detail_px": 0.0,
                  "output_gate": "none", "gate_reconstruction": False, "output_gate_into": None,
                  "gate_open_above_hu": 0.0, "gate_full_gradient": False,
                  "output_gate_bias": 0.0, "histogram_by_source_rank": False,
                  "histogram_scale_into": {}, "shortcut": "shuffle", "init": "identity",
                  "residual_stages": True, "in_channels": 1, "posterior_std_init": 0.1,
                  "norm": None, "d_norm": None, "gan_mode": "lsgan"}


def _old_checkpoint(folder, **changed):
    """A checkpoint as the version before the prune wrote it: today's config plus the removed
    keys (at their defaults unless ``changed``), and the same weights."""
    from ctbridge.config import load_config
    from ctbridge.models import build_model
    from ctbridge.training.config import TrainConfig

    cfg = load_config(TrainConfig, "gmm_unit", overrides={"model.width": 0.125,
                                                         "model.n_components": 2})
    tree = cfg.model_dump(mode="json")
    tree["model"].update({**OLD_MODEL_KEYS, **changed})
    tree["optim"].update({"lr_d": None, "ema_decay": 0.0})
    torch.manual_seed(0)
    return ckpt.save_checkpoint(folder, model=build_model(cfg.model), config_tree=tree,
                                optimizers={}, step=0)


def test_checkpoints_saved_before_the_prune_still_load(tmp_path):
    from ctbridge.config import load_config
    from ctbridge.inference.translator import Translator
    from ctbridge.training.config import TrainConfig

    folder = _old_checkpoint(tmp_path / "old")
    translator = Translator.from_checkpoint(folder)
    assert translator.model.config.n_components == 2
    # and its config.yaml trains again as given (`ctbridge train --config RUN/config.yaml`)
    assert load_config(TrainConfig, folder / "config.yaml").model.n_components == 2


@pytest.mark.parametrize("key, value", [("output_gate", "latent"), ("d_noise_hu", 100.0),
                                        ("shortcut", "pool"), ("init", "kaiming"),
                                        ("norm", "batch"), ("gan_mode", "bce")])
def test_a_checkpoint_that_used_a_removed_switch_is_refused_in_one_line(tmp_path, key, value):
    from ctbridge.inference.translator import Translator

    folder = _old_checkpoint(tmp_path / key, **{key: value})
    with pytest.raises(CheckpointError) as info:
        Translator.from_checkpoint(folder)
    message = str(info.value)
    assert "\n" not in message
    assert f"model.{key} = {value!r}: this switch was removed" in message
