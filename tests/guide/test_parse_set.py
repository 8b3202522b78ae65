"""Per-slot accuracy of the parser on hand-annotated shopper requests.

``requests.jsonl`` (135 requests: 71 English, 58 Chinese, 6 mixed) was annotated before the
parser was written; the lexicon was written afterwards with the set in view, so its scores
are optimistic and it serves as a regression guard. ``requests_holdout.jsonl`` (60 requests)
was written after the parser and scored once before any change: age 0.95, gender 0.983,
budget 0.967, interests 0.967, exclude 1.0, occasion 1.0, keywords 0.867. That blind run is
the honest estimate of accuracy on new phrasings, and it sets the thresholds below:

* 0.9 per slot on the main set: each slot is a single exact match of one clear reading
  per request, and everything below 0.9 would be a regression on requests the rules were
  written for;
* 0.85 per slot on the hold-out, the blind keywords score rounded down: keywords are the
  softest slot (which words are "content" is a judgement) and new phrasings bring new
  filler words.

The accuracy table is printed (``pytest -s``) and, when ``TOYGUIDE_PARSER_REPORT`` names a
file, written there as JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from toyguide.guide import FIELDS, GuideRequest, SemanticMatcher, parse

THRESHOLDS = {"requests": 0.9, "requests_holdout": 0.85}


def slot_accuracy(rows: list[dict], semantic: SemanticMatcher | None) -> dict[str, float]:
    hits = dict.fromkeys(FIELDS, 0)
    for row in rows:
        got = parse(row["text"], semantic).to_dict()
        for slot in FIELDS:
            hits[slot] += got[slot] == row["expected"][slot]
    return {slot: round(n / len(rows), 4) for slot, n in hits.items()}


def by_language(rows: list[dict], semantic: SemanticMatcher | None) -> dict[str, dict]:
    return {
        lang: slot_accuracy([r for r in rows if r["lang"] == lang], semantic)
        for lang in sorted({r["lang"] for r in rows})
    }


@pytest.fixture(scope="module")
def report(real_matcher: SemanticMatcher, load_set) -> dict:
    out = {}
    for name in THRESHOLDS:
        rows = load_set(name)
        out[name] = {
            "n": len(rows),
            "rules_and_embeddings": slot_accuracy(rows, real_matcher),
            "rules_only": slot_accuracy(rows, None),
            "by_language": by_language(rows, real_matcher),
        }
    print("\nper-slot accuracy (rules + MiniLM fallback; rules only in brackets)")
    print(f"{'set':18s}" + "".join(f"{slot:>17s}" for slot in FIELDS))
    for name, result in out.items():
        full, rules = result["rules_and_embeddings"], result["rules_only"]
        cells = "".join(f"{full[s]:>9.3f} [{rules[s]:.3f}]" for s in FIELDS)
        print(f"{name:18s}{cells}")
    if path := os.environ.get("TOYGUIDE_PARSER_REPORT"):
        Path(path).write_text(json.dumps(out, indent=2))
    return out


def test_the_sets_are_large_and_bilingual(load_set) -> None:
    rows = load_set("requests")
    langs = [r["lang"] for r in rows]
    assert len(rows) >= 120
    assert langs.count("en") >= 50 and langs.count("zh") >= 50 and langs.count("mixed") >= 3
    assert len({r["text"] for r in rows}) == len(rows)


@pytest.mark.parametrize("name", list(THRESHOLDS))
def test_every_expected_answer_follows_the_schema(load_set, name: str) -> None:
    for row in load_set(name):
        assert GuideRequest.from_dict(row["expected"]).to_dict() == row["expected"], row["text"]


@pytest.mark.parametrize("name", list(THRESHOLDS))
def test_each_slot_reaches_its_threshold(report: dict, name: str) -> None:
    accuracy = report[name]["rules_and_embeddings"]
    low = {slot: acc for slot, acc in accuracy.items() if acc < THRESHOLDS[name]}
    assert not low, f"{name}: slots below {THRESHOLDS[name]}: {low}"


def test_the_embedding_fallback_adds_interests_without_costing_other_slots(report: dict) -> None:
    result = report["requests"]
    full, rules = result["rules_and_embeddings"], result["rules_only"]
    assert full["interests"] > rules["interests"]
    assert all(full[s] == rules[s] for s in FIELDS if s != "interests")
