"""The interface every translation model implements, so that one trainer drives them all.

A batch is ``{domain_name: tensor (B, C, H, W)}`` in model range, one tensor per domain, cut at
the same (row, col) of scans from different patients. The trainer alternates::

    d = model.discriminator_losses(batch); d["total"].backward(); opt_d.step()
    g = model.generator_losses(batch);     g["total"].backward(); opt_g.step()
    log(d, g, model.stats())

Loss dicts hold ``'total'`` (the weighted sum that is optimised) and named, *unweighted* parts
for logging. Randomness (latent samples, the CycleGAN image pool) uses torch's global RNG, and
stateful parts live in persistent buffers, so a checkpoint of ``state_dict`` and
``torch.get_rng_state()`` resumes bit for bit on CPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial

import torch
from torch import nn

from ctbridge.models import losses as L
from ctbridge.models.config import ModelConfig


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Build the graph without gradients for ``module``'s parameters (the discriminators during
    the generator step: saves their weight gradients, which the G optimiser never uses)."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


class TranslationModel(nn.Module):
    """Base class: domain bookkeeping and the methods the trainer calls.

    Args:
        config: the validated model config.

    Attributes:
        config: the config it was built from.
        domains: domain names, in config order.
        downsampling: number of 2x downsamplings; inputs need H, W divisible by
            ``2 ** downsampling``.
    """

    downsampling: int = 0

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.domains: list[str] = list(config.domains)
        # one network call for several inputs where exact (:meth:`_in_one_call`); False gives
        # one call per input, the reference that tests and benchmarks compare against
        self.batch_calls = True

    # ----------------------------------------------------------------------------- helpers
    def domain_index(self, name: str) -> int:
        """Position of ``name`` in :attr:`domains`; ``KeyError`` naming the known ones."""
        try:
            return self.domains.index(name)
        except ValueError:
            raise KeyError(f"unknown domain {name!r}; this model has {self.domains}") from None

    def pairs(self) -> Iterator[tuple[str, str]]:
        """Every ordered pair (source, target) of different domains."""
        for src in self.domains:
            for dst in self.domains:
                if src != dst:
                    yield src, dst

    def check_batch(self, batch: Mapping[str, torch.Tensor]) -> None:
        """Every domain present, 4-D, spatial size a multiple of ``2 ** downsampling``."""
        missing = [d for d in self.domains if d not in batch]
        if missing:
            raise KeyError(f"batch lacks domains {missing}; has {sorted(batch)}")
        m = 2 ** self.downsampling
        for d in self.domains:
            x = batch[d]
            if x.ndim != 4 or x.shape[-1] % m or x.shape[-2] % m:
                raise ValueError(f"batch[{d!r}] has shape {tuple(x.shape)}; expected "
                                 f"(B, C, H, W) with H and W divisible by {m}")

    def judge(self, domain: str, x: torch.Tensor) -> torch.Tensor:
        """D_domain's scores (B, 1, h', w') for ``x``, a real or translated patch of ``domain``."""
        discriminators = self.discriminators
        assert isinstance(discriminators, nn.ModuleDict)
        return discriminators[domain](x)

    def check_input(self, x: torch.Tensor) -> None:
        """``x`` is (B, C, H, W) with H, W divisible by ``2 ** downsampling``."""
        m = 2 ** self.downsampling
        if x.ndim != 4 or x.shape[-1] % m or x.shape[-2] % m:
            raise ValueError(f"input has shape {tuple(x.shape)}; expected (B, C, H, W) with H "
                             f"and W divisible by {m} (pad first)")

    # ----------------------------------------------------------------------------- interface
    def generator_parameters(self) -> list[nn.Parameter]:
        """Everything the generator optimiser updates (encoders, latent, generators)."""
        raise NotImplementedError

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Everything the discriminator optimiser updates."""
        raise NotImplementedError

    def discriminator_losses(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """D losses on real images and on fakes made here without gradient; ``'total'`` + parts."""
        raise NotImplementedError

    def generator_losses(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Encoder/generator losses; ``'total'`` + unweighted parts."""
        raise NotImplementedError

    def _in_one_call(self, net: Callable[..., torch.Tensor], *inputs: Sequence[torch.Tensor]
                     ) -> list[torch.Tensor]:
        """``[net(a, b, ...) for a, b, ... in zip(*inputs)]``, computed as one call on the
        concatenated batches: small convolutions on a CPU cost mostly per call, so this is
        ~10 % of a GMM-UNIT training step (``benchmarks/bench_preset_step.py``). Exact for
        per-sample normalisations; with ``batch_calls`` off (batch norm), one call per input."""
        if not self.batch_calls:
            return [net(*args) for args in zip(*inputs, strict=True)]
        sizes = [t.shape[0] for t in inputs[0]]
        return list(net(*(torch.cat(list(ts)) for ts in inputs)).split(sizes))

    def discriminator_warmup_losses(self, batch: Mapping[str, torch.Tensor]
                                    ) -> dict[str, torch.Tensor]:
        """D_j taught to tell real x_j (real) from the real scans of every other domain (fake).

        (GMM-)UNIT starts as the identity (:mod:`ctbridge.models.gmm_unit`): the translations
        x_i->j that D_j will judge first *are* the x_i, so this is the adversarial game's first
        D objective, learnt from real patches alone at a fraction of the cost (no encoder or
        generator pass). The discriminators then start the game already knowing where the
        phases differ. Needs ``self.discriminators`` (one per domain).
        """
        self.check_batch(batch)
        total = batch[self.domains[0]].new_zeros(())
        hits = total.clone()
        n_src = len(self.domains) - 1
        for dst in self.domains:
            sources = [src for src in self.domains if src != dst]
            real, *others = self._in_one_call(partial(self.judge, dst),
                                              [batch[dst], *(batch[src] for src in sources)])
            for other in others:  # (B, 1, h', w')
                total = total + L.gan_discriminator_loss(real, other) / n_src
                hits = hits + (real.mean(dim=(1, 2, 3)) > other.mean(dim=(1, 2, 3))
                               ).float().mean().detach() / (n_src * len(self.domains))
        return {"total": total, "gan": total.detach() / len(self.domains), "ranked": hits}

    def translate(self, x: torch.Tensor, source: str, target: str, *,
                  sample: bool = False) -> torch.Tensor:
        """(B, C, H, W) in ``source``'s model range -> the same in ``target``'s."""
        raise NotImplementedError

    def stats(self) -> dict[str, float]:
        """Scalars worth logging besides the losses (same keys every step)."""
        return {}
