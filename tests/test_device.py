from __future__ import annotations

import pytest
import torch

from ctbridge.device import native_bf16, resolve_device, resolve_precision
from ctbridge.errors import ConfigError

ZEN4 = "flags\t\t: fpu vme sse sse2 avx2 avx512f avx512bw avx512_bf16 avx512_vnni"
SKYLAKE = "flags\t\t: fpu vme sse sse2 avx2 avx512f avx512bw avx512vl"  # bf16 emulated


def test_native_bf16_on_cpus_reads_the_instruction_flags():
    cpu = torch.device("cpu")
    assert native_bf16(cpu, ZEN4)
    assert native_bf16(cpu, "flags : sse2 avx2 amx_bf16 amx_tile")
    assert not native_bf16(cpu, SKYLAKE)
    assert not native_bf16(cpu, "flags : avx512_bf16x")  # whole flags only
    assert not native_bf16(torch.device("meta"), ZEN4)


def test_auto_precision_follows_the_device_and_explicit_values_stay(monkeypatch):
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr("ctbridge.device.native_bf16", lambda device: True)
    assert resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr("ctbridge.device.native_bf16", lambda device: False)
    assert resolve_precision("auto", cpu) == "fp32"


def test_cuda_without_cuda_is_a_config_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda")
