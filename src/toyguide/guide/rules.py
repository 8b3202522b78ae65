"""A request's hard rules over the whole catalogue: which toys keep each rule, how far the
others are from keeping it, and — when no toy keeps them all — which rules to relax.

* ``age``: the child's age range overlaps the toy's stated range, or, where the shop states
  none, the age its title states, and else the range the attributes head predicts (the pick
  then says so, with its probability) when that range is at least MIN_AGE_PROBABILITY likely.
  A toy with none of these keeps no age rule: an unknown age is not a fit.
* ``budget``: the price, converted into the budget's currency through the rate table, lies
  within the bounds. A missing price, or a price or budget in a currency the table cannot
  convert, keeps no budget: it is never compared silently. A budget without a currency is read
  in the shop's main currency (the answer says so).
* ``exclude``: the toy serves none of the excluded functions — stated, predicted, or named by a
  lexicon term in its title — and has none of the avoided features ("no batteries": its title,
  description or category says so). An exclusion is a promise; doubt excludes.

Stock is not a rule to relax (a toy out of stock is never offered); gender is no rule at all,
only a soft preference in the ranking (recommend.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from toyguide.guide.catalogue import Catalogue
from toyguide.guide.currency import DEFAULT_RATES, ExchangeRates
from toyguide.guide.request import GuideRequest
from toyguide.guide.views import Pick

__all__ = [
    "MIN_AGE_PROBABILITY",
    "RELAX_ORDER",
    "RULES",
    "RuleCheck",
    "check_rules",
    "rule_notes",
]

RULES = ("age", "budget", "exclude")
# What shoppers most readily give up first: a little more money before a toy they said no to,
# and the child's age last (a toy for the wrong age is the worst misfit).
RELAX_ORDER = ("budget", "exclude", "age")
OPEN_AGE = 1200.0  # months: "and up"
MIN_AGE_PROBABILITY = 0.5  # a predicted age range keeps the age rule only this likely


@dataclass(frozen=True)
class RuleCheck:
    """Per stated rule, ``keeps`` [N+1] bool and ``distance`` [N+1] float (0 where kept, the
    budget's relative overshoot or the age gap in years elsewhere, inf where unknown)."""

    keeps: dict[str, np.ndarray]
    distance: dict[str, np.ndarray]
    available: np.ndarray  # [N+1] in stock; row 0 (padding) never
    budget_currency: str | None = None  # the currency prices were compared in
    rates: ExchangeRates = DEFAULT_RATES  # the table they were compared through

    def fits(self, relaxed: tuple[str, ...] = ()) -> np.ndarray:
        """[N+1] bool: available and keeping every stated rule not in ``relaxed``."""
        ok = self.available.copy()
        for rule, mask in self.keeps.items():
            if rule not in relaxed:
                ok &= mask
        return ok

    def broken(self, row: int) -> list[str]:
        return [rule for rule in RULES if rule in self.keeps and not self.keeps[rule][row]]

    def nearness(self, relaxed: tuple[str, ...]) -> np.ndarray:
        """[N+1] summed distance over the relaxed rules (how far a nearest pick is off)."""
        total = np.zeros(len(self.available))
        for rule in relaxed:
            total += self.distance[rule]
        return total

    def to_relax(self, among: np.ndarray | None = None) -> list[tuple[str, ...]]:
        """The smallest sets of stated rules whose relaxing leaves a toy (of ``among``, [N+1]
        bool, when given), most readily given up first; ``[]`` when a toy keeps every rule
        or none is available at all."""
        among = self.available if among is None else among
        if (self.fits() & among).any():
            return []
        stated = [r for r in RELAX_ORDER if r in self.keeps]
        for size in range(1, len(stated) + 1):
            found = [c for c in itertools.combinations(stated, size)
                     if self._leaves_a_toy(c, among)]  # fmt: skip
            if found:
                return found
        return []

    def _leaves_a_toy(self, relaxed: tuple[str, ...], among: np.ndarray) -> bool:
        ok = self.fits(relaxed) & among
        return bool((ok & np.isfinite(self.nearness(relaxed))).any())


def check_rules(
    catalogue: Catalogue, request: GuideRequest | None, rates: ExchangeRates
) -> RuleCheck:
    """The rules ``request`` states, checked on every catalogue row."""
    available = catalogue.in_stock.copy()
    available[0] = False
    keeps: dict[str, np.ndarray] = {}
    distance: dict[str, np.ndarray] = {}
    currency = None
    if request is not None and request.age_months is not None:
        keeps["age"], distance["age"] = _age(catalogue, request)
    if request is not None and request.budget is not None:
        currency = request.budget.currency or catalogue.main_currency
        keeps["budget"], distance["budget"] = _budget(catalogue, request, currency, rates)
    if request is not None and (request.exclude or request.avoid):
        hit = np.zeros(len(available))
        for label in request.exclude:
            hit += catalogue.serves(label, with_title=True)
        for feature in request.avoid:
            hit += catalogue.has_feature(feature)
        keeps["exclude"], distance["exclude"] = hit == 0, hit
    return RuleCheck(keeps, distance, available, currency, rates)


def _age(catalogue: Catalogue, request: GuideRequest) -> tuple[np.ndarray, np.ndarray]:
    age = request.age_months
    assert age is not None
    lo = float(age.min) if age.min is not None else 0.0
    hi = float(age.max) if age.max is not None else OPEN_AGE
    below = catalogue.age_min - hi  # > 0: the toy is for older children
    above = lo - catalogue.age_max  # > 0: the toy is for younger children
    gap = np.maximum(np.maximum(below, above), 0.0) / 12.0
    gap = np.where(np.isnan(catalogue.age_min), np.inf, gap)
    if catalogue.age_probability is not None:  # a range likelier wrong than right is no age
        unsure = catalogue.age_probability < MIN_AGE_PROBABILITY  # NaN (stated): False
        gap = np.where(unsure, np.inf, gap)
    return gap == 0, gap


def _budget(
    catalogue: Catalogue, request: GuideRequest, currency: str | None, rates: ExchangeRates
) -> tuple[np.ndarray, np.ndarray]:
    budget = request.budget
    assert budget is not None
    factor = np.full(len(catalogue.currency), np.nan)
    for source, rows in catalogue.rows_by_currency.items():
        factor[rows] = rates.rate(source, currency) or np.nan
    factor[0] = np.nan  # the padding row
    price = catalogue.price * factor  # NaN: no price, or no way to compare it
    with np.errstate(divide="ignore", invalid="ignore"):
        over = price / budget.max - 1 if budget.max is not None else np.zeros_like(price)
        under = budget.min / price - 1 if budget.min else np.zeros_like(price)
    off = np.maximum(np.nan_to_num(np.maximum(over, under), nan=np.inf, posinf=np.inf), 0.0)
    off = np.where(np.isnan(price), np.inf, off)
    return off == 0, off


_RULE_NAMES = {"age": "the age", "budget": "the budget", "exclude": "the exclusions"}


def rule_notes(
    catalogue: Catalogue, picks: list[Pick], relax: list[tuple[str, ...]],
    request: GuideRequest | None, rules: RuleCheck | None = None,
) -> list[str]:  # fmt: skip
    """What an answer says about the request's rules and interests: nothing when the picks
    keep every rule and serve what was asked for."""
    unrated = _unrated(catalogue, rules)
    if unrated:
        return [f"the rate table has no rate from {unrated} to {rules.budget_currency}: prices "
                "in it cannot be compared with this budget"]  # fmt: skip
    if relax:
        ways = " or ".join(" and ".join(_RULE_NAMES[r] for r in way) for way in relax)
        return [
            f"no toy in the catalogue keeps every rule of the request; relax {ways}: the "
            "picks below are the nearest, not fits"
        ]
    if not picks:
        stated = request is not None and any(
            (request.age_months, request.budget, request.exclude, request.avoid)
        )
        return ["no toy in stock meets the request"
                + ("; relaxing its rules leaves none either" if stated else "")]  # fmt: skip
    if request is not None and request.interests:
        rows = [catalogue.row(p.item.item_id) for p in picks]
        if not any(catalogue.serves(i, with_title=True)[rows].any() for i in request.interests):
            return [_no_kind_note(catalogue, request, rules)]
    return []


def _no_kind_note(catalogue: Catalogue, request: GuideRequest, rules: RuleCheck | None) -> str:
    """The picks keep the rules but none is of the kind asked for: say so, and which rules
    the shopper could relax to find that kind."""
    asked = ", ".join(i.replace("_", " ") for i in request.interests)
    note = (f"no toy of the kind asked for ({asked}) keeps the rules of the request; these "
            "keep the rules")  # fmt: skip
    kind = catalogue.serves_any(request.interests)
    ways = rules.to_relax(kind & rules.available) if rules is not None else []
    if ways:
        note += "; relax " + " or ".join(" and ".join(_RULE_NAMES[r] for r in way) for way in ways)
        note += " to find one"
    return note


def _unrated(catalogue: Catalogue, rules: RuleCheck | None) -> str | None:
    """The shop's currency when the budget's cannot be reached from it through the table."""
    if rules is None or rules.budget_currency is None:
        return None
    shop = catalogue.main_currency
    missing = shop is not None and rules.rates.rate(shop, rules.budget_currency) is None
    return shop if missing else None
