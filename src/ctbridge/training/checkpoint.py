"""Checkpoints without pickle: ``model.safetensors`` + ``config.yaml`` (+ resume state).

A downloaded checkpoint must not be able to run code, so nothing here calls ``torch.load``:
tensors go to safetensors, everything else (optimizer hyper-parameters, step) to JSON/YAML.
Files that look like pickles (``.pt``/``.pth``/``.ckpt``, zip or pickle magic bytes) are refused.

Layout of a checkpoint folder::

    config.yaml              the training config (model, data, optimiser, intensity scaling)
    model.safetensors        model weights
    trainer.safetensors      optimiser moments and RNG state (resume only)
    trainer.json             step, optimiser hyper-parameters (resume only)
"""

from __future__ import annotations

import json
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
TRAINER_TENSORS = "trainer.safetensors"
TRAINER_JSON = "trainer.json"
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".bin")


def _refuse_pickle(path: Path) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(f"{path}: pickle-based checkpoints are refused (they can run code "
                              "when loaded); ctbridge reads model.safetensors + config.yaml only")
    with path.open("rb") as f:
        head = f.read(4)
    if head[:2] == b"\x80\x04" or head[:2] == b"\x80\x02" or head == b"PK\x03\x04":
        raise CheckpointError(f"{path}: this is a pickle/zip (torch.save) file, refused: it can "
                              "run code when loaded; expected safetensors")


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    _refuse_pickle(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: corrupt or not a safetensors file ({exc})") from None


def save_tensors(tensors: Mapping[str, torch.Tensor], path: Path) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))


def resolve_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder for a run folder (its ``checkpoints/latest``) or checkpoint folder."""
    path = Path(path)
    if path.is_file():
        _refuse_pickle(path)
        if path.name == MODEL_FILE:
            return path.parent
        raise CheckpointError(f"{path}: pass a run or checkpoint folder holding {MODEL_FILE}")
    if (path / MODEL_FILE).is_file():
        return path
    latest = path / "checkpoints" / "latest"
    if (latest / MODEL_FILE).is_file():
        return latest
    raise CheckpointError(f"{path}: no {MODEL_FILE} here or in checkpoints/latest/")


def read_config_tree(folder: Path) -> dict[str, Any]:
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
    state = load_tensors(folder / MODEL_FILE)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(f"{folder / MODEL_FILE}: weights do not fit the model in "
                              f"{CONFIG_FILE} ({' '.join(first[:2])[:300]})") from None


def optimizer_to_flat(optimizer: torch.optim.Optimizer, prefix: str
                      ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimiser state dict into tensors (for safetensors) and JSON-able rest."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for idx, entry in state["state"].items():
        plain["state"][str(idx)] = {}
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{name}"] = value
            else:
                plain["state"][str(idx)][name] = value
    return tensors, plain


def optimizer_from_flat(optimizer: torch.optim.Optimizer, prefix: str,
                        tensors: Mapping[str, torch.Tensor], plain: Mapping[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for idx, rest in plain["state"].items():
        state[int(idx)] = dict(rest)
    head = f"{prefix}."
    for key, value in tensors.items():
        if key.startswith(head):
            idx, name = key[len(head):].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": plain["param_groups"]})


def save_checkpoint(
    folder: Path,
    *,
    model: torch.nn.Module,
    config_tree: Mapping[str, Any],
    optimizers: Mapping[str, torch.optim.Optimizer],
    step: int,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a complete checkpoint folder atomically (a crash leaves the previous one intact)."""
    tensors: dict[str, torch.Tensor] = {"rng.torch": torch.get_rng_state()}
    plain: dict[str, Any] = {"step": step, "optimizers": {}, **(extra or {})}
    for name, opt in optimizers.items():
        t, p = optimizer_to_flat(opt, f"opt.{name}")
        tensors.update(t)
        plain["optimizers"][name] = p
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()},
                  str(tmp / MODEL_FILE))
        save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, str(tmp / TRAINER_TENSORS))
        (tmp / TRAINER_JSON).write_text(json.dumps(plain, indent=1))
        (tmp / CONFIG_FILE).write_text(yaml.safe_dump(dict(config_tree), sort_keys=False))
    return folder


def load_trainer_state(folder: Path, optimizers: Mapping[str, torch.optim.Optimizer]
                       ) -> dict[str, Any]:
    """Restore optimisers and the torch RNG; return the JSON state (``step`` ...)."""
    tensors = load_tensors(folder / TRAINER_TENSORS)
    path = folder / TRAINER_JSON
    try:
        plain = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: missing or corrupt ({exc})") from None
    for name, opt in optimizers.items():
        optimizer_from_flat(opt, f"opt.{name}", tensors, plain["optimizers"][name])
    torch.set_rng_state(tensors["rng.torch"])
    return plain
