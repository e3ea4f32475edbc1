"""Shared benchmark helpers: timing, machine peak measured in the same run, FLOP counts, tables.

Every benchmark prints rows of (what, value, unit, reference, ratio) where the reference is
measured in the same process (machine peak, baseline model, plain numpy), so numbers compare
across machines and runs.
"""

from __future__ import annotations

import json
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode


@dataclass
class Row:
    what: str
    value: float
    unit: str
    reference: float | None = None
    reference_what: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference in (None, 0):
            return None
        return self.value / self.reference


def best_time(fn: Callable[[], object], repeats: int = 3, warmup: int = 1,
              device: torch.device | None = None) -> float:
    """Best wall time of ``repeats`` calls (seconds), after ``warmup`` calls."""
    sync = (lambda: torch.cuda.synchronize(device)) if device is not None and \
        device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs (multiply-add = 2) that torch executes in ``fn``."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype = torch.float32,
                       n: int = 2048) -> float:
    """Achieved GFLOP/s of a large square matmul: this machine's practical peak."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    t = best_time(lambda: a @ b, repeats=5, device=device)
    return 2 * n**3 / t / 1e9


def conv_peak_gflops(device: torch.device, channels: int = 128, size: int = 64,
                     batch: int = 16) -> float:
    """Achieved GFLOP/s of a large 3x3 conv (the networks' main op)."""
    conv = torch.nn.Conv2d(channels, channels, 3, padding=1).to(device)
    x = torch.randn(batch, channels, size, size, device=device)
    with torch.no_grad():
        flops = count_flops(lambda: conv(x))
        t = best_time(lambda: conv(x), repeats=5, device=device)
    return flops / t / 1e9


def machine_info(device: torch.device) -> dict[str, str]:
    info = {"python": platform.python_version(), "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(),
            "threads": str(torch.get_num_threads()), "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    header = (f"{'measured':<52} {'value':>12} {'unit':<10} {'reference':>12} {'ratio':>7}"
              "  reference is")
    print(header)
    print("-" * len(header))
    for r in rows:
        ref = f"{r.reference:12.4g}" if r.reference is not None else f"{'-':>12}"
        ratio = f"{r.ratio:7.3f}" if r.ratio is not None else f"{'-':>7}"
        print(f"{r.what:<52} {r.value:12.4g} {r.unit:<10} {ref} {ratio}  {r.reference_what}")


def save_json(path: Path, title: str, rows: list[Row], info: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"title": title, "machine": info,
                                "rows": [{**asdict(r), "ratio": r.ratio} for r in rows]},
                               indent=1))


def report(title: str, rows: list[Row], json_path: Path | None, device: torch.device) -> None:
    """Print the table and, when asked, save it with the machine description."""
    print_table(title, rows)
    if json_path:
        save_json(json_path, title, rows, machine_info(device))
