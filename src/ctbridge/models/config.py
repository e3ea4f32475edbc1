"""The one typed config of every translation model (``build_model`` lives in ``models.build``).

Defaults are the papers': GMM-UNIT with K = 25 (the ctbridge paper), the loss weights of UNIT
(Liu et al. 2017, §3: "lambda0 = 10, lambda3 = lambda1 = 0.1, lambda4 = lambda2 = 100"), and
CycleGAN's (Zhu et al. 2017: 9 residual blocks, cycle 10, identity 0.5, pool of 50, 70x70
PatchGAN = 3 layers). UNIT proper is ``kind='unit'`` (one component, fixed N(0, I)); the
``kind`` field fixes ``n_components``/``fixed_prior`` for it so a config cannot say "unit" and
mean something else.

Example:
    >>> from ctbridge.models import ModelConfig, build_model
    >>> model = build_model(ModelConfig(kind="gmm_unit", width=0.125, n_components=4))
    >>> model.domains
    ['nc', 'ce']
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["gmm_unit", "unit", "cyclegan"]
Norm = Literal["none", "batch", "instance", "group"]


class ModelConfig(BaseModel):
    """Architecture and loss weights of GMM-UNIT, UNIT and CycleGAN (one config for all three)."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field("gmm_unit", description=(
        "'gmm_unit' (ours: K-component Gaussian-mixture latent), 'unit' (Liu et al. 2017: K=1, "
        "fixed N(0, I) prior and unit posterior variance) or 'cyclegan' (Zhu et al. 2017)"))
    domains: list[str] = Field(
        default_factory=lambda: ["nc", "ce"],
        description="domain names, >= 2; GAN/cycle terms run over every ordered pair")
    in_channels: int = Field(1, ge=1, description="image channels (1 for CT)")

    # ---------------------------------------------------------------- UNIT / GMM-UNIT networks
    width: float = Field(1.0, gt=0, description=(
        "channel multiplier: 1.0 = VGG-16 channels [64,128,256,512,512] (CycleGAN: ngf=ndf=64)"))
    n_down: int = Field(2, ge=0, le=5, description=(
        "2x2 max-poolings in the VGG encoder (after the first n_down stages); 2 turns a 32x32 "
        "patch into an 8x8 latent so a 2-pixel plaque still owns a latent location. Inputs "
        "must have H, W divisible by 2**n_down"))
    residual_stages: bool = Field(True, description=(
        "a shortcut around each VGG stage, proj(x) + alpha * body(x); same convolutions, "
        "channels and resolutions as VGG-16 (why: docs/method.md, Networks)"))
    shortcut: Literal["pool", "shuffle"] = Field("shuffle", description=(
        "how a residual stage's shortcut changes resolution: 'pool' (max-pool / nearest "
        "upsampling, lossy) or 'shuffle' (space-to-depth / depth-to-space, lossless: the "
        "shortcut path can carry every pixel through the latent)"))
    init: Literal["kaiming", "pytorch", "identity"] = Field("identity", description=(
        "weight initialisation of (GMM-)UNIT: 'pytorch' (PyTorch's default), 'kaiming' "
        "(normal, fan-in, leaky-ReLU 0.2) or 'identity' (PyTorch's default, then every "
        "E_i -> z -> G_j starts as the identity, so each translation starts as 'no "
        "translation'; needs residual_stages and shortcut='shuffle'; docs/method.md)"))
    shared_layers: int = Field(1, ge=0, le=5, description=(
        "VGG stages shared by all domains at the top of the encoder and, mirrored, at the "
        "bottom (input side) of the generator (UNIT's weight sharing); 0 = none shared"))
    latent_dim: int | None = Field(None, ge=1, description=(
        "channels C of the latent z; null = channels of the last VGG stage (512 * width)"))
    n_components: int = Field(25, ge=1, description=(
        "K mixture components of the latent prior (the paper: 25); forced to 1 for 'unit'"))
    posterior_std_init: float = Field(0.1, gt=0, description=(
        "initial posterior standard deviation Sigma^(1/2) (learnable; UNIT's fixed identity "
        "ignores it)"))
    fixed_prior: bool = Field(False, description=(
        "UNIT proper: prior N(0, I) and posterior variance I, both frozen; forced for 'unit'"))
    norm: Norm | None = Field(None, description=(
        "generator/encoder normalisation; null = the model's default: 'none' for (GMM-)UNIT "
        "(absolute HU must survive and patch vs slice statistics differ), 'instance' for "
        "CycleGAN (its paper)"))
    d_norm: Norm | None = Field(None, description=(
        "discriminator normalisation; null = 'none' for (GMM-)UNIT (UNIT reference), "
        "'instance' for CycleGAN"))
    d_width: float | None = Field(None, gt=0, description=(
        "discriminator channel multiplier; null = width"))
    d_layers: int = Field(3, ge=1, le=5, description=(
        "stride-2 layers of the PatchGAN discriminator (3 = the 70x70 PatchGAN); works on "
        "32x32 inputs for d_layers <= 3"))
    d_noise_hu: float = Field(0.0, ge=0, description=(
        "(GMM-)UNIT: standard deviation (HU) of smooth random intensity fields (correlated "
        "over d_noise_px) added to every discriminator input, fading linearly from this value "
        "at step 0 to 0 at the last step (instance noise at organ scale, docs/method.md); "
        "0 = off"))
    d_noise_px: float = Field(4.0, gt=0, description="correlation length of d_noise_hu (pixels)")

    source_detail_px: float = Field(0.0, ge=0, description=(
        "(GMM-)UNIT: add the source image's fine band (source minus its Gaussian blur of this "
        "sigma, pixels) to every generator output made from it, so noise grain and one-pixel "
        "plaques need not pass the 1/4-resolution latent; the generator learns the rest "
        "(docs/method.md); 0 = off, as in the paper"))

    output_gate: Literal["none", "pixel", "latent"] = Field("none", description=(
        "(GMM-)UNIT: a per-pixel gate a in (0, 1) per target domain, and every output made "
        "from a source x becomes a * G(z) + (1 - a) * x (attention-guided translation, "
        "Mejjati et al. 2018; Tang et al. 2019): what does not change between phases can "
        "pass at full resolution instead of through the 1/4-resolution latent. 'pixel': the "
        "gate is one more output channel of the generator; 'latent': a 1x1 head on z, "
        "upsampled bilinearly (a smooth map of where the phase changes); 'none' = the paper "
        "(docs/method.md)"))
    gate_reconstruction: bool = Field(False, description=(
        "with output_gate: gate the VAE reconstruction x_i -> z -> G_i too. Off, the "
        "reconstruction is G_i's own output, so the VAE keeps teaching the generator the "
        "whole image (a gated reconstruction is solved by closing the gate)"))
    output_gate_into: list[str] | None = Field(None, description=(
        "with output_gate: the target domains whose generator is gated (e.g. [ce]: only the "
        "translation into contrast); None = every domain"))
    gate_open_above_hu: float = Field(0.0, ge=0, description=(
        "with output_gate: changes of the content from the source larger than this (HU) "
        "are never held back: the gate is at least a ramp from half this change (0) to this "
        "change (1), so enhancement and wash-out always pass and the gate only decides "
        "about small changes (made-up texture); 0 = off"))
    gate_full_gradient: bool = Field(False, description=(
        "with output_gate: the generator's content gets the output's whole gradient, as if "
        "ungated (the forward pass and the gate's own gradient unchanged), so it learns the "
        "translation everywhere at the ungated model's pace and the gate only chooses"))
    output_gate_bias: float = Field(0.0, description=(
        "initial gate logit (0: a = 0.5); with the identity init G(z) = x at the start, so "
        "the translation starts as the identity whatever this is"))

    # ---------------------------------------------------------------- UNIT / GMM-UNIT losses
    gan_mode: Literal["lsgan", "bce"] = Field(
        "lsgan", description="adversarial loss: least squares (default) or log-loss")
    lambda0: float = Field(10.0, ge=0, description="GAN weight (UNIT lambda0)")
    lambda1: float = Field(0.1, ge=0, description="VAE KL weight (UNIT lambda1)")
    lambda2: float = Field(100.0, ge=0, description="VAE L1 reconstruction weight (lambda2)")
    lambda3: float = Field(0.1, ge=0, description="cycle KL weight (UNIT lambda3)")
    lambda4: float = Field(100.0, ge=0, description="cycle L1 reconstruction weight (lambda4)")
    lambda_cycle_kl_translated: float | None = Field(None, ge=0, description=(
        "weight of KL(q_j(z | x_i->j) || p) in the cycle loss; null = lambda3 as UNIT eq. 7-8 "
        "(DESIGN.md §2 writes lambda4 there; set 100 to follow it literally)"))
    recon_hu_weight_cap: float = Field(1.0, ge=1, description=(
        "(GMM-)UNIT: weight each pixel of the reconstruction and cycle L1 by the HU one "
        "network unit spans at its true value, relative to soft tissue, capped here (so the "
        "L1 follows HU in gas and bone, where the intensity map compresses them); 1 = off, "
        "L1 in network units as the paper (docs/method.md)"))
    lambda_histogram: float = Field(0.0, ge=0, description=(
        "(GMM-)UNIT: weight of the intensity-distribution loss between each translated patch "
        "and the real target patch at the same location (sorted HU within histogram_window_hu, "
        "docs/method.md); 0 = off, as in the paper"))
    histogram_by_source_rank: bool = Field(False, description=(
        "intensity-distribution loss: pull each translated pixel to the real patch's value at "
        "its source pixel's rank, instead of comparing quantiles (docs/method.md)"))
    histogram_scale_into: dict[str, float] = Field(default_factory=dict, description=(
        "intensity-distribution loss: a factor on lambda_histogram per target domain (e.g. "
        "{ce: 0}: only translations out of contrast pay it, {ce: 2}: translations into "
        "contrast pay twice); domains not named: 1"))
    histogram_cells: int = Field(1, ge=1, description=(
        "intensity-distribution loss: compare cells x cells tiles of each patch with the real "
        "patch's tiles at the same place (1 = the whole patch, docs/method.md)"))
    histogram_window_hu: tuple[float, float] = Field((-150.0, 450.0), description=(
        "HU range of the pixels the intensity-distribution loss compares, chosen by the source "
        "pixel for a translation (calcium and bone above it, air below it are left out)"))

    lambda_keep_calcium: float = Field(0.0, ge=0, description=(
        "(GMM-)UNIT: weight of an L1 that keeps the HU of the non-contrast source's calcium "
        "and bone pixels (>= keep_calcium_hu) in its translations: contrast does not enhance "
        "them, and the cycle then teaches the way back to keep them too (docs/method.md); "
        "0 = off, as in the paper"))
    lambda_keep_calcium_cycle: float = Field(0.0, ge=0, description=(
        "(GMM-)UNIT: weight of the same masked L1 on the way back (non-contrast -> other "
        "phase -> non-contrast): the mean error over the source's calcium and bone pixels "
        "alone, which the cycle's whole-patch L1 dilutes ~1000-fold for a plaque of a few "
        "pixels (docs/method.md); 0 = off, as in the paper"))
    keep_calcium_from: str = Field("nc", description=(
        "the non-contrast domain whose bright pixels lambda_keep_calcium(_cycle) keep"))
    keep_calcium_hu: float = Field(130.0, description=(
        "HU from which a non-contrast pixel is calcium or bone (Agatston's 130)"))

    # ---------------------------------------------------------------- CycleGAN
    n_res_blocks: int = Field(9, ge=0, description="CycleGAN ResNet generator blocks (9 = 256px)")
    lambda_cycle: float = Field(10.0, ge=0, description="CycleGAN cycle-consistency weight")
    lambda_identity: float = Field(0.5, ge=0, description=(
        "CycleGAN identity weight, relative to lambda_cycle (effective = 0.5 * 10 = 5)"))
    pool_size: int = Field(50, ge=0, description="CycleGAN fake-image pool (0 = no pool)")

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        if len(self.domains) < 2:
            raise ValueError(f"need at least two domains, got {self.domains}")
        if len(set(self.domains)) != len(self.domains):
            raise ValueError(f"domain names must be unique, got {self.domains}")
        for name in self.domains:
            if not name.isidentifier():
                raise ValueError(f"domain name {name!r} must be a Python identifier")
        if self.kind == "unit":
            # UNIT proper (Liu et al. 2017): one Gaussian, fixed N(0, I). Defaults are replaced,
            # explicit contradictions refused.
            if "n_components" in self.model_fields_set and self.n_components != 1:
                raise ValueError("kind 'unit' has one latent component; use 'gmm_unit' for K > 1")
            if "fixed_prior" in self.model_fields_set and not self.fixed_prior:
                raise ValueError("kind 'unit' has a fixed N(0, I) prior; use 'gmm_unit' with "
                                 "n_components=1 for a learnable Gaussian")
            self.n_components = 1
            self.fixed_prior = True
        if self.lambda_histogram and self.kind == "cyclegan":
            raise ValueError("lambda_histogram is for (GMM-)UNIT; CycleGAN keeps its paper's "
                             "losses")
        unknown = set(self.histogram_scale_into) - set(self.domains)
        if unknown or any(v < 0 for v in self.histogram_scale_into.values()):
            raise ValueError(f"histogram_scale_into {self.histogram_scale_into} must map "
                             f"domains of {self.domains} to factors >= 0")
        lo, hi = self.histogram_window_hu
        if not lo < hi:
            raise ValueError(f"histogram_window_hu must be (low, high), got {lo, hi}")
        if self.d_noise_hu and self.kind == "cyclegan":
            raise ValueError("d_noise_hu is for (GMM-)UNIT; CycleGAN keeps its paper's losses")
        if self.recon_hu_weight_cap > 1 and self.kind == "cyclegan":
            raise ValueError("recon_hu_weight_cap is for (GMM-)UNIT; CycleGAN keeps its "
                             "paper's losses")
        if (self.lambda_keep_calcium or self.lambda_keep_calcium_cycle) and self.kind == "cyclegan":
            raise ValueError("lambda_keep_calcium(_cycle) is for (GMM-)UNIT; CycleGAN keeps its "
                             "paper's losses")
        if self.source_detail_px and self.kind == "cyclegan":
            raise ValueError("source_detail_px is for (GMM-)UNIT; CycleGAN's generator works at "
                             "full resolution")
        if self.output_gate != "none" and self.kind == "cyclegan":
            raise ValueError("output_gate is for (GMM-)UNIT; CycleGAN keeps its paper's "
                             "generator")
        if self.output_gate_into is not None and (
                not set(self.output_gate_into) <= set(self.domains)):
            raise ValueError(f"output_gate_into {self.output_gate_into} must name domains of "
                             f"{self.domains}")
        if self.output_gate != "none" and self.source_detail_px:
            raise ValueError("output_gate and source_detail_px both pass the source around the "
                             "latent; choose one")
        if ((self.lambda_keep_calcium or self.lambda_keep_calcium_cycle)
                and self.keep_calcium_from not in self.domains):
            raise ValueError(f"keep_calcium_from {self.keep_calcium_from!r} is not one of the "
                             f"domains {self.domains}: name the non-contrast domain "
                             "(model.keep_calcium_from=...) or switch the keep-calcium terms "
                             "off (model.lambda_keep_calcium=0, model.lambda_keep_calcium_cycle=0)")
        if self.init == "identity" and not (self.residual_stages and self.shortcut == "shuffle"):
            raise ValueError("init 'identity' needs residual_stages=true and shortcut='shuffle'")
        if self.fixed_prior and self.n_components != 1:
            raise ValueError("fixed_prior (UNIT's N(0, I)) needs n_components = 1")
        return self

    @property
    def generator_norm(self) -> Norm:
        """The normalisation actually used in encoders/generators."""
        if self.norm is not None:
            return self.norm
        return "instance" if self.kind == "cyclegan" else "none"

    @property
    def discriminator_width(self) -> float:
        """The channel multiplier actually used in discriminators."""
        return self.width if self.d_width is None else self.d_width

    @property
    def discriminator_norm(self) -> Norm:
        """The normalisation actually used in discriminators."""
        if self.d_norm is not None:
            return self.d_norm
        return "instance" if self.kind == "cyclegan" else "none"
