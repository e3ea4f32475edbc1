"""Model checkpoints refuse pickles, whatever their name or disguise."""

from __future__ import annotations

import pickle

import pytest
import torch

from ctbridge.errors import CheckpointError
from ctbridge.models import checkpoint as ckpt


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 1))


def test_pickle_files_are_refused(tmp_path):
    model = _model()
    pt = tmp_path / "model.pt"
    torch.save(model.state_dict(), pt)
    with pytest.raises(CheckpointError, match="pickle-based checkpoints are refused"):
        ckpt.load_tensors(pt)
    disguised = tmp_path / "model.safetensors"
    disguised.write_bytes(pickle.dumps({"x": 1}, protocol=4))
    with pytest.raises(CheckpointError, match="refused: it can run code"):
        ckpt.load_tensors(disguised)
    zipped = tmp_path / "z" / "model.safetensors"
    zipped.parent.mkdir()
    torch.save(model.state_dict(), zipped)
    with pytest.raises(CheckpointError, match="pickle/zip"):
        ckpt.load_tensors(zipped)


def test_checkpoint_hash_follows_weights_config_and_stats_not_optimiser(tmp_path):
    folder = tmp_path / "run" / "checkpoints" / "latest"
    ckpt.save_tensors(_model().state_dict(), folder / ckpt.MODEL_FILE)
    (folder / ckpt.CONFIG_FILE).write_text("model: {kind: cyclegan}\n")
    first = ckpt.checkpoint_sha256(tmp_path / "run")
    assert first == ckpt.checkpoint_sha256(folder) and len(first) == 64
    (folder / "trainer.json").write_text("{}")  # trainer state does not change a translation
    assert ckpt.checkpoint_sha256(folder) == first
    (folder / ckpt.STATS_FILE).write_text("{}")
    with_stats = ckpt.checkpoint_sha256(folder)
    assert with_stats != first
    model = _model()
    with torch.no_grad():
        model[0].bias += 1e-6
    ckpt.save_tensors(model.state_dict(), folder / ckpt.MODEL_FILE)
    assert ckpt.checkpoint_sha256(folder) != with_stats
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        ckpt.checkpoint_sha256(tmp_path)
