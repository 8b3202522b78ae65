"""The synthetic shop's configuration: one frozen dataclass, validated on construction."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from typing import Any

from toyguide.errors import ConfigError

__all__ = ["DEFAULT_END", "SCALES", "SynthConfig"]

DEFAULT_END = dt.date(2026, 10, 26)
"""A Monday: by default the simulated weeks end the day before, so the whole shop lies in the
past (birth dates and events must not be in the future) and is the same whatever today is."""

SCALES: dict[str, dict[str, int]] = {
    "tiny": {"n_shoppers": 500, "n_items": 150, "n_weeks": 52},
    "1m": {"n_shoppers": 20_000, "n_items": 2_000, "n_weeks": 52},
    "10m": {"n_shoppers": 200_000, "n_items": 12_000, "n_weeks": 52},
}
"""Named sizes: about 25k, 1M and 10M events with the default activity."""


@dataclass(frozen=True)
class SynthConfig:
    """How big the shop is, when it runs, how busy its shoppers are and which labels are hidden.

    ``events_per_shopper_week`` is the mean number of events (all kinds) a shopper makes in an
    average week, so a shop has about ``n_shoppers * n_weeks * events_per_shopper_week`` events
    (see :meth:`expected_events`). ``start`` is a Monday; ``None`` ends the weeks at
    :data:`DEFAULT_END`. The ``hidden_*`` fractions blank labels in the observable frames only;
    the truth keeps them all.
    """

    n_shoppers: int = 20_000
    n_items: int = 2_000
    n_weeks: int = 52
    seed: int = 0
    start: dt.date | None = None
    events_per_shopper_week: float = 1.0
    new_item_fraction: float = 0.3
    hidden_child_fraction: float = 0.7
    hidden_interests_fraction: float = 0.8
    hidden_item_attributes_fraction: float = 0.3
    promo_rate: float = 0.04
    currency: str = "USD"

    def __post_init__(self) -> None:
        for name in ("n_shoppers", "n_items", "n_weeks"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.events_per_shopper_week <= 0:
            raise ConfigError(
                f"events_per_shopper_week must be > 0, got {self.events_per_shopper_week}"
            )
        for name in (
            "new_item_fraction",
            "hidden_child_fraction",
            "hidden_interests_fraction",
            "hidden_item_attributes_fraction",
            "promo_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {value}")
        if self.start is not None and self.start.weekday() != 0:
            raise ConfigError(f"start must be a Monday, got {self.start} ({self.start:%A})")
        if self.end_date > dt.date.today():  # birth dates and events must not be in the future
            raise ConfigError(
                f"the {self.n_weeks} weeks from {self.start_date} end after today; "
                "choose an earlier start"
            )
        if self.currency != "USD":
            raise ConfigError(
                f"currency must be 'USD' (prices are in dollars), got {self.currency}"
            )

    @classmethod
    def scale(cls, name: str, **overrides: Any) -> SynthConfig:
        """A config of a named size (:data:`SCALES`), with any field overridden."""
        if name not in SCALES:
            raise ConfigError(f"unknown scale '{name}'; known: {', '.join(SCALES)}")
        return cls(**{**SCALES[name], **overrides})

    @property
    def start_date(self) -> dt.date:
        """The Monday the first week starts."""
        if self.start is not None:
            return self.start
        return DEFAULT_END - dt.timedelta(weeks=self.n_weeks)

    @property
    def end_date(self) -> dt.date:
        """The day after the last simulated day (a Monday)."""
        return self.start_date + dt.timedelta(weeks=self.n_weeks)

    def expected_events(self) -> int:
        """About how many events this config generates (within a few per cent)."""
        return round(self.n_shoppers * self.n_weeks * self.events_per_shopper_week)

    def with_(self, **changes: Any) -> SynthConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the resolved start date."""
        out = asdict(self)
        out["start"] = self.start_date.isoformat()
        return out
