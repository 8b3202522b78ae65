"""SynthConfig: validation, dates in the past, named scales."""

from __future__ import annotations

import datetime as dt

import pytest

from toyguide.data.synth import SCALES, SynthConfig
from toyguide.errors import ConfigError


def test_default_period_is_in_the_past_and_starts_on_a_monday() -> None:
    c = SynthConfig()
    assert c.start_date.weekday() == 0
    assert c.end_date <= dt.date(2026, 11, 1)
    assert (c.end_date - c.start_date).days == 7 * c.n_weeks


def test_longer_runs_start_earlier_but_end_on_the_same_day() -> None:
    assert SynthConfig(n_weeks=104).end_date == SynthConfig(n_weeks=8).end_date


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_shoppers", 0, "n_shoppers must be >= 1"),
        ("events_per_shopper_week", 0.0, "events_per_shopper_week must be > 0"),
        ("hidden_child_fraction", 1.5, "between 0 and 1"),
        ("start", dt.date(2025, 1, 1), "must be a Monday"),
        ("currency", "EUR", "currency must be 'USD'"),
    ],
)
def test_bad_values_are_config_errors(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SynthConfig(**{field: value})


def test_scales() -> None:
    c = SynthConfig.scale("10m", seed=3)
    assert (c.n_shoppers, c.n_items, c.seed) == (200_000, 12_000, 3)
    assert 9_000_000 < c.expected_events() < 12_000_000
    assert set(SCALES) >= {"1m", "10m"}
    with pytest.raises(ConfigError, match="known: tiny, 1m, 10m"):
        SynthConfig.scale("huge")


def test_a_period_ending_in_the_future_is_refused() -> None:
    monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday())
    with pytest.raises(ConfigError, match="end after today"):
        SynthConfig(start=monday, n_weeks=2)
