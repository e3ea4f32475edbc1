"""The EMA of the translator's weights: known values, swapping, resume, what is averaged."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ctbridge.training.weight_average import UPDATES_KEY, WeightAverage


def _model() -> nn.Sequential:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def _set(params, value: float) -> None:
    with torch.no_grad():
        for p in params:
            p.fill_(value)


def test_average_follows_the_warmed_up_decay():
    model = _model()
    gen = list(model[0].parameters())
    avg = WeightAverage(model, gen, decay=0.3)
    expected = 0.0
    for step, value in enumerate([1.0, 2.0, 4.0, 8.0], start=1):
        _set(model.parameters(), value)
        avg.update()
        d = min(0.3, (1 + step) / (10 + step))  # 2/11, 3/12, then the cap 0.3
        expected = d * expected + (1 - d) * value
        assert all(torch.allclose(s, torch.full_like(s, expected)) for s in avg.shadow)
    assert avg.updates == 4 and avg.current_decay() == 0.3
    assert avg.names == ["0.weight", "0.bias"]  # only the parameters asked for


def test_swapped_in_holds_the_average_and_restores_the_raw_weights():
    model = _model()
    avg = WeightAverage(model, list(model[0].parameters()), decay=0.9)
    _set(model.parameters(), 3.0)
    avg.update()  # shadow = 3 * (1 - 2/11)
    with avg.swapped_in():
        assert torch.allclose(model[0].weight, torch.full((2, 2), 3.0 * 9 / 11))
        assert torch.equal(model[1].weight, torch.full((1, 2), 3.0))  # not averaged
    assert torch.equal(model[0].weight, torch.full((2, 2), 3.0))


def test_restore_round_trip_is_exact():
    model = _model()
    avg = WeightAverage(model, list(model.parameters()), decay=0.99)
    for value in (1.0, -2.0, 5.0):
        _set(model.parameters(), value)
        avg.update()
    raw = avg.raw_tensors()
    with avg.swapped_in():
        averaged = {k: v.clone() for k, v in model.state_dict().items()}
    # a fresh process: the model file holds the averages, the trainer file the raw weights
    model2 = _model()
    model2.load_state_dict(averaged)
    avg2 = WeightAverage(model2, list(model2.parameters()), decay=0.99)
    avg2.restore(raw)
    assert avg2.updates == 3
    assert all(torch.equal(a, b) for a, b in zip(avg2.shadow, avg.shadow, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(model2.parameters(), model.parameters(),
                                                  strict=True))


def test_restore_without_raw_weights_and_bad_decay_are_refused():
    model = _model()
    avg = WeightAverage(model, list(model.parameters()), decay=0.9)
    with pytest.raises(KeyError):
        avg.restore({UPDATES_KEY: torch.tensor(1)})
    for decay in (0.0, 1.0):
        with pytest.raises(ValueError, match="decay"):
            WeightAverage(model, list(model.parameters()), decay=decay)
