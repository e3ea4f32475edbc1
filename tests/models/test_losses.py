from __future__ import annotations

import pytest
import torch

from ctbridge.models import losses as L


def test_reconstruction_is_mean_l1():
    x = torch.zeros(2, 1, 4, 4)
    y = x.clone()
    y[0, 0, 0, 0] = 3.0
    assert float(L.reconstruction_loss(x, y)) == pytest.approx(3.0 / 32)


def test_vae_and_cycle_weights():
    kl, kl2, rec = torch.tensor(2.0), torch.tensor(5.0), torch.tensor(0.5)
    assert float(L.vae_loss(kl, rec, lambda1=0.1, lambda2=100)) == pytest.approx(50.2)
    # UNIT eq. 7-8: lambda3 on both KLs
    assert float(L.cycle_loss(kl, kl2, rec, lambda3=0.1, lambda4=100)) == pytest.approx(50.7)
    # the earlier design note's reading: lambda4 on the translated KL
    got = L.cycle_loss(kl, kl2, rec, lambda3=0.1, lambda4=100, lambda_kl_translated=100)
    assert float(got) == pytest.approx(0.2 + 500 + 50)


def test_lsgan_targets():
    ones, zeros = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    assert float(L.gan_discriminator_loss(ones, zeros)) == 0.0
    assert float(L.gan_discriminator_loss(zeros, ones)) == 2.0
    assert float(L.gan_generator_loss(ones)) == 0.0
    assert float(L.gan_generator_loss(zeros)) == 1.0
    assert float(L.gan_loss(zeros, lambda0=10.0)) == 10.0


def test_gan_gradients_push_the_right_way():
    fake = torch.zeros(1, 1, 2, 2, requires_grad=True)
    L.gan_generator_loss(fake).backward()
    assert float(fake.grad.sum()) < 0  # G wants higher scores on its fakes


def test_cyclegan_terms():
    x, y = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    assert float(L.cyclegan_cycle_loss(x, y, lambda_cycle=10)) == 10.0
    assert float(L.identity_loss(x, y, lambda_identity=0.5, lambda_cycle=10)) == 5.0


def test_intensity_distribution_loss_compares_sorted_values_not_pixels():
    torch.manual_seed(0)
    real = torch.rand(3, 1, 8, 8) * 0.8 - 0.4
    shuffled = real.flatten(1)[:, torch.randperm(64)].view_as(real)
    kw = dict(low=-0.5, high=0.5, levels=64)
    assert float(L.intensity_distribution_loss(shuffled, real, real, **kw)) < 1e-7
    shifted = L.intensity_distribution_loss(real + 0.05, real, real, **kw)
    assert abs(float(shifted) - 0.05) < 1e-6  # a uniform shift costs exactly its size


def test_intensity_distribution_loss_in_cells_sees_which_half_is_bright():
    real = torch.zeros(1, 1, 8, 8)
    real[..., :, :4] = 0.3  # left half enhanced
    source = torch.zeros(1, 1, 8, 8)
    swapped = real.flip(-1)  # the same values, the bright half on the wrong side
    kw = dict(low=-0.5, high=0.5, min_pixels=4)
    assert float(L.intensity_distribution_loss(swapped, real, source, **kw)) < 1e-7
    assert float(L.intensity_distribution_loss(real, real, source, **kw, cells=2)) < 1e-7
    # each 4x4 tile of the swapped patch is 0.3 away from the real tile at its place
    torch.testing.assert_close(
        L.intensity_distribution_loss(swapped, real, source, **kw, cells=2), torch.tensor(0.3))
    with pytest.raises(ValueError, match="3x3 tiles"):
        L.intensity_distribution_loss(real, real, source, **kw, cells=3)


def test_intensity_distribution_loss_chooses_pixels_by_the_source():
    source = torch.zeros(1, 1, 4, 4)
    source[0, 0, 0, 0] = 2.0  # calcium in the source: out of the comparison
    real = torch.zeros(1, 1, 4, 4)
    fake = source.clone()
    fake[0, 0, 1, 1] = -0.9  # a lumen pixel darkened below the range: still compared
    fake.requires_grad_(True)
    loss = L.intensity_distribution_loss(fake, real, source, low=-0.5, high=0.5, levels=15,
                                         min_pixels=4)
    loss.backward()
    assert fake.grad[0, 0, 0, 0] == 0  # the plaque is not pulled down
    assert fake.grad[0, 0, 1, 1] < 0  # the dark dot is pulled back up
    assert float(loss.detach()) > 0


