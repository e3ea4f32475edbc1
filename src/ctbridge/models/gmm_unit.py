"""GMM-UNIT (ours) and UNIT: per-domain VAE-GANs around one shared (mixture) latent space.

Per domain i: encoder E_i and generator G_i (VGG-16 topology, last encoder / first generator
stages shared, :mod:`ctbridge.models.vgg`), a PatchGAN D_i; one latent module shared by all
domains (:mod:`ctbridge.models.latent`: K heads, per-domain posterior variances, prior).
UNIT (Liu et al. 2017) is this class with K = 1 and a fixed N(0, I) prior.

Streams per step (docs/method.md, Losses), for every domain i and every other domain j:

* reconstruction  x_i -> z_i ~ q_i(z | x_i) -> G_i(z_i)             VAE loss (eq. 3-4)
* translation     x_i -> z_i -> x_i->j = G_j(z_i), judged by D_j     GAN loss (eq. 5-6)
* cycle           x_i->j -> z ~ q_j(z | x_i->j) -> G_i(z)            cycle loss (eq. 7-8)

With N domains, VAE terms are summed over domains and pair terms averaged over the N - 1
targets of each source, which is exactly UNIT's objective (eq. 2) at N = 2 and keeps the
balance between the terms whatever N is.

Example:
    >>> import torch
    >>> from ctbridge.models import ModelConfig, build_model
    >>> model = build_model(ModelConfig(width=0.125, n_components=3))
    >>> batch = {d: torch.randn(2, 1, 32, 32) for d in model.domains}
    >>> sorted(model.generator_losses(batch))  # the paper's terms and the recipe's
    ... # doctest: +NORMALIZE_WHITESPACE
    ['cycle_kl', 'cycle_recon', 'gan', 'histogram', 'keep_calcium', 'keep_calcium_cycle',
     'kl', 'recon', 'total']
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import numpy as np
import torch
from torch import nn

from ctbridge.data.intensity import IntensityScaler
from ctbridge.models import losses as L
from ctbridge.models.base import TranslationModel, frozen
from ctbridge.models.blocks import eye_, identity_init
from ctbridge.models.config import ModelConfig
from ctbridge.models.discriminator import domain_discriminators
from ctbridge.models.latent import MixtureLatent, Posterior
from ctbridge.models.unet import N_DOWN, UNetEncoder, UNetGenerator
from ctbridge.models.vgg import VGGEncoder, VGGGenerator

IDENTITY_LATENT_NOISE = 0.01
"""Model-range size that the training noise of the latent decodes to at an identity init."""
POSTERIOR_STD_INIT = 0.1
"""Initial posterior std Sigma^(1/2) of GMM-UNIT (learnable; UNIT's stays 1): reconstruction
L1 0.32 against 0.82 with 1 after 250 steps (docs/method.md, Networks)."""


class GMMUNIT(TranslationModel):
    """GMM-UNIT (``kind='gmm_unit'``) or UNIT (``kind='unit'``) from one :class:`ModelConfig`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        self.unet = c.generator == "unet"
        self.downsampling = N_DOWN if self.unet else c.n_down
        self.scaler = IntensityScaler()  # the data's HU map (models.base), for HU-aware losses
        # the HU window of the intensity-distribution loss, in model units
        self.phase_window = tuple(float(self.scaler.to_model(np.float64(v)))
                                  for v in c.histogram_window_hu)
        self.keep_level = float(self.scaler.to_model(np.float64(c.keep_calcium_hu)))
        if self.unet:  # starts as the identity by its zero last convolution
            net = dict(width=c.width, shared_layers=c.shared_layers, norm="batch")
            self.encoder = UNetEncoder(self.domains, **net)
        else:
            net = dict(width=c.width, n_down=c.n_down, shared_layers=c.shared_layers,
                       norm=c.generator_norm, act="lrelu")
            self.encoder = VGGEncoder(self.domains, **net)  # one image channel in, one out
        latent_dim = c.latent_dim or self.encoder.out_channels
        self.latent = MixtureLatent(self.encoder.out_channels, latent_dim, c.n_components,
                                    len(self.domains), fixed_prior=c.fixed_prior,
                                    posterior_std_init=POSTERIOR_STD_INIT)
        if self.unet:  # the change into contrast guided by the source, if asked for
            eps = float(self.scaler.to_model(np.float64(25.0)) - self.scaler.to_model(0.0)) ** 2
            self.generator = UNetGenerator(
                self.domains, latent_dim=latent_dim, filter_px=c.change_filter_px,
                filtered=[d for d in self.domains if d != c.keep_calcium_from], filter_eps=eps,
                **net)
        else:
            self.generator = VGGGenerator(self.domains, latent_dim=latent_dim, **net)
        self.discriminators = domain_discriminators(
            self.domains, width=c.discriminator_width, n_layers=c.d_layers,
            norm=c.discriminator_norm)
        if self.unet:  # batch norm: one call per input keeps each batch's own statistics
            self.batch_calls = False
        else:
            self._init_identity()

    def _init_identity(self) -> None:
        """Start every E_i -> z -> G_j as the identity, translation included.

        Shortcut paths become exact identities (:func:`identity_init`); each latent head k is
        ``gain`` times the identity plus its default random init (so components differ), and
        each generator's output conv picks channel 0 divided by ``gain``. The gain makes the
        latent noise of training (posterior std) decode to ``IDENTITY_LATENT_NOISE`` in model
        units (~6 HU in soft tissue) instead of burying the image. With one component the
        heads are the exact identity.
        """
        identity_init(self.encoder)
        identity_init(self.generator)
        std = 1.0 if self.config.fixed_prior else POSTERIOR_STD_INIT
        gain = std / IDENTITY_LATENT_NOISE
        heads = self.latent.heads  # (K*C, in, 1, 1)
        k, c = self.latent.n_components, self.latent.latent_dim
        with torch.no_grad():
            w = heads.weight.view(k, c, heads.in_channels, 1, 1)
            if k == 1:  # nothing to tell apart: the exact identity
                w.zero_()
            for comp in range(k):
                w[comp] += eye_(torch.empty_like(w[comp]), gain)
            heads.bias.zero_()
            for d in self.domains:
                out = self.generator.private[d][-1]  # (C_img, chans[0], 3, 3)
                out.weight.zero_()
                out.weight[:, :, 1:2, 1:2] = eye_(torch.empty_like(out.weight[:, :, :1, :1]),
                                                  1.0 / gain)
                out.bias.zero_()

    # ----------------------------------------------------------------------------- parts
    def generator_parameters(self) -> list[nn.Parameter]:
        mods = (self.encoder, self.latent, self.generator)
        return [p for m in mods for p in m.parameters() if p.requires_grad]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.discriminators.parameters() if p.requires_grad]

    def features(self, x: torch.Tensor, domain: str
                 ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """E_domain(x): the latent heads' input (B, C, H / 2**downsampling, ...) and what the
        generator takes from the source besides z: nothing for the VGG pair; for the U-Net the
        encoder's skips (full .. 1/8 resolution) and the source itself."""
        if self.unet:
            h, skips = self.encoder(x, domain)
            return h, (*skips, x)
        return self.encoder(x, domain), ()

    def encode(self, x: torch.Tensor, domain: str
               ) -> tuple[Posterior, tuple[torch.Tensor, ...]]:
        """q_domain(z | x): K component means per latent location + the domain's variances,
        and the source's skips for :meth:`decode`."""
        h, skips = self.features(x, domain)
        return self.latent.posterior(h, self.domain_index(domain)), skips  # (B, K, C, h, w)

    def decode(self, z: torch.Tensor, *skips: torch.Tensor, domain: str) -> torch.Tensor:
        """G_domain(z, skips of the source): (B, C, h, w) latent -> (B, 1, H, W) image."""
        if self.unet:
            *features, source = skips
            return self.generator(z, domain, features, source)
        return self.generator(z, domain)

    # ----------------------------------------------------------------------------- losses
    def discriminator_losses(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """lambda0 * sum_j mean_{i != j} D-loss(D_j(x_j), D_j(G_j(z_i)))  (eq. 5-6, D side)."""
        self.check_batch(batch)
        c = self.config
        with torch.no_grad():
            enc = {d: self.encode(batch[d], d) for d in self.domains}
            z = {d: self.latent.sample(post) for d, (post, _) in enc.items()}
        total = batch[self.domains[0]].new_zeros(())
        gan = total.clone()
        score_real = total.clone()
        score_fake = total.clone()
        n_src = len(self.domains) - 1
        for dst in self.domains:
            sources = [src for src in self.domains if src != dst]
            with torch.no_grad():
                fakes = [self.decode(z[src], *enc[src][1], domain=dst)  # (B, 1, H, W)
                         for src in sources]
            # the real patches and every source's translations in one call of D_dst
            real, *judged = self._in_one_call(partial(self.judge, dst), [batch[dst], *fakes])
            score_real = score_real + real.mean().detach() / len(self.domains)
            for fake in judged:  # (B, 1, h', w')
                loss = L.gan_discriminator_loss(real, fake) / n_src
                total = total + c.lambda0 * loss
                gan = gan + loss.detach() / len(self.domains)
                score_fake = score_fake + fake.mean().detach() / (n_src * len(self.domains))
        return {"total": total, "gan": gan, "score_real": score_real, "score_fake": score_fake}

    def generator_losses(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """VAE (eq. 3-4) + GAN (eq. 5-6) + cycle (eq. 7-8) for every domain and ordered pair."""
        self.check_batch(batch)
        c = self.config
        n, n_tgt = len(self.domains), len(self.domains) - 1
        x = batch
        enc = {d: self.encode(x[d], d) for d in self.domains}
        post = {d: p for d, (p, _) in enc.items()}
        skips = {d: s for d, (_, s) in enc.items()}
        drawn = {d: self.latent.draw_components(post[d]) for d in self.domains}
        z = {d: self.latent.select(post[d], drawn[d][0], noise=True)  # (B, C, h, w)
             for d in self.domains}
        kl = {d: self.latent.kl(post[d]) for d in self.domains}  # scalars
        self.latent.update_usage([best for _, best in drawn.values()])

        weight = {d: self.recon_weight(x[d]) for d in self.domains}
        lo, hi = self.phase_window
        total = x[self.domains[0]].new_zeros(())
        parts = {k: total.clone() for k in ("kl", "recon", "gan", "cycle_kl", "cycle_recon")}
        if c.lambda_histogram:
            parts["histogram"] = total.clone()
        if c.lambda_change_tv:
            parts["change_tv"] = total.clone()
        for name in ("keep_calcium", "keep_calcium_cycle"):
            if getattr(c, f"lambda_{name}"):
                parts[name] = total.clone()
        with frozen(self.discriminators):
            # G_d's reconstruction of x_d and its translations x_src->d, in one call per G_d
            rendered = {}
            for d in self.domains:
                order = [d, *(src for src in self.domains if src != d)]
                outs = self._in_one_call(partial(self.decode, domain=d),
                                         [z[src] for src in order],
                                         *zip(*(skips[src] for src in order), strict=True))
                rendered.update({(src, d): out for src, out in zip(order, outs, strict=True)})
            for d in self.domains:
                recon = L.reconstruction_loss(x[d], rendered[(d, d)], weight[d])
                total = total + L.vae_loss(kl[d], recon, lambda1=c.lambda1, lambda2=c.lambda2)
                parts["kl"] = parts["kl"] + kl[d].detach() / n
                parts["recon"] = parts["recon"] + recon.detach() / n
            for src, dst in self.pairs():
                x_fake = rendered[(src, dst)]  # x_src->dst, (B, 1, H, W)
                scores = self.judge(dst, x_fake)  # (B, 1, h', w')
                post_back, skips_back = self.encode(x_fake, dst)  # q_dst(z | x_src->dst)
                kl_back = self.latent.kl(post_back)
                x_cycle = self.decode(self.latent.sample(post_back), *skips_back,
                                      domain=src)  # ->dst->src
                cyc = L.reconstruction_loss(x[src], x_cycle, weight[src])
                pair = (L.gan_loss(scores, lambda0=c.lambda0)
                        + L.cycle_loss(kl[src], kl_back, cyc, lambda3=c.lambda3,
                                       lambda4=c.lambda4,
                                       lambda_kl_translated=c.lambda_cycle_kl_translated))
                if c.lambda_histogram:
                    hist = L.intensity_distribution_loss(x_fake, x[dst], x[src], low=lo, high=hi,
                                                         cells=c.histogram_cells)
                    pair = pair + c.lambda_histogram * hist
                    parts["histogram"] = parts["histogram"] + hist.detach() / (n * n_tgt)
                if c.lambda_change_tv:  # the change piecewise flat along the source's edges
                    tv = L.edge_aware_change_tv(x_fake, x[src], edge=c.change_tv_edge_hu,
                                                unit=self.scaler.soft_tissue_slope)
                    pair = pair + c.lambda_change_tv * tv
                    parts["change_tv"] = parts["change_tv"] + tv.detach() / (n * n_tgt)
                if src == c.keep_calcium_from and (c.lambda_keep_calcium
                                                   or c.lambda_keep_calcium_cycle):
                    # calcium and bone do not enhance
                    calcium = x[src] >= self.keep_level
                    for name, lam, out in (("keep_calcium", c.lambda_keep_calcium, x_fake),
                                           ("keep_calcium_cycle", c.lambda_keep_calcium_cycle,
                                            x_cycle)):
                        if lam:
                            keep = L.masked_l1(x[src], out, calcium)
                            pair = pair + lam * keep
                            parts[name] = parts[name] + keep.detach() / n_tgt
                total = total + pair / n_tgt
                gan = L.gan_generator_loss(scores.detach())  # unweighted, logged
                parts["gan"] = parts["gan"] + gan / (n * n_tgt)
                parts["cycle_kl"] = parts["cycle_kl"] + kl_back.detach() / (n * n_tgt)
                parts["cycle_recon"] = parts["cycle_recon"] + cyc.detach() / (n * n_tgt)
        return {"total": total, **parts}

    def recon_weight(self, x: torch.Tensor) -> torch.Tensor | None:
        """Per-pixel weight of the reconstruction and cycle L1 on the real image ``x``: HU per
        network unit over soft tissue's, capped at ``recon_hu_weight_cap`` (None when the cap
        is 1: plain L1 in network units, the paper)."""
        cap = self.config.recon_hu_weight_cap
        if cap <= 1.0:
            return None
        return self.scaler.hu_weight(x, cap)

    # ----------------------------------------------------------------------------- inference
    def translate(self, x: torch.Tensor, source: str, target: str, *,
                  sample: bool = False) -> torch.Tensor:
        """G_target(z), z from q_source(z | x): the most responsible component's mean, or a
        sample (component from the responsibilities + noise) with ``sample=True``.
        ``source == target`` gives the reconstruction."""
        self.check_input(x)
        self.domain_index(target)
        if sample:
            post, skips = self.encode(x, source)  # means (B, K, C, h, w)
            z = self.latent.sample(post, stochastic=True)  # (B, C, h, w)
        else:  # one component at a time: never all K means of a whole-slice batch at once
            h, skips = self.features(x, source)  # (B, C, H / 2**downsampling, ...)
            z = self.latent.most_responsible_mean(h, self.domain_index(source))
        return self.decode(z, *skips, domain=target)

    @torch.no_grad()
    def component_map(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        """Most responsible mixture component per latent location, (B, h, w) int64 (Fig. 2)."""
        self.check_input(x)
        return self.latent.component_map(self.encode(x, domain)[0])

    def stats(self) -> dict[str, float]:
        """``usage/kXX`` (share of latent locations per component, last G step) and
        ``latent/effective_components``."""
        return self.latent.stats()
