"""The loss terms of GMM-UNIT / UNIT and CycleGAN, one small function each.

Equations as in docs/method.md, Losses (the ctbridge paper's VAE, GAN and cycle terms, which
are UNIT's with the mixture KL in place of the Gaussian one). Equation numbers follow UNIT (Liu
et al. 2017, §3): eq. 2 the full objective sum_i L_VAE_i + L_GAN_i + L_CC_i, eq. 3-4 VAE,
eq. 5-6 GAN, eq. 7-8 cycle consistency (one equation per domain; here one function serves
every domain). CycleGAN (Zhu et al. 2017): eq. 1 GAN, eq. 2 cycle, §5.2 identity.

Conventions:
* the reconstruction term -log p_G(x | z) is a Laplacian likelihood, i.e. L1, averaged over
  pixels (UNIT's reference implementation, and L1 keeps edges sharper than L2);
* KL terms arrive already reduced (see :meth:`ctbridge.models.latent.MixtureLatent.kl`);
* discriminators output raw scores, which the least-squares GAN regresses to 1 (real) and 0
  (fake) (Mao et al. 2017; UNIT's and CycleGAN's reference code).

Example:
    >>> import torch
    >>> x = torch.zeros(1, 1, 4, 4)
    >>> round(float(vae_loss(torch.tensor(2.0), reconstruction_loss(x, x + 1), lambda1=0.1,
    ...                      lambda2=100.0)), 4)
    100.2
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reconstruction_loss(x: torch.Tensor, x_hat: torch.Tensor,
                        weight: torch.Tensor | None = None) -> torch.Tensor:
    """-E[log p_G(x | z)] up to constants: mean absolute error (L1) over all pixels, each
    scaled by ``weight`` (same shape as ``x``) when given."""
    error = (x_hat - x).abs()
    return (error if weight is None else weight * error).mean()


def masked_l1(x: torch.Tensor, x_hat: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the pixels where ``mask`` is true (0 when there are none)."""
    m = mask.to(x.dtype)
    return ((x_hat - x).abs() * m).sum() / m.sum().clamp(min=1.0)


def vae_loss(kl: torch.Tensor, recon: torch.Tensor, *, lambda1: float,
             lambda2: float) -> torch.Tensor:
    """L_VAE_i = lambda1 KL(q_i(z | x_i) || p(z)) + lambda2 recon(x_i, G_i(z_i)).  (eq. 3-4)"""
    return lambda1 * kl + lambda2 * recon


def gan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor
                           ) -> torch.Tensor:
    """D's side of the adversarial game (eq. 5-6; CycleGAN eq. 1), unweighted, least squares:
    E[(D(x) - 1)^2] + E[D(G(z))^2]."""
    return (F.mse_loss(real_scores, torch.ones_like(real_scores))
            + F.mse_loss(fake_scores, torch.zeros_like(fake_scores)))


def gan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """G's side (eq. 5-6; CycleGAN eq. 1), unweighted: E[(D(G(z)) - 1)^2]."""
    return F.mse_loss(fake_scores, torch.ones_like(fake_scores))


def gan_loss(fake_scores: torch.Tensor, *, lambda0: float) -> torch.Tensor:
    """L_GAN_j for the generator: lambda0 times G's adversarial term.  (eq. 5-6)"""
    return lambda0 * gan_generator_loss(fake_scores)


def cycle_loss(kl_source: torch.Tensor, kl_translated: torch.Tensor, recon: torch.Tensor, *,
               lambda3: float, lambda4: float, lambda_kl_translated: float | None = None
               ) -> torch.Tensor:
    """L_CC_i = lambda3 KL(q_i(z | x_i) || p) + lambda3 KL(q_j(z | x_i->j) || p)
    + lambda4 recon(x_i, x_i->j->i).  (eq. 7-8)

    UNIT weights both KLs with lambda3; an earlier design note of this project wrote lambda4
    on the second one (docs/method.md, Losses).
    ``lambda_kl_translated`` (default: lambda3) lets a config follow either.
    """
    lam_t = lambda3 if lambda_kl_translated is None else lambda_kl_translated
    return lambda3 * kl_source + lam_t * kl_translated + lambda4 * recon


_LEFT_OUT = 1e4  # model range value that sorts after every pixel a loss compares


