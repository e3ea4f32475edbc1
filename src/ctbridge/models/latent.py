"""The shared latent space: a Gaussian (UNIT) or a K-component Gaussian mixture (ours).

docs/method.md (Latent), per latent location (the latent is a (C, h, w) map; every location is
one C-dimensional z):

* prior      p(z)     = sum_k pi_k N(z | mu_k, diag sigma_k^2),  pi = softmax(logits)
* posterior  q_i(z|x) = sum_k pi_k N(z | E_i(x, theta_k), diag Sigma_{k,i})

``theta_k`` are K heads (1x1 convolutions, shared by all domains) on the shared encoder features:
each location gets K component means. ``Sigma_{k,i}`` are free parameters per domain i and
component k (one variance per channel). UNIT proper (``fixed_prior``) is K = 1 with mu = 0,
sigma = 1 and posterior variance I, all frozen (Liu et al. 2017, §2).

**KL.** KL between mixtures has no closed form. Because q_i and p share the weights pi, the
convexity of KL gives the closed-form upper bound

    KL(sum_k pi_k q_k || sum_k pi_k p_k) <= sum_k pi_k KL(q_k || p_k),

which is what :meth:`MixtureLatent.kl` returns (averaged over batch, locations and channels).
At K = 1 both sides are the Gaussian KL, exactly. It is cheap and differentiable in mu, sigma,
pi, the heads and Sigma. (A Monte Carlo estimate would be unbiased for the true KL, but noisy.)

**Responsibilities.** r_k(x) ∝ pi_k N(E_i(x, theta_k) | mu_k, sigma_k^2 + Sigma_{k,i}) -- the
probability that prior component k produced the location's code, with the posterior
variance convolved in (the expected likelihood of q_k under p_k).

**Sampling.** Training decodes one reparameterised sample per location, from a component drawn
from the *responsibilities* (not from pi): then the component decoded depends on the content,
which is what lets components specialise (organs, vessel walls, plaques fall into different
components -- the paper's Fig. 2), and training sees the same components that test time
decodes. Test time is deterministic: the mean of the most responsible component. The draw of k
is not differentiable; gradients reach the chosen component's head, mean and variance through
the reparameterised z, and every component (and pi) through the KL bound.

Example:
    >>> import torch
    >>> lat = MixtureLatent(in_channels=16, latent_dim=8, n_components=3, n_domains=2)
    >>> post = lat.posterior(torch.randn(2, 16, 4, 4), domain_index=0)
    >>> post.means.shape, lat.sample(post).shape, lat.kl(post).shape
    (torch.Size([2, 3, 8, 4, 4]), torch.Size([2, 8, 4, 4]), torch.Size([]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def gaussian_kl(mean_q: torch.Tensor, log_var_q: torch.Tensor, mean_p: torch.Tensor,
                log_var_p: torch.Tensor) -> torch.Tensor:
    """Element-wise KL(N(mean_q, var_q) || N(mean_p, var_p)) of diagonal Gaussians (broadcasts).

    KL = 0.5 * (log var_p - log var_q + (var_q + (mean_q - mean_p)^2) / var_p - 1)
    """
    return 0.5 * (log_var_p - log_var_q
                  + (log_var_q.exp() + (mean_q - mean_p).pow(2)) / log_var_p.exp() - 1.0)


@dataclass
class Posterior:
    """q_i(z | x) at every latent location.

    Attributes:
        means: (B, K, C, h, w) component means E_i(x, theta_k).
        log_var: (K, C) log Sigma_{k,i} of the encoding domain i.

    The statistics computed from it (responsibilities, KL) are float32 even under bf16
    autocast: they sum over C channels, where bf16's 8-bit mantissa would lose them.
    """

    means: torch.Tensor
    log_var: torch.Tensor


class MixtureLatent(nn.Module):
    """K encoder heads, per-domain posterior variances, and the (mixture) prior.

    Args:
        in_channels: channels of the shared encoder features the heads read.
        latent_dim: C, channels of z.
        n_components: K (1 = Gaussian latent).
        n_domains: number of domains (one set of posterior variances each).
        fixed_prior: UNIT proper: prior N(0, I) and posterior variance I, frozen (stored as
            buffers with the same names, so checkpoints look alike).
    """

    def __init__(self, in_channels: int, latent_dim: int, n_components: int, n_domains: int,
                 *, fixed_prior: bool = False, posterior_std_init: float = 1.0) -> None:
        super().__init__()
        if fixed_prior and n_components != 1:
            raise ValueError("a fixed N(0, I) prior has one component")
        k, c = n_components, latent_dim
        self.n_components, self.latent_dim, self.fixed_prior = k, c, fixed_prior
        # theta_k: one 1x1 conv computes all K heads at once -> (B, K*C, h, w)
        self.heads = nn.Conv2d(in_channels, k * c, kernel_size=1)
        # K > 1: distinct means N(0, 1/C) per coordinate (components about one unit apart,
        # near the origin) so the mixture is not symmetric at the start; K = 1 starts at N(0, I).
        mu = torch.randn(k, c) / math.sqrt(c) if k > 1 else torch.zeros(k, c)
        tensors = {
            "prior_mu": mu,  # (K, C)
            "prior_log_sigma": torch.zeros(k, c),  # (K, C)
            "prior_logits": torch.zeros(k),  # (K,) uniform pi
            # (D, K, C) log Sigma_{k,i}; UNIT proper keeps the identity
            "posterior_log_var": torch.full((n_domains, k, c), 0.0 if fixed_prior else
                                            2.0 * math.log(posterior_std_init)),
        }
        for name, value in tensors.items():
            if fixed_prior:
                self.register_buffer(name, value)
            else:
                self.register_parameter(name, nn.Parameter(value))
        # fraction of latent locations whose most responsible component is k (last update)
        self.register_buffer("usage", torch.zeros(k), persistent=False)

    # ----------------------------------------------------------------------------- prior
    def mixing_weights(self) -> torch.Tensor:
        """pi, (K,)."""
        return torch.softmax(self.prior_logits, dim=0)

    # ----------------------------------------------------------------------------- posterior
    def posterior(self, features: torch.Tensor, domain_index: int) -> Posterior:
        """q_i(z | x) from shared encoder features (B, in_channels, h, w)."""
        b, _, h, w = features.shape
        means = self.heads(features)  # (B, K*C, h, w)
        means = means.view(b, self.n_components, self.latent_dim, h, w)  # (B, K, C, h, w)
        return Posterior(means=means, log_var=self.posterior_log_var[domain_index])

    def log_responsibilities(self, post: Posterior) -> torch.Tensor:
        """log r_k per location, (B, K, h, w); see the module docstring."""
        var = (2.0 * self.prior_log_sigma).exp() + post.log_var.exp()  # (K, C)
        inv_sd = var.rsqrt()[None, :, :, None, None]  # (1, K, C, 1, 1)
        mu = self.prior_mu[None, :, :, None, None]  # (1, K, C, 1, 1)
        quad = ((post.means.float() - mu) * inv_sd).pow(2).sum(dim=2)  # (B, K, h, w), fp32
        log_norm = (var.log() + math.log(2 * math.pi)).sum(dim=1)  # (K,)
        log_n = -0.5 * (quad + log_norm[None, :, None, None])  # (B, K, h, w)
        log_pi = torch.log_softmax(self.prior_logits, dim=0)[None, :, None, None]  # (1,K,1,1)
        return torch.log_softmax(log_pi + log_n, dim=1)  # (B, K, h, w)

    def component_map(self, post: Posterior) -> torch.Tensor:
        """Most responsible component per latent location, (B, h, w) int64."""
        return self.log_responsibilities(post).argmax(dim=1)

    # ----------------------------------------------------------------------------- KL
    def kl(self, post: Posterior) -> torch.Tensor:
        """sum_k pi_k KL(q_k || p_k), averaged over batch, locations and channels (scalar).

        The convexity bound on KL(q || p) for mixtures with shared weights; exactly the
        Gaussian KL at K = 1. Averaging (not summing) over latent elements keeps lambda1 and
        lambda3 meaningful whatever the patch size and width. The Gaussian KL is linear in
        (m - mu)^2, so its mean over batch and locations is taken first, on (K, C) -- the
        same number as averaging :func:`gaussian_kl` element-wise, for a fraction of the work.
        """
        mu = self.prior_mu[None, :, :, None, None]  # (1, K, C, 1, 1)
        sq = (post.means.float() - mu).pow(2).mean(dim=(0, 3, 4))  # (K, C) E[(m - mu)^2], fp32
        log_var_p = 2.0 * self.prior_log_sigma  # (K, C)
        kl = 0.5 * (log_var_p - post.log_var
                    + (post.log_var.exp() + sq) / log_var_p.exp() - 1.0)  # (K, C)
        return (self.mixing_weights()[:, None] * kl).sum(dim=0).mean()  # scalar

    # ----------------------------------------------------------------------------- sampling
    def select(self, post: Posterior, component: torch.Tensor, *, noise: bool) -> torch.Tensor:
        """z from component ``component`` (B, h, w) at each location, with or without noise."""
        b, k, c, h, w = post.means.shape
        index = component[:, None, None].expand(b, 1, c, h, w)  # (B, 1, C, h, w)
        z = post.means.gather(1, index).squeeze(1)  # (B, C, h, w)
        if noise:
            std = (0.5 * post.log_var).exp()  # (K, C)
            std = std[component].permute(0, 3, 1, 2)  # (B, C, h, w)
            z = z + std * torch.randn_like(z)  # reparameterisation
        return z

    @torch.no_grad()
    def draw_components(self, post: Posterior, *, stochastic: bool = True
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """(component to decode, most responsible component), each (B, h, w) int64.

        ``stochastic``: the first is drawn from the responsibilities (torch RNG); otherwise
        both are the argmax.
        """
        log_r = self.log_responsibilities(post)  # (B, K, h, w)
        best = log_r.argmax(dim=1)  # (B, h, w)
        if not stochastic or self.n_components == 1:
            return best, best
        b, k, h, w = log_r.shape
        probs = log_r.permute(0, 2, 3, 1).reshape(-1, k).exp()  # (B*h*w, K)
        return torch.multinomial(probs, 1).view(b, h, w), best

    def sample(self, post: Posterior, *, stochastic: bool = True) -> torch.Tensor:
        """A latent map (B, C, h, w) from q_i.

        ``stochastic``: component drawn from the responsibilities, plus Gaussian noise
        (training, or test-time samples). Otherwise: the most responsible component's mean.
        """
        component, _ = self.draw_components(post, stochastic=stochastic)
        return self.select(post, component, noise=stochastic)

    def most_responsible_mean(self, features: torch.Tensor, domain_index: int) -> torch.Tensor:
        """The most responsible component's mean at every location, (B, C, h, w), from shared
        encoder features (B, in_channels, h, w): ``sample(posterior(...), stochastic=False)``.

        Works one component at a time and keeps the best so far, so it holds two (B, C, h, w)
        maps instead of the posterior's K of them: for K = 25 and a batch of 512x512 slices
        that is the difference between gigabytes and megabytes. Translation uses it.
        """
        k, c = self.n_components, self.latent_dim
        var = (2.0 * self.prior_log_sigma).exp() + self.posterior_log_var[domain_index].exp()
        log_norm = (var.log() + math.log(2 * math.pi)).sum(dim=1)  # (K,)
        log_pi = torch.log_softmax(self.prior_logits, dim=0)  # (K,)
        weight = self.heads.weight.view(k, c, *self.heads.weight.shape[1:])  # (K, C, in, 1, 1)
        bias = self.heads.bias.view(k, c)

        def scored(j: int) -> tuple[torch.Tensor, torch.Tensor]:
            """Component j's mean (B, C, h, w) and log pi_j N(mean | mu_j, var_j) (B, h, w)."""
            mean = F.conv2d(features, weight[j], bias[j])
            quad = ((mean.float() - self.prior_mu[j][None, :, None, None])
                    * var[j].rsqrt()[None, :, None, None]).pow(2).sum(dim=1)
            return mean, log_pi[j] - 0.5 * (quad + log_norm[j])

        best, best_score = scored(0)
        for j in range(1, k):
            mean, score = scored(j)
            better = score > best_score  # strictly: ties keep the first component, as argmax
            best_score = torch.where(better, score, best_score)
            best = torch.where(better[:, None], mean, best)
        return best

    # ----------------------------------------------------------------------------- statistics
    @torch.no_grad()
    def update_usage(self, best: list[torch.Tensor]) -> None:
        """Record the fraction of latent locations whose most responsible component is k,
        from component maps (B, h, w) (:meth:`component_map`, :meth:`draw_components`)."""
        counts = torch.zeros(self.n_components, device=self.usage.device)
        for comp in best:
            counts += torch.bincount(comp.flatten(), minlength=self.n_components).to(counts)
        self.usage.copy_(counts / counts.sum().clamp_min(1.0))

    def stats(self) -> dict[str, float]:
        """``usage/kXX`` per component and the effective number of used components
        (exp of the usage entropy) -- a collapsing mixture shows here first."""
        usage = self.usage.detach().float().cpu()
        digits = max(2, len(str(self.n_components - 1)))
        out = {f"usage/k{k:0{digits}d}": float(u) for k, u in enumerate(usage)}
        nz = usage[usage > 0]
        entropy = -(nz * nz.log()).sum()
        out["latent/effective_components"] = float(entropy.exp()) if len(nz) else 0.0
        return out