def test_intensity_distribution_loss_skips_patches_with_too_few_pixels():
    source = torch.full((2, 1, 4, 4), 2.0)  # all bone: nothing to compare in patch 0
    source[1] = 0.0
    real = torch.zeros(2, 1, 4, 4)
    fake = torch.full((2, 1, 4, 4), 0.1)
    loss = L.intensity_distribution_loss(fake, real, source, low=-0.5, high=0.5, min_pixels=4)
    assert abs(float(loss) - 0.1) < 1e-6  # the mean over the one patch that counts


def test_intensity_distribution_loss_in_bf16_matches_fp32():
    # bf16 counts only to 256 exactly: a 32 x 32 patch's top quantile index (1023) once
    # rounded to 1024 and indexed past the end under `precision=bf16`
    torch.manual_seed(0)
    source, real = (torch.rand(2, 1, 32, 32) * 0.8 - 0.4 for _ in range(2))
    fake = source + 0.05
    kw = dict(low=-0.5, high=0.5)
    want = float(L.intensity_distribution_loss(fake, real, source, **kw))
    got = L.intensity_distribution_loss(*(t.bfloat16() for t in (fake, real, source)), **kw)
    assert abs(float(got) - want) < 0.01


def test_reconstruction_loss_weights_each_pixel():
    x = torch.zeros(1, 1, 2, 2)
    x_hat = torch.tensor([[[[0.1, 0.1], [0.1, 0.1]]]])
    weight = torch.tensor([[[[1.0, 1.0], [1.0, 5.0]]]])
    assert abs(float(L.reconstruction_loss(x, x_hat)) - 0.1) < 1e-7
    assert abs(float(L.reconstruction_loss(x, x_hat, weight)) - 0.2) < 1e-7  # (3 + 5) / 4 / 10


def test_masked_l1_averages_over_the_mask_only():
    x = torch.zeros(1, 1, 2, 2)
    x_hat = torch.tensor([1.0, 3.0, 10.0, 10.0]).view(1, 1, 2, 2)
    mask = torch.tensor([True, True, False, False]).view(1, 1, 2, 2)
    assert float(L.masked_l1(x, x_hat, mask)) == pytest.approx(2.0)
    assert float(L.masked_l1(x, x_hat, torch.zeros_like(mask))) == 0.0


def test_change_tv_prices_steps_on_flat_source_and_frees_them_at_its_edges():
    unit = 0.01  # network units per HU
    src = torch.zeros(1, 1, 16, 16)
    src[..., 8:, :] = 2.0  # a 200-HU edge between two flat halves
    lumen = torch.zeros_like(src)
    lumen[..., 8:, :] = 2.5  # the bright half enhances evenly by 250 HU: a step at the edge
    assert float(L.edge_aware_change_tv(src + lumen, src, unit=unit, edge=60.0)) < 1e-3
    # the same 250 HU in a disk that ignores the edge: priced by its perimeter x height
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    blob = (((yy - 3) ** 2 + (xx - 8) ** 2) <= 4).float()[None, None] * 2.5
    tv_blob = float(L.edge_aware_change_tv(src + blob, src, unit=unit, edge=60.0))
    steps_x = float((blob[..., :, 1:] - blob[..., :, :-1]).abs().mean()) / unit
    steps_y = float((blob[..., 1:, :] - blob[..., :-1, :]).abs().mean()) / unit
    assert tv_blob == pytest.approx(steps_x + steps_y, rel=1e-5)  # blob on flat source only
    # a blurred step costs what the sharp one does (L1 on steps), the noise of a change more
    ramp = torch.clamp((xx - 4) / 8, 0, 1)[None, None] * 2.5
    sharp = (xx >= 8).float()[None, None] * 2.5
    zero = torch.zeros_like(src)
    assert float(L.edge_aware_change_tv(ramp, zero, unit=unit, edge=60.0)) == pytest.approx(
        float(L.edge_aware_change_tv(sharp, zero, unit=unit, edge=60.0)), rel=1e-5)
    torch.manual_seed(0)
    noisy = sharp + 0.2 * torch.randn_like(sharp)  # 20 HU per pixel
    assert float(L.edge_aware_change_tv(noisy, zero, unit=unit, edge=60.0)) > 3 * float(
        L.edge_aware_change_tv(sharp, zero, unit=unit, edge=60.0))
    # gradients reach the translation only, never the source
    fake = (src + blob).requires_grad_()
    source = src.clone().requires_grad_()
    L.edge_aware_change_tv(fake, source, unit=unit, edge=60.0).backward()
    assert fake.grad is not None and source.grad is None
