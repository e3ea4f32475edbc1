"""Exponential moving average of the translator's weights (what checkpoints and inference use).

Why: the adversarial game makes the generator's weights wander from step to step (the loss
curves oscillate without a trend after a few hundred steps), so the last iterate carries a
step-specific error pattern on top of what it has learnt. Averaging the generator-side weights
over the last ~``1 / (1 - decay)`` steps (Polyak averaging, as in progressive GANs, StyleGAN,
BigGAN) keeps what the iterates agree on. The discriminators are not averaged: only the
translator is used after training. Measured on the phantom in the README (translation ablation).

The decay warms up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so short runs do
not keep the random initialisation in the average.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

RAW_PREFIX = "raw."
UPDATES_KEY = "weight_average.updates"


class WeightAverage:
    """Shadow copies of ``params`` (a subset of ``model``'s parameters) updated by EMA.

    Args:
        model: the module whose parameters are averaged (for names in ``state_dict``).
        params: the parameters to average (e.g. ``model.generator_parameters()``).
        decay: the EMA decay after warm-up (0.999 averages over roughly the last 1000 steps).
    """

    def __init__(self, model: nn.Module, params: list[nn.Parameter], decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        wanted = {id(p) for p in params}
        self.decay = decay
        named = [(n, p) for n, p in model.named_parameters() if id(p) in wanted]
        self.names = [n for n, _ in named]
        self.params = [p for _, p in named]
        self.shadow = [p.detach().clone() for p in self.params]
        self.updates = 0

    def current_decay(self) -> float:
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self) -> None:
        """Move the shadows towards the current weights (call after each optimiser step)."""
        self.updates += 1
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params],
                             1.0 - self.current_decay())

    @contextlib.contextmanager
    @torch.no_grad()
    def swapped_in(self) -> Iterator[None]:
        """Within the block the model holds the averaged weights; the raw ones come back after."""
        raw = [p.detach().clone() for p in self.params]
        torch._foreach_copy_(self.params, self.shadow)
        try:
            yield
        finally:
            torch._foreach_copy_(self.params, raw)

    def raw_tensors(self) -> dict[str, torch.Tensor]:
        """The current (training) weights and the update count, for the trainer's checkpoint."""
        pairs = zip(self.names, self.params, strict=True)
        out = {RAW_PREFIX + n: p.detach().clone() for n, p in pairs}
        out[UPDATES_KEY] = torch.tensor(self.updates, dtype=torch.long)
        return out

    @torch.no_grad()
    def restore(self, tensors: dict[str, torch.Tensor]) -> None:
        """Resume: the model holds the averaged weights (``model.safetensors``); make them the
        shadows and put the raw training weights from ``tensors`` back into the model."""
        missing = [n for n in self.names if RAW_PREFIX + n not in tensors]
        if missing or UPDATES_KEY not in tensors:
            raise KeyError(f"checkpoint has no raw weights for {missing[:3] or [UPDATES_KEY]}")
        self.shadow = [p.detach().clone() for p in self.params]
        for name, p in zip(self.names, self.params, strict=True):
            p.copy_(tensors[RAW_PREFIX + name])
        self.updates = int(tensors[UPDATES_KEY])
