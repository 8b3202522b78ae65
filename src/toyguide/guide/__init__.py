"""The shopping guide: requests in English and Chinese parsed into slots, kept across turns.

``parse(text)`` reads one request; ``Dialogue`` keeps the slots of a conversation and applies
refinements ("cheaper", "大一点的"); ``SemanticMatcher`` maps words the rules do not know to
taxonomy labels with sentence embeddings.
"""

from toyguide.guide.dialogue import CHEAPER, SHIFT_MONTHS, Dialogue
from toyguide.guide.numbers import AROUND
from toyguide.guide.parse import LabelMatcher, ParsedTurn, parse, parse_turn
from toyguide.guide.request import (
    FIELDS,
    OCCASIONS,
    AgeRange,
    Budget,
    GuideRequest,
    GuideRequestError,
)
from toyguide.guide.semantic import THRESHOLD, Embedder, SemanticMatcher

__all__ = [
    "AROUND",
    "CHEAPER",
    "FIELDS",
    "OCCASIONS",
    "SHIFT_MONTHS",
    "THRESHOLD",
    "AgeRange",
    "Budget",
    "Dialogue",
    "Embedder",
    "GuideRequest",
    "GuideRequestError",
    "LabelMatcher",
    "ParsedTurn",
    "SemanticMatcher",
    "parse",
    "parse_turn",
]
