"""Small phantom patients shared by the phantom tests (generated once per session)."""

from __future__ import annotations

import pytest

from ctbridge.phantom import generate_patient

SMALL = dict(size=128, slices=24)
PLAQUE_GRID = dict(size=256, slices=24)


@pytest.fixture(scope="session")
def noisy():
    """A patient at 2.8 mm pixels with the default noise."""
    return generate_patient(11, noise_hu=15.0, **SMALL)


@pytest.fixture(scope="session")
def clean():
    """The same patient without noise."""
    return generate_patient(11, noise_hu=0.0, **SMALL)


@pytest.fixture(scope="session")
def plaque_patient():
    """A noise-free patient at 1.4 mm pixels with a full plaque burden to check plaques on."""
    return generate_patient(2, noise_hu=0.0, plaques_max=20, **PLAQUE_GRID)
