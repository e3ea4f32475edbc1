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


def native_bf16(device: torch.device, cpu_flags: str | None = None) -> bool:
    """Whether ``device`` computes in bf16 natively, so that bf16 autocast saves time there.

    CUDA: ``torch.cuda.is_bf16_supported()``. CPU: the x86 instructions ``avx512_bf16`` or
    ``amx_bf16`` in ``cpu_flags`` (default: /proc/cpuinfo; none elsewhere, e.g. macOS), since
    a CPU without them converts every bf16 value and runs slower than in fp32.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    if cpu_flags is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                cpu_flags = f.read()
        except OSError:
            return False
    return any(flag in cpu_flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def resolve_precision(name: str, device: torch.device) -> str:
    """``"auto"`` -> ``"bf16"`` where the device has native bf16 (:func:`native_bf16`), else
    ``"fp32"``; ``"fp32"`` and ``"bf16"`` as given."""
    if name == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return name
