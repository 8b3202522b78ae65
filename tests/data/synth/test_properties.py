"""Any small config gives a valid shop: schema, unique keys, nothing before launch, sales = events."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from toyguide.data.schema import SCHEMA
from toyguide.data.synth import SynthConfig, generate_shop

configs = st.builds(
    SynthConfig,
    n_shoppers=st.integers(1, 60),
    n_items=st.integers(1, 40),
    n_weeks=st.integers(1, 10),
    seed=st.integers(0, 2**32),
    events_per_shopper_week=st.floats(0.1, 8.0),
    new_item_fraction=st.floats(0.0, 1.0),
    hidden_child_fraction=st.floats(0.0, 1.0),
    hidden_item_attributes_fraction=st.floats(0.0, 1.0),
    promo_rate=st.floats(0.0, 1.0),
)


@settings(max_examples=25, deadline=None)
@given(configs)
def test_any_small_config_gives_a_valid_shop(config: SynthConfig) -> None:
    shop = generate_shop(config)
    for name, frame in shop.frames.items():
        assert dict(frame.schema) == SCHEMA[name].polars_schema, name
        assert not frame.select(SCHEMA[name].key).is_duplicated().any(), name
    items, sales, events = (shop.frames[n] for n in ("items", "sales", "events"))
    assert items.height == config.n_items
    assert sales.height == shop.truth["demand_truth"].height
    joined = events.join(items, on="item_id")
    assert (joined["ts"] >= joined["launch_date"].cast(pl.Datetime("us"))).all()
    bought = events.filter(pl.col("kind") == "purchase")["value"].sum()
    assert sales["units"].sum() == bought
