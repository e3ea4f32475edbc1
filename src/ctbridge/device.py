"""Pick the torch device from a user string, with a clear error where CUDA is missing."""

from __future__ import annotations

import torch

from ctbridge.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> cuda if available else cpu; ``"cuda"`` without CUDA is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device {name!r} is not a torch device (cpu, cuda, cuda:N, auto)") \
            from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but this torch ({torch.__version__}) sees "
                          "no CUDA device; use cpu")
    return device
