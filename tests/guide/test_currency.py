"""Prices across currencies go through the rate table, and say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from toyguide.errors import ConfigError
from toyguide.guide.currency import DEFAULT_RATES, ExchangeRates, load_rates, money

RATES = ExchangeRates(as_of="test", usd_per_unit={"USD": 1.0, "GBP": 1.27, "CNY": 0.14})


def test_a_conversion_is_shown_with_its_rate() -> None:
    assert RATES.explain(18.99, "GBP", "USD") == "£18.99 ≈ $24.12 at 1.2700 USD/GBP"
    assert RATES.explain(18.99, "GBP", "GBP") == "£18.99"
    assert RATES.convert(100.0, "CNY", "GBP") == pytest.approx(100 * 0.14 / 1.27)


def test_an_unknown_or_missing_currency_converts_to_nothing() -> None:
    assert RATES.rate(None, "USD") is None and RATES.rate("GBP", None) is None
    assert RATES.convert(10.0, "EUR", "USD") is None  # EUR is not in this table
    assert "no rate to USD" in RATES.explain(10.0, "EUR", "USD")
    assert money(3.5, None) == "3.50 (currency unknown)"


def test_the_default_table_is_dated_and_covers_every_currency() -> None:
    assert DEFAULT_RATES.as_of == "2025-02-28"
    assert set(DEFAULT_RATES.usd_per_unit) == {"USD", "GBP", "EUR", "CNY"}
    assert 1.1 < DEFAULT_RATES.rate("GBP", "USD") < 1.4  # a pound is more than a dollar


def test_a_rate_table_is_read_from_toml_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "rates.toml"
    good.write_text('as_of = "2025-06-30"\n[usd_per_unit]\nUSD = 1.0\nGBP = 1.37\n')
    rates = load_rates(good)
    assert rates.as_of == "2025-06-30" and rates.rate("GBP", "USD") == pytest.approx(1.37)
    bad = tmp_path / "bad.toml"
    bad.write_text("[usd_per_unit]\nGBP = -1.0\n")
    with pytest.raises(ConfigError, match="finite and > 0"):
        load_rates(bad)
    bad.write_text("[usd_per_unit]\nJPY = 0.0067\n")
    with pytest.raises(ConfigError, match="unknown currencies"):
        load_rates(bad)


def test_the_shipped_table_is_the_default() -> None:
    shipped = load_rates(Path(__file__).resolve().parents[2] / "configs" / "currency.toml")
    assert shipped == DEFAULT_RATES
