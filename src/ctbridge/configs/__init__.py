"""The built-in configs (YAML beside this file), shipped inside the package.

``configs/`` at the repository root links here, so ``configs/gmm_unit.yaml`` works in a checkout
and ``--config gmm_unit`` works anywhere, installed from a wheel included. Standard library only:
the CLI lists these names in ``--help`` without importing pydantic.
"""

from __future__ import annotations

from pathlib import Path

BUILTIN_CONFIGS = Path(__file__).resolve().parent


def builtin_config_names() -> list[str]:
    """Names ``--config`` accepts besides a path: ``gmm_unit``, ``unit``, ``cyclegan``, ..."""
    return sorted(p.stem for p in BUILTIN_CONFIGS.glob("*.yaml"))
