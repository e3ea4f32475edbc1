"""The one typed config of every translation model (``build_model`` lives in ``models.build``).

Defaults are ctbridge's measured recipe at the paper's full width: GMM-UNIT with K = 25 (the
ctbridge paper), UNIT's loss weights (Liu et al. 2017, §3: "lambda0 = 10, lambda3 = lambda1 =
0.1, lambda4 = lambda2 = 100") plus the terms measured to make the phase change learnable
(intensity-distribution loss 1000, keep-calcium 100 both ways, HU-aware L1 capped at 4;
docs/method.md). ``--preset paper`` switches those off and gives the paper's losses. CycleGAN
keeps its paper's (Zhu et al. 2017: 9 residual blocks, cycle 10, identity 0.5, pool of 50, 70x70
PatchGAN = 3 layers): for ``kind='cyclegan'`` the (GMM-)UNIT-only terms default to off and
refuse other values. UNIT proper is ``kind='unit'`` (one component, fixed N(0, I)); the ``kind``
field fixes ``n_components``/``fixed_prior`` for it so a config cannot say "unit" and mean
something else.

Example:
    >>> from ctbridge.models import ModelConfig, build_model
    >>> model = build_model(ModelConfig(kind="gmm_unit", width=0.125, n_components=4))
    >>> model.domains
    ['nc', 'ce']
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ctbridge.config import drop_retired

Kind = Literal["gmm_unit", "unit", "cyclegan"]
Norm = Literal["none", "instance"]

RETIRED: dict[str, Any] = {
    "d_noise_hu": 0.0, "d_noise_px": 4.0, "source_detail_px": 0.0, "output_gate": "none",
    "gate_reconstruction": False, "output_gate_into": None, "gate_open_above_hu": 0.0,
    "gate_full_gradient": False, "output_gate_bias": 0.0, "histogram_by_source_rank": False,
    "histogram_scale_into": {}, "shortcut": "shuffle", "init": "identity",
    "residual_stages": True, "in_channels": 1, "posterior_std_init": 0.1, "norm": None,
    "d_norm": None, "gan_mode": "lsgan",
    "change_tv_targets": None, "lambda_pseudo_pair": 0.0, "pseudo_pair_noise_hu": 15.0,
    "pseudo_pair_error": "l1"}
"""Removed switches -> the value whose behaviour every model now has (``drop_retired``)."""
UNIT_ONLY_OFF: dict[str, float] = {"lambda_histogram": 0.0, "lambda_keep_calcium": 0.0,
                                   "lambda_keep_calcium_cycle": 0.0, "recon_hu_weight_cap": 1.0,
                                   "lambda_change_tv": 0.0}
"""The (GMM-)UNIT recipe's terms and their 'off' value, CycleGAN's default and only value."""


class ModelConfig(BaseModel):
    """Architecture and loss weights of GMM-UNIT, UNIT and CycleGAN (one config for all three)."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field("gmm_unit", description=(
        "'gmm_unit' (ours: K-component Gaussian-mixture latent), 'unit' (Liu et al. 2017: K=1, "
        "fixed N(0, I) prior and unit posterior variance) or 'cyclegan' (Zhu et al. 2017)"))
    domains: list[str] = Field(
        default_factory=lambda: ["nc", "ce"],
        description="domain names, >= 2; GAN/cycle terms run over every ordered pair")

    # ---------------------------------------------------------------- UNIT / GMM-UNIT networks
    width: float = Field(1.0, gt=0, description=(
        "channel multiplier: 1.0 = VGG-16 channels [64,128,256,512,512] (CycleGAN: ngf=ndf=64)"))
    generator: Literal["vgg", "unet"] = Field("vgg", description=(
        "(GMM-)UNIT networks around the shared latent: 'vgg' (the paper's VGG-16 encoder and "
        "mirrored generator, every pixel through the latent) or 'unet' (residual U-Nets with "
        "batch norm: the generator adds a change to its source from the latent at 1/16 "
        "resolution and the source encoder's skips; models/unet.py, docs/method.md)"))
    change_filter_px: int = Field(0, ge=0, description=(
        "with generator 'unet': radius (px) of a guided filter, guided by the source, of the "
        "change a translation into a contrast domain adds (homogeneous source tissue gets a "
        "homogeneous change; models/guided.py); 0 = off"))
    n_down: int = Field(2, ge=0, le=5, description=(
        "2x2 max-poolings in the VGG encoder (after the first n_down stages); 2 turns a 32x32 "
        "patch into an 8x8 latent so a 2-pixel plaque still owns a latent location. Inputs "
        "must have H, W divisible by 2**n_down"))
    shared_layers: int = Field(1, ge=0, le=5, description=(
        "VGG stages shared by all domains at the top of the encoder and, mirrored, at the "
        "bottom (input side) of the generator (UNIT's weight sharing); 0 = none shared"))
    latent_dim: int | None = Field(None, ge=1, description=(
        "channels C of the latent z; null = channels of the last VGG stage (512 * width)"))
    n_components: int = Field(25, ge=1, description=(
        "K mixture components of the latent prior (the paper: 25); forced to 1 for 'unit'"))
    fixed_prior: bool = Field(False, description=(
        "UNIT proper: prior N(0, I) and posterior variance I, both frozen; forced for 'unit'"))
    d_width: float | None = Field(None, gt=0, description=(
        "discriminator channel multiplier; null = width"))
    d_layers: int = Field(3, ge=1, le=5, description=(
        "stride-2 layers of the PatchGAN discriminator (3 = the 70x70 PatchGAN); works on "
        "32x32 inputs for d_layers <= 3"))
    # ---------------------------------------------------------------- UNIT / GMM-UNIT losses
    lambda0: float = Field(10.0, ge=0, description="GAN weight (UNIT lambda0)")
    lambda1: float = Field(0.1, ge=0, description="VAE KL weight (UNIT lambda1)")
    lambda2: float = Field(100.0, ge=0, description="VAE L1 reconstruction weight (lambda2)")
    lambda3: float = Field(0.1, ge=0, description="cycle KL weight (UNIT lambda3)")
    lambda4: float = Field(100.0, ge=0, description="cycle L1 reconstruction weight (lambda4)")
    lambda_cycle_kl_translated: float | None = Field(None, ge=0, description=(
        "weight of KL(q_j(z | x_i->j) || p) in the cycle loss; null = lambda3 as UNIT eq. 7-8 "
        "(an earlier design note wrote lambda4 there: 100; docs/method.md, Losses)"))
    recon_hu_weight_cap: float = Field(4.0, ge=1, description=(
        "(GMM-)UNIT: the reconstruction and cycle L1 weighted per pixel by the HU one network "
        "unit spans there over soft tissue's, capped here: L1 in HU in gas and bone too "
        "(docs/method.md); 1 = off, L1 in network units as the paper and CycleGAN"))
    lambda_histogram: float = Field(1000.0, ge=0, description=(
        "(GMM-)UNIT: weight of the intensity-distribution loss between each translated patch "
        "and the real target patch at the same location (sorted HU within histogram_window_hu, "
        "docs/method.md); 0 = off, as in the paper and CycleGAN"))
    histogram_cells: int = Field(1, ge=1, description=(
        "intensity-distribution loss: compare cells x cells tiles of each patch with the real "
        "patch's tiles at the same place (1 = the whole patch, docs/method.md)"))
    histogram_window_hu: tuple[float, float] = Field((-150.0, 450.0), description=(
        "HU range of the pixels the intensity-distribution loss compares, chosen by the source "
        "pixel for a translation (calcium and bone above it, air below it are left out)"))

    lambda_keep_calcium: float = Field(100.0, ge=0, description=(
        "(GMM-)UNIT: weight of an L1 that keeps the HU of the non-contrast source's calcium "
        "and bone pixels (>= keep_calcium_hu) in its translations: contrast does not enhance "
        "them, and the cycle then teaches the way back to keep them too (docs/method.md); "
        "0 = off, as in the paper and CycleGAN"))
    lambda_keep_calcium_cycle: float = Field(100.0, ge=0, description=(
        "(GMM-)UNIT: weight of the same masked L1 on the way back (non-contrast -> other "
        "phase -> non-contrast): the mean error over the source's calcium and bone pixels "
        "alone, which the cycle's whole-patch L1 dilutes ~1000-fold for a plaque of a few "
        "pixels (docs/method.md); 0 = off, as in the paper and CycleGAN"))
    keep_calcium_from: str = Field("nc", description=(
        "the non-contrast domain whose bright pixels lambda_keep_calcium(_cycle) keep"))
    keep_calcium_hu: float = Field(130.0, description=(
        "HU from which a non-contrast pixel is calcium or bone (Agatston's 130)"))

    lambda_change_tv: float = Field(0.0, ge=0, description=(
        "(GMM-)UNIT: weight of the total variation of each translation's change from its "
        "source, steps weighted by how flat the source is there (models/losses.py, "
        "edge_aware_change_tv): a homogeneous change in tissue homogeneous in the source, free "
        "jumps at its edges; 0 = off, as in the paper and CycleGAN"))
    change_tv_edge_hu: float = Field(60.0, gt=0, description=(
        "lambda_change_tv: the source step (HU) that makes a jump of the change cheap (each "
        "step weighted exp(-(source step / this)^2))"))

    # ---------------------------------------------------------------- CycleGAN
    n_res_blocks: int = Field(9, ge=0, description="CycleGAN ResNet generator blocks (9 = 256px)")
    lambda_cycle: float = Field(10.0, ge=0, description="CycleGAN cycle-consistency weight")
    lambda_identity: float = Field(0.5, ge=0, description=(
        "CycleGAN identity weight, relative to lambda_cycle (effective = 0.5 * 10 = 5)"))
    pool_size: int = Field(50, ge=0, description="CycleGAN fake-image pool (0 = no pool)")

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        return drop_retired(data, RETIRED, "model")

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        if len(self.domains) < 2:
            raise ValueError(f"need at least two domains, got {self.domains}")
        if self.change_filter_px and self.generator != "unet":
            raise ValueError("change_filter_px filters the U-Net's change: it needs "
                             "generator 'unet'")
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
        if self.kind == "cyclegan":  # the recipe's terms default to off, as in its paper
            for name, off in UNIT_ONLY_OFF.items():
                if name not in self.model_fields_set:
                    setattr(self, name, off)
        if self.lambda_histogram and self.kind == "cyclegan":
            raise ValueError("lambda_histogram is for (GMM-)UNIT; CycleGAN keeps its paper's "
                             "losses")
        lo, hi = self.histogram_window_hu
        if not lo < hi:
            raise ValueError(f"histogram_window_hu must be (low, high), got {lo, hi}")
        if self.lambda_change_tv and self.kind == "cyclegan":
            raise ValueError("lambda_change_tv is for (GMM-)UNIT; CycleGAN keeps its paper's "
                             "losses")
        if self.recon_hu_weight_cap > 1 and self.kind == "cyclegan":
            raise ValueError("recon_hu_weight_cap is for (GMM-)UNIT; CycleGAN keeps its "
                             "paper's losses")
        if (self.lambda_keep_calcium or self.lambda_keep_calcium_cycle) and self.kind == "cyclegan":
            raise ValueError("lambda_keep_calcium(_cycle) is for (GMM-)UNIT; CycleGAN keeps its "
                             "paper's losses")
        if ((self.lambda_keep_calcium or self.lambda_keep_calcium_cycle)
                and self.keep_calcium_from not in self.domains):
            raise ValueError(f"keep_calcium_from {self.keep_calcium_from!r} is not one of the "
                             f"domains {self.domains}: name the non-contrast domain "
                             "(model.keep_calcium_from=...) or switch the keep-calcium terms "
                             "off (model.lambda_keep_calcium=0, model.lambda_keep_calcium_cycle=0)")
        if self.fixed_prior and self.n_components != 1:
            raise ValueError("fixed_prior (UNIT's N(0, I)) needs n_components = 1")
        return self

    @property
    def generator_norm(self) -> Norm:
        """Encoder/generator normalisation: 'none' for (GMM-)UNIT (absolute HU must survive,
        and patch and slice statistics differ), 'instance' for CycleGAN (its paper)."""
        return "instance" if self.kind == "cyclegan" else "none"

    @property
    def discriminator_width(self) -> float:
        """The channel multiplier actually used in discriminators."""
        return self.width if self.d_width is None else self.d_width

    @property
    def discriminator_norm(self) -> Norm:
        """Discriminator normalisation: 'none' for (GMM-)UNIT (UNIT's reference), 'instance'
        for CycleGAN."""
        return "instance" if self.kind == "cyclegan" else "none"
