"""Content hashes that decide whether a synthetic case must be made again.

A case's key covers everything its output depends on: the bytes of the source image and of
its label, the model (:func:`ctbridge.models.checkpoint.checkpoint_sha256`, or the weights of
an in-memory model), the direction, the translation mode and the quality-control settings.
Change any of them and the case is redone; change nothing and a re-run skips it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def module_sha256(module: torch.nn.Module, name: str) -> str:
    """SHA-256 of a module's tensors (for a model that has no checkpoint on disk)."""
    import torch

    digest = hashlib.sha256(f"in-memory:{name}:{type(module).__qualname__}".encode())
    for key, tensor in sorted(module.state_dict().items()):
        raw = tensor.detach().cpu().contiguous().flatten().view(torch.uint8)
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(raw.numpy().tobytes())
    return digest.hexdigest()


def folder_sha256(folder: Path, names: tuple[str, ...]) -> str:
    """SHA-256 over the named files of a folder (missing ones skipped), e.g. a QC model."""
    digest = hashlib.sha256()
    for name in names:
        path = Path(folder) / name
        if path.is_file():
            digest.update(f"{name}\n{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def case_key(*parts: str) -> str:
    """SHA-256 of the parts, one per line (source hash, label hash, model, direction, ...)."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
