"""Training checkpoints: a model checkpoint plus what resuming needs, without pickle.

The model side (``model.safetensors`` + ``config.yaml``, pickle refusal) is
:mod:`ctbridge.models.checkpoint`; this adds the optimiser moments and the torch RNG state
(``trainer.safetensors``) and the step and optimiser hyper-parameters (``trainer.json``), so a
run resumes bit for bit. Written atomically: a crash leaves the previous checkpoint intact.

Layout of a checkpoint folder::

    config.yaml              the training config (model, data, optimiser, intensity scaling)
    model.safetensors        model weights
    trainer.safetensors      optimiser moments, RNG state (resume only)
    trainer.json             step, optimiser hyper-parameters (resume only)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import save_file

from ctbridge.errors import CheckpointError
from ctbridge.io.atomic import atomic_path
from ctbridge.models.checkpoint import CONFIG_FILE, MODEL_FILE, load_tensors

TRAINER_TENSORS = "trainer.safetensors"
TRAINER_JSON = "trainer.json"


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
