"""Prices across currencies: one rate table (a plain config) and the conversions it allows.

A budget in one currency and a price in another are compared only through this table, and the
answer shows every conversion it made ("£18.99 ≈ $23.93 at 1.2603 USD/GBP"). A price or a
budget whose currency is unknown, or missing from the table, is never compared with anything:
a silent comparison across currencies would call a ¥100 toy "within a $20 budget".

The default rates are the ECB euro reference rates of 28 February 2025 (USD 1.0411, GBP 0.82608,
CNY 7.5782 per euro), restated as US dollars per unit. They go stale: a shop sets its own with
a TOML file of the same fields (``load_rates``), e.g.::

    as_of = "2025-06-30"
    source = "our bank's mid-market rates"
    [usd_per_unit]
    USD = 1.0
    GBP = 1.37
    EUR = 1.17
    CNY = 0.1395
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from toyguide.config import load_toml
from toyguide.data.taxonomy import CURRENCIES
from toyguide.errors import ConfigError

__all__ = ["DEFAULT_RATES", "SYMBOLS", "ExchangeRates", "load_rates", "money"]

SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "CNY": "¥"}


def _ecb_2025_02_28() -> dict[str, float]:
    per_eur = {"USD": 1.0411, "GBP": 0.82608, "EUR": 1.0, "CNY": 7.5782}
    return {c: round(per_eur["USD"] / per_eur[c], 6) for c in CURRENCIES}


@dataclass(frozen=True)
class ExchangeRates:
    """US dollars per unit of each currency, and where and when the rates were read."""

    as_of: str = "2025-02-28"
    source: str = "ECB euro reference rates, restated in US dollars"
    usd_per_unit: dict[str, float] = field(default_factory=_ecb_2025_02_28)

    def rate(self, source: str | None, target: str | None) -> float | None:
        """Units of ``target`` per unit of ``source``; None when either is unknown."""
        if source is None or target is None:
            return None
        if source == target:
            return 1.0
        a, b = self.usd_per_unit.get(source), self.usd_per_unit.get(target)
        return None if a is None or b is None else a / b

    def convert(self, amount: float, source: str | None, target: str | None) -> float | None:
        rate = self.rate(source, target)
        return None if rate is None else amount * rate

    def explain(self, amount: float, source: str, target: str) -> str:
        """How ``amount`` in ``source`` reads in ``target``: "£18.99 ≈ $23.93 at 1.2603 USD/GBP"
        (the plain price when the currencies are the same)."""
        rate = self.rate(source, target)
        if rate is None:
            return f"{money(amount, source)} (no rate to {target} in the rate table)"
        if source == target:
            return money(amount, source)
        converted = money(amount * rate, target)
        return f"{money(amount, source)} ≈ {converted} at {rate:.4f} {target}/{source}"


DEFAULT_RATES = ExchangeRates()


def money(amount: float, currency: str | None) -> str:
    """£18.99, $24.12, ¥120.00; an unknown currency is said, not guessed."""
    if currency is None:
        return f"{amount:.2f} (currency unknown)"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{amount:.2f}" if symbol else f"{amount:.2f} {currency}"


def load_rates(path: str | Path) -> ExchangeRates:
    """A rate table from TOML; every rate must be a finite number above zero."""
    rates = load_toml(path, ExchangeRates)
    bad = {c: r for c, r in rates.usd_per_unit.items() if not (math.isfinite(r) and r > 0)}
    if bad:
        raise ConfigError(f"{path}: usd_per_unit must be finite and > 0, got {bad}")
    unknown = sorted(set(rates.usd_per_unit) - set(CURRENCIES))
    if unknown:
        raise ConfigError(f"{path}: unknown currencies {unknown}; allowed {list(CURRENCIES)}")
    return rates
