from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal, kl_divergence

from ctbridge.models.latent import MixtureLatent, Posterior, gaussian_kl


def _latent(k: int, c: int = 6, fixed: bool = False, seed: int = 0) -> MixtureLatent:
    torch.manual_seed(seed)
    lat = MixtureLatent(in_channels=10, latent_dim=c, n_components=k, n_domains=2,
                        fixed_prior=fixed)
    if not fixed:
        with torch.no_grad():  # move everything away from its initial value
            lat.prior_mu.normal_(0, 0.7)
            lat.prior_log_sigma.uniform_(-0.5, 0.5)
            lat.prior_logits.normal_(0, 1.0)
            lat.posterior_log_var.uniform_(-1.0, 0.5)
    return lat


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mq, mp = torch.randn(50), torch.randn(50)
    lq, lp = torch.randn(50), torch.randn(50)
    ref = kl_divergence(Normal(mq, (0.5 * lq).exp()), Normal(mp, (0.5 * lp).exp()))
    torch.testing.assert_close(gaussian_kl(mq, lq, mp, lp), ref)


def test_kl_at_k1_equals_closed_form_gaussian_kl():
    lat = _latent(1)
    post = lat.posterior(torch.randn(3, 10, 4, 5), domain_index=1)
    m = post.means[:, 0]  # (B, C, h, w)
    var_q = lat.posterior_log_var[1, 0].exp()[None, :, None, None]
    mu = lat.prior_mu[0][None, :, None, None]
    var_p = (2 * lat.prior_log_sigma[0]).exp()[None, :, None, None]
    # KL(N(m, var_q) || N(mu, var_p)) per element, written out independently
    expected = 0.5 * (torch.log(var_p / var_q) + (var_q + (m - mu) ** 2) / var_p - 1)
    torch.testing.assert_close(lat.kl(post), expected.mean(), rtol=1e-6, atol=1e-7)
    via_torch = kl_divergence(Normal(m, var_q.sqrt()), Normal(mu, var_p.sqrt())).mean()
    torch.testing.assert_close(lat.kl(post), via_torch, rtol=1e-6, atol=1e-7)


def test_unit_kl_is_half_squared_mean():
    lat = _latent(1, fixed=True)
    post = lat.posterior(torch.randn(2, 10, 3, 3), domain_index=0)
    torch.testing.assert_close(lat.kl(post), 0.5 * post.means.pow(2).mean())


def test_mixture_bound_is_nonnegative_and_zero_at_the_prior():
    lat = _latent(4)
    post = lat.posterior(torch.randn(2, 10, 3, 3), domain_index=0)
    assert float(lat.kl(post).detach()) > 0
    with torch.no_grad():  # heads output exactly the prior means, variances equal
        lat.heads.weight.zero_()
        lat.heads.bias.copy_(lat.prior_mu.flatten())
        lat.posterior_log_var[0].copy_(2 * lat.prior_log_sigma)
    post = lat.posterior(torch.randn(2, 10, 3, 3), domain_index=0)
    assert abs(float(lat.kl(post).detach())) < 1e-6


def test_mixture_bound_upper_bounds_a_monte_carlo_kl():
    torch.manual_seed(1)
    lat = _latent(3, c=2, seed=1)
    post = lat.posterior(torch.randn(1, 10, 1, 1), domain_index=0)
    pi = Categorical(probs=lat.mixing_weights().detach())
    q = MixtureSameFamily(pi, Independent(Normal(post.means[0, :, :, 0, 0].detach(),
                                                 (0.5 * post.log_var).exp().detach()), 1))
    p = MixtureSameFamily(pi, Independent(Normal(lat.prior_mu.detach(),
                                                 lat.prior_log_sigma.exp().detach()), 1))
    z = q.sample((100_000,))
    mc = float((q.log_prob(z) - p.log_prob(z)).mean())  # true KL, per location
    bound = float(lat.kl(post).detach()) * 2  # kl() averages over C = 2 channels
    assert mc <= bound + 0.02


def test_gradients_reach_every_latent_parameter():
    lat = _latent(3)
    post = lat.posterior(torch.randn(2, 10, 3, 3, requires_grad=True), domain_index=0)
    (lat.kl(post) + lat.sample(post).pow(2).mean()).backward()
    for name in ("prior_mu", "prior_log_sigma", "prior_logits", "heads.weight", "heads.bias"):
        grad = lat.get_parameter(name).grad
        assert grad is not None and float(grad.abs().sum()) > 0, name
    assert float(lat.posterior_log_var.grad[0].abs().sum()) > 0
    assert float(lat.posterior_log_var.grad[1].abs().sum()) == 0  # the other domain


