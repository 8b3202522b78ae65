"""Retrieval then ranking: candidates from an item-embedding index, hard filters, re-scoring by
the request, diversity across functions, and the reasons behind each pick (DESIGN §5).

The hard filters are the request's rules (rules.py); when no toy keeps them all, the caller
relaxes the rules ``RuleCheck.to_relax`` names and the picks come back marked as nearest picks
(``fits=False``, ``breaks`` naming the rules), their reasons saying so first."""

from __future__ import annotations

import numpy as np

from toyguide.guide.catalogue import Catalogue
from toyguide.guide.currency import money
from toyguide.guide.request import Budget, GuideRequest
from toyguide.guide.rules import RuleCheck
from toyguide.guide.views import Pick

__all__ = ["CANDIDATES", "rank_items"]

CANDIDATES = 300  # retrieved before filtering and re-ranking
# Per requested interest a toy serves (stated, predicted or in its title): large against the
# standardised text score, so that toys of the asked-for kind come first whenever the rules
# leave some — text similarity alone often ranks a toy's look-alikes above it.
INTEREST_BONUS = 2.5
# Things the shop files under no toy function (party banners, jewellery findings) come last
# unless nothing else is left: a toy guide recommends toys.
NOT_A_TOY_PENALTY = 2.0
GENDER_BONUS, GENDER_PENALTY = 0.25, 0.5
SAME_FUNCTION_PENALTY = 0.4  # per earlier pick with the same main function (diversity)
POOL = 200  # best-scored allowed candidates the diverse picking chooses from
# A nearest pick loses this much (in standard deviations of the model score) per unit it is
# off: per 100 % over budget, per year outside the child's age, per excluded function served.
NEAR_WEIGHT = 2.0
# Nearest picks (no toy keeps every rule) of the asked-for kind come before any other: a
# shopper who asked for a drone under £1 wants the cheapest drones, not the cheapest things.
NEAREST_KIND_BONUS = 1e3


