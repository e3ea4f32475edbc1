from __future__ import annotations

import pytest
import torch

from ctbridge.models import build_model
from ctbridge.models.cyclegan import CycleGAN, ImagePool
from tests.models.conftest import tiny_config


def test_one_generator_per_ordered_pair():
    model = build_model(tiny_config("cyclegan", ("nc", "arterial", "venous")))
    assert isinstance(model, CycleGAN)
    assert sorted(model.generators) == sorted(
        f"{s}_to_{t}" for s in model.domains for t in model.domains if s != t)
    assert len(model.discriminators) == 3
    with pytest.raises(ValueError, match="same domain"):
        model.translate(torch.randn(1, 1, 32, 32), "nc", "nc")


def test_sample_flag_changes_nothing():
    torch.manual_seed(0)
    model = build_model(tiny_config("cyclegan"))
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.translate(x, "nc", "ce"),
                           model.translate(x, "nc", "ce", sample=True))


def test_pool_fills_then_mixes_with_torch_rng():
    pool = ImagePool(4)
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert torch.equal(pool.query(first), first)  # filling: returned as is
    assert int(pool.count) == 4
    new = torch.full((64, 1, 2, 2), 9.0)
    torch.manual_seed(0)
    out = pool.query(new)
    old = (out != 9).flatten(1).all(1)
    assert 0 < int(old.sum()) < 64  # about half swapped for history
    torch.manual_seed(0)
    pool2 = ImagePool(4)
    pool2.query(first)
    assert torch.equal(pool2.query(new), out)  # same RNG, same pool -> same answer


def test_pool_state_round_trips():
    pool = ImagePool(3)
    pool.query(torch.randn(5, 1, 4, 4))
    fresh = ImagePool(3)
    fresh.load_state_dict(pool.state_dict())
    assert torch.equal(fresh.images, pool.images) and int(fresh.count) == 3
    state = torch.get_rng_state()
    a = pool.query(torch.randn(6, 1, 4, 4, generator=torch.Generator().manual_seed(1)))
    torch.set_rng_state(state)
    b = fresh.query(torch.randn(6, 1, 4, 4, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(a, b)


def test_zero_pool_and_identity_off():
    torch.manual_seed(0)
    model = build_model(tiny_config("cyclegan", pool_size=0, lambda_identity=0.0))
    batch = {d: torch.randn(1, 1, 32, 32) for d in model.domains}
    assert float(model.generator_losses(batch)["identity"]) == 0.0
    model.discriminator_losses(batch)
    assert model.pools["nc"].images.numel() == 0
