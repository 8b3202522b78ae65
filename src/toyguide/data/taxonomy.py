"""The toy taxonomy shared by item functions, shopper interests and the guide (DESIGN.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AGE_BANDS",
    "CHILD_GENDERS",
    "CURRENCIES",
    "EVENT_KINDS",
    "FUNCTIONS",
    "GENDER_TARGETS",
    "AgeBand",
    "age_band_index",
    "age_bands_between",
]

FUNCTIONS: tuple[str, ...] = (
    "building",
    "vehicles",
    "dolls",
    "action_figures",
    "plush",
    "arts_crafts",
    "puzzles",
    "games",
    "science_stem",
    "learning",
    "pretend_play",
    "outdoor_active",
    "music",
    "baby_sensory",
    "animals_nature",
)
"""Toy functions (items) and interests (shoppers) — one label set for both."""

GENDER_TARGETS: tuple[str, ...] = ("boy", "girl", "unisex")
"""Whom a toy is marketed to."""

CHILD_GENDERS: tuple[str, ...] = ("boy", "girl")
"""A child's gender; unknown is a missing value, not a third class."""

EVENT_KINDS: tuple[str, ...] = ("view", "click", "cart", "purchase", "rating")

CURRENCIES: tuple[str, ...] = ("USD", "GBP", "EUR", "CNY")


@dataclass(frozen=True)
class AgeBand:
    """A child age band, ``min_months`` inclusive and ``max_months`` exclusive."""

    name: str
    min_months: int
    max_months: int  # exclusive; the last band is open-ended

    def contains(self, months: float) -> bool:
        return self.min_months <= months < self.max_months


AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand("0-12m", 0, 12),
    AgeBand("1-2y", 12, 36),
    AgeBand("3-4y", 36, 60),
    AgeBand("5-7y", 60, 96),
    AgeBand("8-11y", 96, 144),
    AgeBand("12y+", 144, 10_000),
)
"""Age bands of DESIGN.md §3: 0–12 months, 1–2 y, 3–4 y, 5–7 y, 8–11 y, 12+ y."""


def age_band_index(months: float) -> int:
    """Index into :data:`AGE_BANDS` of a child aged ``months`` (must be ≥ 0)."""
    if months < 0:
        raise ValueError(f"age must be >= 0 months, got {months}")
    for i, band in enumerate(AGE_BANDS):
        if band.contains(months):
            return i
    return len(AGE_BANDS) - 1


def age_bands_between(min_months: float, max_months: float) -> list[int]:
    """Indices of the bands a toy for ages ``min_months``..``max_months`` (inclusive) touches."""
    lo, hi = age_band_index(min_months), age_band_index(max_months)
    return list(range(lo, hi + 1))
