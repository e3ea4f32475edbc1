"""Model checkpoints without pickle: ``model.safetensors`` + ``config.yaml``.

What inference and training share: reading and writing weights and the config beside them.
A downloaded checkpoint must not be able to run code, so nothing here calls ``torch.load``:
tensors go to safetensors, everything else to YAML/JSON. Files that look like pickles
(``.pt``/``.pth``/``.ckpt``, zip or pickle magic bytes) are refused. The training side (optimiser
state, RNG, resume) is :mod:`ctbridge.training.checkpoint`.

Layout of a checkpoint folder::

    config.yaml              the training config (model, data, optimiser, intensity scaling)
    model.safetensors        model weights
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ctbridge.errors import CheckpointError
from ctbridge.io.atomic import atomic_path

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.yaml"
STATS_FILE = "stats.json"  # training HU percentiles per domain (optional, read by inference)
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".bin")


def refuse_pickle(path: Path) -> None:
    """CheckpointError if ``path`` is (or is named like) a pickle/zip file."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(f"{path}: pickle-based checkpoints are refused (they can run code "
                              "when loaded); ctbridge reads model.safetensors + config.yaml only")
    with path.open("rb") as f:
        head = f.read(4)
    if head[:2] == b"\x80\x04" or head[:2] == b"\x80\x02" or head == b"PK\x03\x04":
        raise CheckpointError(f"{path}: this is a pickle/zip (torch.save) file, refused: it can "
                              "run code when loaded; expected safetensors")


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file; pickles and corrupt files raise CheckpointError."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    refuse_pickle(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: corrupt or not a safetensors file ({exc})") from None


def save_tensors(tensors: Mapping[str, torch.Tensor], path: Path) -> None:
    """Write tensors (moved to CPU, contiguous) to a safetensors file, atomically."""
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))


def resolve_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder for a run folder (its ``checkpoints/latest``) or checkpoint folder."""
    path = Path(path)
    if path.is_file():
        refuse_pickle(path)
        if path.name == MODEL_FILE:
            return path.parent
        raise CheckpointError(f"{path}: pass a run or checkpoint folder holding {MODEL_FILE}")
    if (path / MODEL_FILE).is_file():
        return path
    latest = path / "checkpoints" / "latest"
    if (latest / MODEL_FILE).is_file():
        return latest
    raise CheckpointError(f"{path}: no {MODEL_FILE} here or in checkpoints/latest/")


def checkpoint_sha256(path: str | Path) -> str:
    """SHA-256 of what inference reads from a checkpoint: weights, config and HU statistics.

    Why: outputs derived from a model (cached translations, synthetic data sets) must be redone
    when it changes; a content hash notices a retrained or copied-over checkpoint where a path
    or a modification time does not. Optimiser and trainer state do not count.

    Args:
        path: a run folder or checkpoint folder (see :func:`resolve_checkpoint`).
    """
    import hashlib

    folder = resolve_checkpoint(path)
    digest = hashlib.sha256()
    for name in (MODEL_FILE, CONFIG_FILE, STATS_FILE):
        file = folder / name
        if not file.is_file():
            continue
        digest.update(f"{name}\n".encode())
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_config_tree(folder: Path) -> dict[str, Any]:
    """The parsed ``config.yaml`` of a checkpoint folder (a mapping)."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{folder}: {CONFIG_FILE} is missing")
    try:
        tree = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CheckpointError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(tree, dict):
        raise CheckpointError(f"{path}: expected a mapping")
    return tree


def load_state_into(module: torch.nn.Module, folder: Path) -> None:
    """Load ``model.safetensors`` into ``module`` (strict); CheckpointError when it does not fit."""
    state = load_tensors(folder / MODEL_FILE)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(f"{folder / MODEL_FILE}: weights do not fit the model in "
                              f"{CONFIG_FILE} ({' '.join(first[:2])[:300]})") from None
