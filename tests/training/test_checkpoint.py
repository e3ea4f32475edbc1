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
    state, _ = ckpt.load_trainer_state(folder, {"g": opt2})
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
