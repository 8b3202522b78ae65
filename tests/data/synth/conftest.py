from __future__ import annotations

import pytest

from toyguide.data.synth import SynthConfig, SynthShop, generate_shop

SMALL = SynthConfig(n_shoppers=1500, n_items=300, n_weeks=52, seed=7)


@pytest.fixture(scope="session")
def shop() -> SynthShop:
    """A year of a small shop (about 80k events), shared by the read-only tests."""
    return generate_shop(SMALL)