def test_fixed_prior_has_no_parameters_but_same_state_keys():
    fixed = _latent(1, fixed=True)
    names = {n for n, _ in fixed.named_parameters()}
    assert names == {"heads.weight", "heads.bias"}
    assert set(fixed.state_dict()) == set(_latent(1).state_dict())
    assert float(fixed.prior_mu.abs().sum()) == 0 and float(fixed.prior_log_sigma.abs().sum()) == 0
    with pytest.raises(ValueError):
        MixtureLatent(4, 2, 3, 2, fixed_prior=True)


def test_responsibilities_pick_the_nearest_component():
    lat = _latent(3, c=4)
    with torch.no_grad():
        lat.prior_logits.zero_()
        lat.prior_log_sigma.zero_()
        lat.posterior_log_var.zero_()
        lat.prior_mu.copy_(torch.tensor([[0.0] * 4, [5.0] * 4, [-5.0] * 4]))
    means = torch.zeros(1, 3, 4, 1, 2)
    means[0, :, :, 0, 0] = 5.0  # every head near component 1 at location 0
    means[0, :, :, 0, 1] = -5.0  # ... and near component 2 at location 1
    post = Posterior(means=means, log_var=lat.posterior_log_var[0])
    r = lat.log_responsibilities(post).exp()
    torch.testing.assert_close(r.sum(1), torch.ones(1, 1, 2))
    assert lat.component_map(post).tolist() == [[[1, 2]]]


def test_sampling_deterministic_and_stochastic():
    lat = _latent(3)
    with torch.no_grad():
        post = lat.posterior(torch.randn(2, 10, 4, 4), domain_index=0)
    k = lat.component_map(post)
    z0 = lat.sample(post, stochastic=False)
    torch.testing.assert_close(z0, lat.select(post, k, noise=False))
    assert torch.equal(z0, lat.sample(post, stochastic=False))
    # deterministic = the most responsible component's mean, location by location
    b, c, i, j = 1, 2, 3, 0
    assert float(z0[b, c, i, j]) == float(post.means[b, k[b, i, j], c, i, j])
    torch.manual_seed(0)
    z1 = lat.sample(post)
    torch.manual_seed(0)
    assert torch.equal(z1, lat.sample(post))  # torch RNG only
    assert not torch.equal(z1, lat.sample(post))
    assert z1.shape == z0.shape == (2, 6, 4, 4)


def test_sampled_components_follow_the_responsibilities():
    lat = _latent(2, c=1)
    with torch.no_grad():
        lat.prior_mu.copy_(torch.tensor([[1.0], [-1.0]]))
        lat.prior_log_sigma.zero_()
        lat.prior_logits.zero_()
        lat.posterior_log_var.fill_(-20.0)  # no noise: z identifies the component
    means = torch.zeros(4000, 2, 1, 1, 1)
    means[:, 0] = 1.0
    means[:, 1] = -1.0
    means[:, 0] += 0.2  # location's code favours component 1 a little
    post = Posterior(means=means, log_var=lat.posterior_log_var[0])
    r1 = float(lat.log_responsibilities(post)[0, 1].exp().detach())
    torch.manual_seed(0)
    frac = float((lat.sample(post) < 0).float().mean())
    assert abs(frac - r1) < 0.03 and 0.1 < r1 < 0.9


def test_usage_statistics():
    lat = _latent(3)
    posts = [lat.posterior(torch.randn(2, 10, 4, 4), domain_index=d) for d in (0, 1)]
    lat.update_usage([lat.component_map(p) for p in posts])
    stats = lat.stats()
    assert [k for k in stats if k.startswith("usage/")] == ["usage/k00", "usage/k01", "usage/k02"]
    assert math.isclose(sum(v for k, v in stats.items() if k.startswith("usage/")), 1.0,
                        rel_tol=1e-6)
    assert 1.0 <= stats["latent/effective_components"] <= 3.0 + 1e-6
    assert "usage" not in lat.state_dict()


def test_most_responsible_mean_one_component_at_a_time_equals_the_full_posterior():
    torch.manual_seed(0)
    lat = MixtureLatent(16, 8, 5, 2, posterior_std_init=0.3)
    with torch.no_grad():
        lat.prior_mu.mul_(3.0)  # components far apart: no near-ties to flip the argmax
    features = torch.randn(3, 16, 6, 7)
    for domain in (0, 1):
        full = lat.sample(lat.posterior(features, domain), stochastic=False)
        streamed = lat.most_responsible_mean(features, domain)
        torch.testing.assert_close(streamed, full, rtol=1e-5, atol=1e-6)
    # and the components really differ over the map, so the test tells them apart
    assert lat.component_map(lat.posterior(features, 0)).unique().numel() > 1


def test_translation_uses_the_streamed_mean():
    from ctbridge.models import ModelConfig, build_model
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=0.125, n_components=4)).eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        post, _ = model.encode(x, "nc")
        full = model.decode(model.latent.sample(post, stochastic=False), domain="ce")
        torch.testing.assert_close(model.translate(x, "nc", "ce"), full, rtol=1e-5, atol=1e-5)