def _masked_quantiles(x: torch.Tensor, mask: torch.Tensor, levels: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """(values of each row of ``x`` (B, N) at ``levels`` (Q,) in [0, 1] among the row's
    ``mask``-ed entries; the count of those entries (B,))."""
    n = mask.sum(dim=1)  # (B,)
    ranked = torch.where(mask, x, torch.full_like(x, _LEFT_OUT)).sort(dim=1).values
    per_row = levels[None].float()  # bf16 cannot count
    index = (per_row * (n[:, None] - 1).clamp(min=0)).round().long()  # (B, Q)
    return ranked.gather(1, index), n


def intensity_distribution_loss(fake: torch.Tensor, real: torch.Tensor, source: torch.Tensor, *,
                                low: float, high: float, levels: int = 64,
                                min_pixels: int = 16, cells: int = 1) -> torch.Tensor:
    """Mean over patches of the 1-D Wasserstein-1 distance between the intensities of a
    translated patch and a real target-domain patch, each (B, 1, H, W).

    An unpaired loss (the two patches come from different patients at the same location): the
    two intensity distributions are compared at ``levels`` quantiles, not pixel by pixel. Which
    pixels take part is decided before translation: those of the translation whose *source*
    pixel lies in [low, high], those of the real patch that lie there themselves. So calcium,
    bone (above ``high``) and air (below ``low``) are left out, and a translated pixel cannot
    leave the comparison by being pushed out of the range (a first version clamped the
    translation instead, and the generator darkened part of a contrast lumen to below the range:
    a dotted lumen with the right median). Patches with fewer than ``min_pixels`` such pixels
    on either side do not count; the real patch is a constant.

    ``cells`` > 1 splits every patch into cells x cells tiles and compares each translated tile
    with the real patch's tile at the same place: the same-location pairing at a finer scale,
    so that where in the patch the values sit counts too.
    """
    if cells > 1:
        fake, real, source = (_tiles(t, cells) for t in (fake, real, source))
    f, r = fake.flatten(1), real.detach().flatten(1)
    src = source.detach().flatten(1)
    mask_f, mask_r = (src >= low) & (src <= high), (r >= low) & (r <= high)
    q = torch.linspace(0.0, 1.0, levels, device=fake.device)
    fq, nf = _masked_quantiles(f, mask_f, q)
    rq, nr = _masked_quantiles(r, mask_r, q)
    error = (fq - rq).abs().mean(dim=1)
    keep = (nf >= min_pixels) & (nr >= min_pixels)  # (B,)
    per_patch = torch.where(keep, error, torch.zeros_like(error))
    return per_patch.sum() / keep.sum().clamp(min=1).to(fake.dtype)


def edge_aware_change_tv(fake: torch.Tensor, source: torch.Tensor, *, unit: float,
                         edge: float) -> torch.Tensor:
    """Total variation of the change ``fake - source`` (each (B, 1, H, W)), each step between
    neighbours weighted by how flat the source is there: exp(-(source step / ``edge``)^2).

    Iodine fills a compartment evenly, so the change a phase translation adds is piecewise
    constant: flat where the source is flat (a lumen, an organ), free to jump where the source
    has an edge (a vessel wall against fat, a plaque). Total variation (an L1 on the steps)
    prices a jump by its height, not its sharpness: a clean step costs no more than a blur,
    while blotches and noise pay for every step. ``unit`` is network units per HU (the steps
    are returned in HU); ``edge`` is the source step in HU that makes a jump cheap (weight
    0.37 at ``edge``, 0.02 at twice it), above the noise's steps (~20 HU).

    >>> src = torch.zeros(1, 1, 4, 8); src[..., 4:] = 3.0        # an edge of 300 HU
    >>> step = src * 0.5                                             # a change along it: free
    >>> float(edge_aware_change_tv(src + step, src, unit=0.01, edge=60.0)) < 1e-6
    True
    >>> spot = torch.zeros(1, 1, 4, 8); spot[..., 1, 1] = 2.0        # 200 HU on flat tissue:
    >>> round(float(edge_aware_change_tv(src + spot, src, unit=0.01, edge=60.0)), 2)
    30.95
    >>> round(2 * 200 / 28 + 2 * 200 / 24, 2)  # two 200-HU steps of 28 along x, 24 along y
    30.95
    """
    change = (fake - source.detach()).float() / unit  # HU
    s = source.detach().float() / unit
    total = fake.new_zeros((), dtype=torch.float32)
    for dim in (-1, -2):
        n = change.shape[dim]
        step_c = change.narrow(dim, 1, n - 1) - change.narrow(dim, 0, n - 1)
        step_s = s.narrow(dim, 1, n - 1) - s.narrow(dim, 0, n - 1)
        total = total + (torch.exp(-(step_s / edge) ** 2) * step_c.abs()).mean()
    return total


def _tiles(x: torch.Tensor, cells: int) -> torch.Tensor:
    """(B, C, H, W) -> (B * cells**2, C, H / cells, W / cells): the patch's tiles as patches."""
    b, c, h, w = x.shape
    if h % cells or w % cells:
        raise ValueError(f"a {h}x{w} patch does not split into {cells}x{cells} tiles")
    th, tw = h // cells, w // cells
    x = x.reshape(b, c, cells, th, cells, tw).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b * cells * cells, c, th, tw)


def cyclegan_cycle_loss(x: torch.Tensor, x_cycle: torch.Tensor, *,
                        lambda_cycle: float) -> torch.Tensor:
    """lambda_cycle * ||F(G(x)) - x||_1.  (CycleGAN eq. 2)"""
    return lambda_cycle * reconstruction_loss(x, x_cycle)


def identity_loss(y: torch.Tensor, g_of_y: torch.Tensor, *, lambda_identity: float,
                  lambda_cycle: float) -> torch.Tensor:
    """lambda_identity * lambda_cycle * ||G(y) - y||_1: a generator fed its own target domain
    should change nothing.  (CycleGAN §5.2; the weight is relative to the cycle weight, as in
    the reference code: 0.5 * 10)"""
    return lambda_identity * lambda_cycle * reconstruction_loss(y, g_of_y)
