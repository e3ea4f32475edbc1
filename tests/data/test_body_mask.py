from __future__ import annotations

import numpy as np

from ctbridge.data.body_mask import body_mask


def test_body_with_gas_hole_and_separate_table():
    vol = np.full((3, 40, 40), -1000.0, np.float32)
    yy, xx = np.mgrid[:40, :40]
    body = (yy - 18) ** 2 + (xx - 20) ** 2 < 14**2
    vol[:, body] = 40.0
    vol[:, 16:20, 18:22] = -950.0  # bowel gas inside the body
    vol[:, 36:38, 5:35] = 200.0  # the table, not touching the body
    mask = body_mask(vol)
    np.testing.assert_array_equal(mask[1], body)
    assert mask.shape == vol.shape


def test_2d_and_all_air():
    assert not body_mask(np.full((10, 10), -1000.0)).any()
    assert body_mask(np.zeros((10, 10))).all()
