"""Tiny model configs so every model test runs in seconds on a CPU."""

from __future__ import annotations

import pytest

from ctbridge.models import ModelConfig

TINY = dict(width=0.125, n_res_blocks=2)


def tiny_config(kind: str, domains: tuple[str, ...] = ("nc", "ce"), **overrides) -> ModelConfig:
    extra = {"n_components": 3} if kind == "gmm_unit" else {}
    return ModelConfig(kind=kind, domains=list(domains), **{**TINY, **extra, **overrides})


@pytest.fixture(params=["gmm_unit", "unit", "cyclegan"])
def kind(request) -> str:
    return request.param
