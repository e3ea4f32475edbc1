from __future__ import annotations

import numpy as np
import pytest
import torch

from ctbridge.data.intensity import IntensityScaler, window


@pytest.fixture(params=["default", "linear"])
def scaler(request):
    if request.param == "linear":
        return IntensityScaler((-1024.0, 3000.0), (-1.0, 1.0))
    return IntensityScaler()


def test_round_trip_without_clipping_numpy(scaler):
    hu = np.linspace(-2000, 6000, 100_001)  # well beyond [-1024, 3000] on both sides
    back = scaler.to_hu(scaler.to_model(hu))
    np.testing.assert_allclose(back, hu, atol=1e-9)


def test_round_trip_torch_float32_within_0_01_hu(scaler):
    hu = torch.linspace(-1024, 3000, 40_241)
    back = scaler.to_hu(scaler.to_model(hu))
    assert torch.max(torch.abs(back - hu)) < 0.01


def test_known_values_and_monotone():
    s = IntensityScaler()
    np.testing.assert_allclose(s.to_model(np.array([-1024.0, -200.0, 500.0, 3000.0])),
                               [-1.0, -0.6, 0.6, 1.0])
    assert s.to_model(np.array(150.0)) == pytest.approx(0.0)  # middle of [-200, 500]
    # linear beyond 3000 HU, not clipped: 1 + 2500 * (0.4 / 2500)
    assert s.to_model(np.array(5500.0)) == pytest.approx(1.4)
    values = s.to_model(np.linspace(-1500, 5000, 1000))
    assert np.all(np.diff(values) > 0)


def test_plaque_and_contrast_stay_distinct():
    s = IntensityScaler()
    lumen, plaque_dim, plaque_bright = s.to_model(np.array([350.0, 450.0, 1000.0]))
    assert lumen < plaque_dim < plaque_bright


def test_torch_gradient_flows():
    s = IntensityScaler()
    x = torch.tensor([0.1, 0.8], requires_grad=True)
    s.to_hu(x).sum().backward()
    assert torch.all(x.grad > 0)


def test_dict_round_trip_and_validation():
    s = IntensityScaler()
    assert IntensityScaler.from_dict(s.to_dict()) == s
    with pytest.raises(ValueError, match="invertible"):
        IntensityScaler((0.0, 0.0), (-1.0, 1.0))


def test_window_is_separate_and_clips():
    assert window(np.array([-1000.0, 40.0, 3000.0])).tolist() == [0.0, 0.5, 1.0]


def test_hu_per_unit_is_the_local_slope_of_to_hu(scaler):
    hu = torch.tensor([-900.0, 40.0, 900.0], dtype=torch.float64)
    values = scaler.to_model(hu)
    eps = 1e-6
    numeric = (scaler.to_hu(values + eps) - scaler.to_hu(values - eps)) / (2 * eps)
    assert torch.allclose(scaler.hu_per_unit(values), numeric, rtol=1e-6)


def test_hu_per_unit_default_knots_compress_gas_and_bone():
    scaler = IntensityScaler()  # gas 824 / 0.4, soft tissue 700 / 1.2, bone 2500 / 0.4 HU/unit
    values = scaler.to_model(torch.tensor([-900.0, 40.0, 900.0], dtype=torch.float64))
    assert torch.allclose(scaler.hu_per_unit(values),
                          torch.tensor([2060.0, 700 / 1.2, 6250.0], dtype=torch.float64))


def test_hu_weight_is_the_slope_ratio_to_soft_tissue_clamped():
    scaler = IntensityScaler()  # slope ratios: gas 2060 / 583.3 = 3.53, bone 6250 / 583.3 = 10.7
    values = scaler.to_model(torch.tensor([-900.0, 40.0, 900.0], dtype=torch.float64))
    assert torch.allclose(scaler.hu_weight(values, 4.0),
                          torch.tensor([2060 * 1.2 / 700, 1.0, 4.0], dtype=torch.float64))
    assert torch.equal(scaler.hu_weight(values, 1.0), torch.ones(3, dtype=torch.float64))
