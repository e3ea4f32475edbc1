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