def _standardise(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.full_like(scores, -np.inf, dtype=np.float64)
    if mask.any():
        s = scores[mask]
        out[mask] = (s - s.mean()) / (s.std() + 1e-9)
    return out


def _request_bonus(
    catalogue: Catalogue, request: GuideRequest | None, rows: np.ndarray
) -> np.ndarray:
    bonus = np.zeros(len(rows))
    if catalogue.not_toy is not None:
        bonus -= NOT_A_TOY_PENALTY * catalogue.not_toy[rows]
    if request is None:
        return bonus
    predicted = catalogue.predicted_functions
    for label in request.interests:
        served = catalogue.serves(label, with_title=True)[rows].astype(np.float64)
        if predicted is not None:  # a guessed function earns half: the shop did not say it
            guessed = predicted[rows] & ~catalogue.serves_by_shop(label)[rows]
            served = np.where(guessed & (served > 0), 0.5, served)
        bonus += INTEREST_BONUS * served
    if request.gender is not None:
        targets = catalogue.gender_targets[rows]
        fits = (targets == request.gender) | (targets == "unisex")
        bonus += np.where(fits, GENDER_BONUS, np.where(targets != "", -GENDER_PENALTY, 0.0))
    return bonus


def rank_items(
    catalogue: Catalogue,
    base: np.ndarray,
    candidates: np.ndarray,
    request: GuideRequest | None,
    k: int,
    source: str,
    rules: RuleCheck,
    relaxed: tuple[str, ...] = (),
) -> list[Pick]:
    """The ``k`` best candidates keeping every rule not in ``relaxed``: model score
    (standardised) + request bonus − how far a nearest pick is off, picked greedily with a
    penalty for repeating a main function. With ``relaxed``, the picks are nearest picks."""
    mask = np.zeros(len(base), dtype=bool)
    mask[candidates] = True
    nearness = rules.nearness(relaxed)
    mask &= rules.fits(relaxed) & np.isfinite(base) & np.isfinite(nearness)
    rows = np.flatnonzero(mask)
    if not len(rows):
        return []
    score = _standardise(base, mask)[rows] + _request_bonus(catalogue, request, rows)
    score -= NEAR_WEIGHT * nearness[rows]
    if relaxed and request is not None:
        score += NEAREST_KIND_BONUS * catalogue.serves_any(request.interests)[rows]
    if len(rows) > POOL:  # only the best can be picked, even after diversity penalties
        keep = np.argpartition(-score, POOL)[:POOL]
        rows, score = rows[keep], score[keep]
    return [_pick(catalogue, int(rows[i]), float(score[i] - penalty), request, source, rules)
            for i, penalty in _diverse_order(catalogue, rows, score, k)]  # fmt: skip


def _pick(
    catalogue: Catalogue, row: int, score: float, request: GuideRequest | None, source: str,
    rules: RuleCheck,
) -> Pick:  # fmt: skip
    view = catalogue.views[row]
    assert view is not None  # row 0 never keeps a rule
    breaks = rules.broken(row)
    return Pick(view, round(score, 4), _reasons(catalogue, row, request, source, rules),
                fits=not breaks, breaks=breaks)  # fmt: skip


def _diverse_order(
    catalogue: Catalogue, rows: np.ndarray, score: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """Greedy picks (index, penalty): each earlier pick with the same main function costs
    ``SAME_FUNCTION_PENALTY``, so the list spreads across functions."""
    known = catalogue.functions[rows].any(1)
    main = np.where(known, catalogue.functions[rows].argmax(1), -1)
    penalty = np.zeros(len(rows))
    current = score.astype(np.float64).copy()
    order = []
    for _ in range(min(k, len(rows))):
        best = int(np.argmax(current))
        order.append((best, float(penalty[best])))
        current[best] = -np.inf
        if main[best] >= 0:
            same = main == main[best]
            penalty[same] += SAME_FUNCTION_PENALTY
            current[same] -= SAME_FUNCTION_PENALTY
    return order


def _reasons(
    catalogue: Catalogue, row: int, request: GuideRequest | None, source: str, rules: RuleCheck
) -> list[str]:
    broken = rules.broken(row)
    reasons = [f"nearest pick, not a fit: {_broken_text(broken)}" if broken else source,
               _age_reason(catalogue, row, request, "age" in broken)]  # fmt: skip
    if request is not None and request.interests:
        matched = [f for f in request.interests if catalogue.serves(f, with_title=True)[row]]
        if matched:
            guessed = (
                catalogue.predicted_functions is not None and catalogue.predicted_functions[row]
            )
            shown = ", ".join(m.replace("_", " ") for m in matched)
            reasons.append(
                f"matches {shown}" + (" (predicted from its description)" if guessed else "")
            )
    if request is not None and "exclude" in broken:
        hit = [e for e in request.exclude if catalogue.serves(e, with_title=True)[row]]
        hit += [f"with {f}" for f in request.avoid if catalogue.has_feature(f)[row]]
        reasons.append("is " + ", ".join(h.replace("_", " ") for h in hit) + ", which you excluded")
    reasons.append(_price_reason(catalogue, row, request, rules))
    return [r for r in reasons if r]


_RULE_WORDS = {"age": "the child's age", "budget": "the budget", "exclude": "your exclusions"}


def _broken_text(broken: list[str]) -> str:
    return "outside " + " and ".join(_RULE_WORDS[b] for b in broken)


def _age_reason(catalogue: Catalogue, row: int, request: GuideRequest | None, broken: bool) -> str:
    lo, hi = catalogue.age_min[row], catalogue.age_max[row]
    asked = request is not None and request.age_months is not None
    if np.isnan(lo):
        return "age range not stated by the shop" + ("; cannot confirm the child's age" if asked
                                                      else "")  # fmt: skip
    span = f"ages {_years(int(lo))}+" if hi >= 1200 else f"ages {_age_span(int(lo), int(hi))}"
    if catalogue.age_in_title is not None and catalogue.age_in_title[row]:
        span = f"{span} (stated in its title)"
    elif catalogue.predicted_age is not None and catalogue.predicted_age[row]:
        p = catalogue.age_probability[row] if catalogue.age_probability is not None else np.nan
        span = f"predicted {span} (probability {p:.2f}; the shop states none)"
    if asked:
        return f"{span}: " + ("not for the child's age" if broken else "fits the child's age")
    return span


def _age_span(lo: int, hi: int) -> str:
    """6–18 months; 3–5 (years) once the top is two years or more."""
    return f"{lo}–{hi} months" if hi < 24 else f"{lo // 12}–{hi // 12}"


def _years(months: int) -> str:
    return f"{months} months" if months < 24 else f"{months // 12}"


def _price_reason(
    catalogue: Catalogue, row: int, request: GuideRequest | None, rules: RuleCheck
) -> str:
    price, currency = catalogue.price[row], catalogue.currency[row]
    if np.isnan(price):
        return "price not listed"
    budget = request.budget if request is not None else None
    target = rules.budget_currency
    if budget is None or target is None or currency is None:
        shown = money(price, currency)
        return shown if budget is None else f"{shown}: cannot be compared with the budget"
    shown = rules.rates.explain(float(price), currency, target)
    if rules.rates.rate(currency, target) is None:
        return shown
    keeps = rules.keeps["budget"][row]
    told = "" if budget.currency else f" (a budget without a currency is read in {target})"
    where = "within" if keeps else "outside"
    return f"{shown}, {where} your {_budget_text(budget, target)} budget{told}"


def _budget_text(budget: Budget, currency: str) -> str:
    if budget.min is not None and budget.max is not None:
        return f"{money(budget.min, currency)}–{money(budget.max, currency)}"
    if budget.max is not None:
        return money(budget.max, currency)
    return f"from {money(budget.min or 0.0, currency)}"
