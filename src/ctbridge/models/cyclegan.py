"""CycleGAN baseline (Zhu et al. 2017): a ResNet generator per ordered domain pair, a PatchGAN
per domain, least-squares GAN, cycle (10) and identity (0.5 x 10) L1 losses, an image pool.

With N domains there are N (N - 1) generators ``G_{s->t}``; pair terms are averaged over the
N - 1 targets of each source, which is the paper's objective at N = 2.

Differences from the reference code, both for the trainer's sake: the discriminator step makes
its own fakes (without gradient) from the current generators instead of reusing the generator
step's, so each method is self-contained and resumable; the pool draws with torch's RNG and
keeps its images in buffers, so it is checkpointed and resumes bit for bit.

Example:
    >>> import torch
    >>> from ctbridge.models import ModelConfig, build_model
    >>> model = build_model(ModelConfig(kind="cyclegan", width=0.125, n_res_blocks=1))
    >>> model.translate(torch.zeros(1, 1, 32, 32), "nc", "ce").shape
    torch.Size([1, 1, 32, 32])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ctbridge.models import losses as L
from ctbridge.models.base import TranslationModel, frozen
from ctbridge.models.blocks import init_weights
from ctbridge.models.config import ModelConfig
from ctbridge.models.discriminator import domain_discriminators
from ctbridge.models.resnet_generator import ResNetGenerator


class ImagePool(nn.Module):
    """History of generated images (Shrivastava et al. 2017), as in CycleGAN.

    Until full, every fake is stored and returned; then each fake is, with probability 1/2,
    swapped for a random stored one (which is returned) or returned as is. Random draws use
    torch's CPU RNG; the images and their count are persistent buffers, so ``state_dict``
    holds the pool. The image buffer is allocated at the first query (patch size unknown
    before), and loading a state dict resizes it.

    Args:
        size: pool capacity (0 disables the pool).
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(0))  # (size, C, H, W) after the first query
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def _load_from_state_dict(self, state_dict: Mapping[str, Any], prefix: str,
                              *args: Any, **kwargs: Any) -> None:
        key = prefix + "images"
        if key in state_dict:
            self.images = torch.empty_like(state_dict[key], device=self.images.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) fresh fakes -> (B, C, H, W) mix of fresh and past fakes."""
        if self.size == 0:
            return fakes.detach()
        fakes = fakes.detach()
        if self.images.shape[1:] != fakes.shape[1:]:  # first use, or new patch size
            self.images = fakes.new_zeros((self.size, *fakes.shape[1:]), dtype=torch.float32)
            self.count.zero_()
        out = []
        for img in fakes:
            n = int(self.count)
            if n < self.size:
                self.images[n] = img
                self.count += 1
                out.append(img)
            elif float(torch.rand(())) < 0.5:
                idx = int(torch.randint(self.size, ()))
                out.append(self.images[idx].clone().to(img.dtype))
                self.images[idx] = img
            else:
                out.append(img)
        return torch.stack(out)  # (B, C, H, W)


class CycleGAN(TranslationModel):
    """CycleGAN for any number of domains, from one :class:`ModelConfig`."""

    downsampling = ResNetGenerator.downsampling

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        self.generators = nn.ModuleDict({
            self.key(s, t): ResNetGenerator(width=c.width, n_res_blocks=c.n_res_blocks,
                                            norm=c.generator_norm)
            for s, t in self.pairs()})
        self.discriminators = domain_discriminators(
            self.domains, width=c.discriminator_width, n_layers=c.d_layers,
            norm=c.discriminator_norm)
        self.pools = nn.ModuleDict({d: ImagePool(c.pool_size) for d in self.domains})
        init_weights(self.generators, "normal", 0.02)  # CycleGAN: N(0, 0.02)
        init_weights(self.discriminators, "normal", 0.02)

    @staticmethod
    def key(source: str, target: str) -> str:
        """ModuleDict key of G_{source->target}."""
        return f"{source}_to_{target}"

    def generator(self, source: str, target: str) -> ResNetGenerator:
        """G_{source->target}."""
        self.domain_index(source)
        self.domain_index(target)
        if source == target:
            raise ValueError(f"CycleGAN has no {source}->{target} generator (same domain)")
        return self.generators[self.key(source, target)]  # type: ignore[return-value]

    def generator_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.generators.parameters() if p.requires_grad]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.discriminators.parameters() if p.requires_grad]

    # ----------------------------------------------------------------------------- losses
    def discriminator_losses(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """sum_t 0.5 * D-loss(D_t(x_t), D_t(pool(G_{s->t}(x_s) for s != t)))  (CycleGAN eq. 1)."""
        self.check_batch(batch)
        total = batch[self.domains[0]].new_zeros(())
        score_real, score_fake = total.clone(), total.clone()
        n = len(self.domains)
        for dst in self.domains:
            with torch.no_grad():
                fresh = torch.cat([self.generator(src, dst)(batch[src])
                                   for src in self.domains if src != dst])  # ((N-1)B, 1, H, W)
                fakes = self.pools[dst].query(fresh)
            real = self.discriminators[dst](batch[dst])  # (B, 1, h', w')
            fake = self.discriminators[dst](fakes)  # ((N-1)B, 1, h', w')
            total = total + 0.5 * L.gan_discriminator_loss(real, fake)
            score_real = score_real + real.mean().detach() / n
            score_fake = score_fake + fake.mean().detach() / n
        return {"total": total, "gan": total.detach() / n, "score_real": score_real,
                "score_fake": score_fake}

    def generator_losses(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """GAN (eq. 1) + cycle (eq. 2) + identity (§5.2) over every ordered pair."""
        self.check_batch(batch)
        c = self.config
        n, n_tgt = len(self.domains), len(self.domains) - 1
        total = batch[self.domains[0]].new_zeros(())
        parts = {k: total.clone() for k in ("gan", "cycle", "identity")}
        with frozen(self.discriminators):
            for src, dst in self.pairs():
                x = batch[src]  # (B, 1, H, W)
                fake = self.generator(src, dst)(x)  # x_src->dst
                gan = L.gan_generator_loss(self.discriminators[dst](fake))
                back = self.generator(dst, src)(fake)  # x_src->dst->src
                cyc = L.reconstruction_loss(x, back)
                pair = gan + L.cyclegan_cycle_loss(x, back, lambda_cycle=c.lambda_cycle)
                if c.lambda_identity > 0:
                    y = batch[dst]
                    same = self.generator(src, dst)(y)  # G_{src->dst}(x_dst) should be x_dst
                    idt = L.reconstruction_loss(y, same)
                    pair = pair + L.identity_loss(y, same, lambda_identity=c.lambda_identity,
                                                  lambda_cycle=c.lambda_cycle)
                    parts["identity"] = parts["identity"] + idt.detach() / (n * n_tgt)
                total = total + pair / n_tgt
                parts["gan"] = parts["gan"] + gan.detach() / (n * n_tgt)
                parts["cycle"] = parts["cycle"] + cyc.detach() / (n * n_tgt)
        return {"total": total, **parts}

    # ----------------------------------------------------------------------------- inference
    def translate(self, x: torch.Tensor, source: str, target: str, *,
                  sample: bool = False) -> torch.Tensor:
        """G_{source->target}(x). CycleGAN is deterministic: ``sample`` changes nothing."""
        self.check_input(x)
        return self.generator(source, target)(x)  # (B, 1, H, W)
