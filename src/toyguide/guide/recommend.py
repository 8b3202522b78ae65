"""Retrieval then ranking: candidates from an item-embedding index, hard filters, re-scoring by
the request, diversity across functions, and the reasons behind each pick (DESIGN §5)."""

from __future__ import annotations

import numpy as np

from toyguide.data.taxonomy import FUNCTIONS
from toyguide.guide.catalogue import Catalogue
from toyguide.guide.request import GuideRequest
from toyguide.guide.views import Pick

__all__ = ["CANDIDATES", "rank_items"]

CANDIDATES = 300  # retrieved before filtering and re-ranking
INTEREST_BONUS = 0.75  # per requested interest a toy is known to serve
GENDER_BONUS, GENDER_PENALTY = 0.25, 0.5
SAME_FUNCTION_PENALTY = 0.4  # per earlier pick with the same main function (diversity)
POOL = 200  # best-scored allowed candidates the diverse picking chooses from


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
    if request is None:
        return bonus
    for label in request.interests:
        bonus += INTEREST_BONUS * catalogue.functions[rows, FUNCTIONS.index(label)]
    if request.gender is not None:
        targets = [catalogue.views[r].gender_target for r in rows]
        bonus += np.array([GENDER_BONUS if t in (request.gender, "unisex") else
                           -GENDER_PENALTY if t else 0.0 for t in targets])  # fmt: skip
    return bonus


def rank_items(
    catalogue: Catalogue,
    base: np.ndarray,
    candidates: np.ndarray,
    request: GuideRequest | None,
    k: int,
    source: str,
) -> list[Pick]:
    """The ``k`` best allowed candidates: model score (standardised) + request bonus, picked
    greedily with a penalty for repeating a main function."""
    mask = np.zeros(len(base), dtype=bool)
    mask[candidates] = True
    mask &= catalogue.allowed(request) & np.isfinite(base)
    rows = np.flatnonzero(mask)
    if not len(rows):
        return []
    score = _standardise(base, mask)[rows] + _request_bonus(catalogue, request, rows)
    if len(rows) > POOL:  # only the best can be picked, even after diversity penalties
        keep = np.argpartition(-score, POOL)[:POOL]
        rows, score = rows[keep], score[keep]
    return [
        Pick(catalogue.views[rows[i]], round(float(score[i] - penalty), 4),
             _reasons(catalogue, int(rows[i]), request, source))
        for i, penalty in _diverse_order(catalogue, rows, score, k)
    ]  # fmt: skip


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
    catalogue: Catalogue, row: int, request: GuideRequest | None, source: str
) -> list[str]:
    view = catalogue.views[row]
    reasons = [source, _age_reason(catalogue, row, request)]
    if request is not None and request.interests:
        matched = [f for f in request.interests if catalogue.functions[row, FUNCTIONS.index(f)]]
        if matched:
            guessed = (
                catalogue.predicted_functions is not None and catalogue.predicted_functions[row]
            )
            shown = ", ".join(m.replace("_", " ") for m in matched)
            reasons.append(
                f"matches {shown}" + (" (predicted from its description)" if guessed else "")
            )
    reasons.append(_price_reason(view.price, view.currency, request))
    return [r for r in reasons if r]


def _age_reason(catalogue: Catalogue, row: int, request: GuideRequest | None) -> str:
    lo, hi = catalogue.age_min[row], catalogue.age_max[row]
    if np.isnan(lo):
        return "age range not stated by the shop"
    span = f"ages {_years(int(lo))}+" if hi >= 1200 else f"ages {_years(int(lo))}–{_years(int(hi))}"
    if catalogue.predicted_age is not None and catalogue.predicted_age[row]:
        span = f"predicted {span} (the shop states none)"
    if request is not None and request.age_months is not None:
        return f"{span}: fits the child's age"
    return span


def _years(months: int) -> str:
    return f"{months} months" if months < 24 else f"{months // 12}"


def _price_reason(price: float | None, currency: str | None, request: GuideRequest | None) -> str:
    if price is None:
        return "price not listed"
    shown = f"{price:.2f} {currency or ''}".strip()
    budget = request.budget if request is not None else None
    if budget is not None and budget.max is not None:
        return f"{shown}, within the {budget.max:g} budget"
    return shown
