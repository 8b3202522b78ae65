"""Picks that keep the request's rules (issue 13): the guide's top picks judged on the catalogue.

Every request of a JSONL file is answered by the guide as the HTTP service loads it
(``service.holder.load_guide`` on the demo's ``run/`` and ``shop.duckdb``), one fresh dialogue
each. The judge never reads the guide's parse: each line states what the shopper asked for, and
each pick is checked against the catalogue's own data, so a parse error is a failure.

A line: ``{"id", "lang", "text", "age_months": {"min", "max"} | null,
"budget": {"min", "max", "currency"} | null, "exclude": [label], "interests": [label]}``;
labels are toyguide's taxonomy (``data/taxonomy.FUNCTIONS``); an exclusion may also be a
feature, "batteries" or "noise". The judge's checks:

* age — the toy's stated range (the store), else an age the title states ("Age 8+", "3-6
  years", "Adult Costume"), overlaps the child's; a toy with neither keeps the rule only when
  the pick says its age is predicted (``item.predicted_age``) and that range overlaps.
* budget — the price, converted through the rate table, within the bounds; no price fails.
* exclude / interests — the toy's category-path functions (the store; null for mixed brand
  categories) or the judge's own title words for the label; a feature, by the judge's words
  for it in the title, description or category path.
* a request "has a fit" when some toy of the catalogue keeps budget and exclusions and its
  stated or title age fits; rule shares are taken over those requests. It has none when no
  toy keeps budget and exclusions (whatever the ages): the answer must then name rules to
  relax and mark every pick as not a fit. Requests that only toys of unknown age might fit
  are undecided: counted apart, in neither share.

    python bench/guide_rules.py --demo DIR --requests bench/requests/amazon_uk.jsonl \\
        --out bench/results/guide_rules.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common  # bench/common.py: python puts the script's folder first on sys.path

RULES = ("age", "budget", "exclude")
OPEN = 10_000  # months: "and up"
MAIN_CURRENCY: list[str | None] = [None]  # the catalogue's most common, set on loading it

# The judge's own words per taxonomy label (English: the catalogue's titles are English).
# fmt: off
WORDS: dict[str, tuple[str, ...]] = {
    "building": (
        "lego", "duplo", "building", "construction", "bricks", "blocks", "meccano", "model kit",
        "airfix", "k'nex", "knex", "mega bloks",
    ),
    "vehicles": (
        "car", "truck", "train", "railway", "locomotive", "tractor", "bus", "plane", "aeroplane",
        "aircraft", "helicopter", "drone", "vehicle", "die-cast", "diecast", "die cast", "boat",
        "ship", "motorbike", "motorcycle", "rc", "remote control", "tank", "lorry", "van", "jeep",
        "racing", "wagon", "coach", "engine", "digger", "fire engine", "scalextric", "hornby",
    ),
    "dolls": (
        "doll", "barbie", "dollhouse", "doll's house", "dolls house", "sindy",
    ),
    "action_figures": (
        "figure", "figurine", "action figure", "playset", "superhero", "marvel", "batman",
        "spiderman", "spider-man", "transformers",
    ),
    "plush": (
        "plush", "soft toy", "teddy", "cuddly", "stuffed", "beanie", "plushie",
    ),
    "arts_crafts": (
        "craft", "crafts", "paint", "painting", "colouring", "coloring", "crayon", "pencil",
        "pens", "markers", "sticker", "stickers", "beads", "clay", "dough", "glitter", "drawing",
        "art", "stencil", "loom", "sequin",
    ),
    "puzzles": (
        "puzzle", "jigsaw", "rubik", "brain teaser", "cube",
    ),
    "games": (
        "game", "games", "cards", "playing cards", "dominoes", "chess", "dice", "bingo", "poker",
        "trading card", "top trumps", "quiz",
    ),
    "science_stem": (
        "science", "robot", "microscope", "telescope", "chemistry", "experiment", "stem",
        "coding", "electronics", "solar",
    ),
    "learning": (
        "educational", "learning", "alphabet", "abc", "numbers", "counting", "maths", "phonics",
        "spelling", "clock", "flash cards",
    ),
    "pretend_play": (
        "costume", "fancy dress", "dress up", "dressing up", "outfit", "kitchen", "pretend",
        "role play", "puppet", "mask", "tool set", "doctor", "play food", "tea set", "wig",
        "cape",
    ),
    "outdoor_active": (
        "outdoor", "garden", "ball", "football", "kite", "scooter", "bike", "trampoline", "swim",
        "swimming", "armbands", "pool", "water", "bubble", "sport", "frisbee", "skipping", "sand",
        "bat", "goal", "rocker",
    ),
    "music": (
        "music", "musical", "piano", "keyboard", "drum", "guitar", "xylophone", "instrument",
        "microphone", "karaoke", "ukulele", "recorder", "tambourine",
    ),
    "baby_sensory": (
        "baby", "rattle", "teether", "teething", "sensory", "newborn", "infant", "activity",
        "mobile", "stacking", "shape sorter",
    ),
    "animals_nature": (
        "dinosaur", "dino", "animal", "animals", "farm", "horse", "pony", "zoo", "shark", "bird",
        "insect", "bug", "wildlife", "dog", "cat", "jungle", "safari", "t-rex", "nature",
        "garden",
    ),
}
# fmt: on


def _words_re(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?<![a-z0-9]){re.escape(w)}(?:s|es)?(?![a-z0-9])" for w in words))


_WORD_RES = {label: _words_re(words) for label, words in WORDS.items()}
# Features an exclusion may name besides the labels ("no batteries"): the judge's own words
# for what a product's title, description or category path says when it has one.
FEATURE_WORDS: dict[str, tuple[str, ...]] = {
    "batteries": ("battery", "batteries", "rechargeable", "remote control", "remote controlled",
                  "rc", "electronic", "electric", "light up", "lights", "motorised", "motorized",
                  "aa", "aaa", "usb", "robot"),
    "noise": ("sound", "sounds", "noise", "noisy", "musical", "music", "talking", "singing",
              "whistle", "drum", "siren", "squeak", "karaoke", "electronic"),
}  # fmt: skip
_FEATURE_RES = {key: _words_re(words) for key, words in FEATURE_WORDS.items()}
_TITLE_AGES = [  # (pattern, unit of the numbers, open-ended)
    (re.compile(r"(\d{1,2})\s*(?:-|to)\s*(\d{1,2})\s*(?:years?|yrs?|y)\b"), 12, False),
    (re.compile(r"(\d{1,2})\s*(?:-|to)\s*(\d{1,2})\s*(?:months?|mths?)\b"), 1, False),
    (re.compile(r"(?:age[sd]?|from)\s*(\d{1,2})\s*(?:\+|plus|years?\s*(?:\+|and up|plus))"), 12,
     True),
    (re.compile(r"(\d{1,2})\s*(?:years?|yrs?)\s*(?:\+|plus|and up|and over)"), 12, True),
    (re.compile(r"(?:age[sd]?)\s*(?:over\s*)?(\d{1,2})\b"), 12, True),
    (re.compile(r"\b(\d{1,2})\s*\+\s*(?:years?|yrs?)?"), 12, True),
]  # fmt: skip


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--demo", type=Path, required=True, help="a demo folder (shop.duckdb, run/)")
    p.add_argument("--requests", type=Path, required=True, help="JSONL requests (see above)")
    p.add_argument(
        "--rates", type=Path, default=None, help="a rate table TOML (default: the guide's)"
    )
    p.add_argument("--k", type=int, default=5, help="picks judged per request")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true", help="the first 10 requests only")
    return p.parse_args()


# -- the catalogue as the judge reads it ---------------------------------------------------------
@dataclass(frozen=True)
class Toy:
    title: str
    price: float | None
    currency: str | None
    age: tuple[int, int] | None  # stated, else from the title
    age_source: str | None  # "stated" | "title" | None
    functions: tuple[str, ...] | None  # from the category path; None = unknown
    text: str = ""  # title, description and category path, lower-case


_ADULT = re.compile(r"\b(?:adults?|ladies|women)\b(?!\s+supervision)")
_CHILD = re.compile(r"\b(?:kids?|child|children|childrens|junior|boys?|girls?|family)\b")


def title_age(title: str) -> tuple[int, int] | None:
    """An age the title states: a number with its unit, or grown-ups and no children."""
    text = title.lower()
    if _ADULT.search(text) and not _CHILD.search(text):
        return 216, OPEN
    for pattern, unit, open_ended in _TITLE_AGES:
        m = pattern.search(text)
        if m:
            lo = int(m[1]) * unit
            if open_ended:
                return lo, OPEN
            hi = int(m[2]) * unit + (11 if unit == 12 else 0)
            return (lo, hi) if hi >= lo else None
    return None


def load_catalogue(store_path: Path) -> dict[str, Toy]:
    from toyguide.data.store import Store

    with Store.open(store_path, read_only=True) as store:
        items = store.frame("items")
    toys = {}
    currencies = items["currency"].drop_nulls()
    MAIN_CURRENCY[0] = currencies.mode().sort()[0] if len(currencies) else None
    for r in items.iter_rows(named=True):
        title = r["title"] or ""
        stated = None
        if r["age_min_months"] is not None:
            hi = r["age_max_months"] if r["age_max_months"] is not None else OPEN
            stated = (int(r["age_min_months"]), int(hi))
        titled = None if stated else title_age(title)
        source = "stated" if stated else "title" if titled else None
        functions = None if r["functions"] is None else tuple(r["functions"])
        text = " | ".join([title, r["description"] or "", " > ".join(r["categories"] or [])])
        toys[r["item_id"]] = Toy(title, r["price"], r["currency"], stated or titled, source,
                                 functions, text.lower())  # fmt: skip
    return toys


def excluded(toy: Toy, key: str) -> bool:
    """An exclusion key: a taxonomy label the toy serves, or a feature its text names."""
    if key in FEATURE_WORDS:
        return bool(_FEATURE_RES[key].search(toy.text))
    return serves(toy, key)


def serves(toy: Toy, label: str) -> bool:
    return bool((toy.functions and label in toy.functions)
                or _WORD_RES[label].search(toy.title.lower()))  # fmt: skip


def child_range(request: dict) -> tuple[int, int] | None:
    age = request.get("age_months")
    if not age:
        return None
    return age["min"] if age["min"] is not None else 0, age["max"] if age[
        "max"
    ] is not None else OPEN


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def in_budget(toy: Toy, budget: dict, rates: Any) -> bool:
    """A budget without a currency is in the shop's (``MAIN_CURRENCY``), as the guide says."""
    if toy.price is None:
        return False
    price = rates.convert(toy.price, toy.currency, budget["currency"] or MAIN_CURRENCY[0])
    if price is None:
        return False
    tol = 1e-6
    return ((budget["max"] is None or price <= budget["max"] + tol)
            and (budget["min"] is None or price >= budget["min"] - tol))  # fmt: skip


def interest_fits(toys: dict[str, Toy], request: dict, rates: Any, cap: int) -> int:
    """How many toys (up to ``cap``) serve a requested interest and keep every rule, their
    age stated or in the title."""
    child, found = child_range(request), 0
    for toy in toys.values():
        if not any(serves(toy, i) for i in request.get("interests", ())):
            continue
        if request.get("budget") and not in_budget(toy, request["budget"], rates):
            continue
        if any(excluded(toy, key) for key in request.get("exclude", ())):
            continue
        if child is None or (toy.age is not None and overlaps(toy.age, child)):
            found += 1
            if found >= cap:
                break
    return found


def fit_state(toys: dict[str, Toy], request: dict, rates: Any) -> str:
    """ "yes": a toy keeps budget and exclusions and its stated or title age fits; "no": none
    keeps them, whatever the unknown ages; "unknown": only toys of unknown age might."""
    child = child_range(request)
    maybe = False
    for toy in toys.values():
        if request.get("budget") and not in_budget(toy, request["budget"], rates):
            continue
        if any(excluded(toy, key) for key in request.get("exclude", ())):
            continue
        if child is None or (toy.age is not None and overlaps(toy.age, child)):
            return "yes"
        maybe = maybe or toy.age is None
    return "unknown" if maybe else "no"


# -- judging one answer --------------------------------------------------------------------------
def judge_age(toy: Toy, pick: Any, child: tuple[int, int]) -> tuple[bool, str]:
    if toy.age is not None:
        return overlaps(toy.age, child), toy.age_source or "stated"
    predicted = pick.item.predicted_age
    if predicted is None:
        return False, "unknown"
    return overlaps((predicted.min_months, predicted.max_months), child), "predicted"


def judge(request: dict, answer: Any, toys: dict[str, Toy], rates: Any, k: int, fit: str) -> dict:
    picks = answer.picks[:k]
    child = child_range(request)
    row: dict[str, Any] = {"id": request["id"], "lang": request["lang"], "has_fit": fit,
                           "answered": bool(picks), "n_picks": len(picks),
                           "said_no_fit": bool(answer.relax),
                           "picks_marked_fit": sum(p.fits for p in picks),
                           "relax": answer.relax}  # fmt: skip
    kept: dict[str, list[bool]] = defaultdict(list)
    sources: dict[str, int] = defaultdict(int)
    for pick in picks:
        toy = toys[pick.item.item_id]
        if child is not None:
            ok, source = judge_age(toy, pick, child)
            kept["age"].append(ok)
            sources[source] += 1
        if request.get("budget"):
            kept["budget"].append(in_budget(toy, request["budget"], rates))
        if request.get("exclude"):
            kept["exclude"].append(not any(excluded(toy, e) for e in request["exclude"]))
        if request.get("interests"):
            kept["interest"].append(any(serves(toy, i) for i in request["interests"]))
    row["kept"] = {rule: values for rule, values in kept.items()}
    row["age_sources"] = dict(sources)
    row["titles"] = [p.item.title for p in picks]
    row["reasons"] = [p.reasons for p in picks]
    return row


# -- summarising ---------------------------------------------------------------------------------
def _share(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarise(rows: list[dict]) -> dict:
    answered = _share(sum(r["answered"] for r in rows), len(rows))
    out: dict[str, Any] = {"requests": len(rows), "answered": answered}
    with_fit = [r for r in rows if r["has_fit"] == "yes"]
    out["requests_with_fit"] = len(with_fit)
    for rule in RULES:
        stated = [r for r in with_fit if rule in r["kept"]]
        picks = [v for r in stated for v in r["kept"][rule]]
        out[f"{rule}_kept_by_picks"] = _share(sum(picks), len(picks))
        out[f"{rule}_kept_by_all_top_picks"] = _share(
            sum(all(r["kept"][rule]) and bool(r["kept"][rule]) for r in stated), len(stated)
        )
        out[f"{rule}_requests"] = len(stated)
    interest = [v for r in rows if "interest" in r["kept"] for v in r["kept"]["interest"]]
    out["interest_matched_by_picks"] = _share(sum(interest), len(interest))
    # where the catalogue holds k toys of the interest that keep every rule (stated or title
    # ages): the misses there are the guide's, the others the catalogue's
    enough = [r for r in rows if "interest" in r["kept"] and r["interest_fits"] >= r["n_picks"]]
    stocked = [v for r in enough for v in r["kept"]["interest"]]
    out["interest_matched_where_stocked"] = _share(sum(stocked), len(stocked))
    out["interest_stocked_picks"] = len(stocked)
    sources: dict[str, int] = defaultdict(int)
    for r in with_fit:
        for source, n in r["age_sources"].items():
            sources[source] += n
    out["age_evidence_of_picks"] = dict(sources)
    no_fit = [r for r in rows if r["has_fit"] == "no"]
    handled = [r["said_no_fit"] and r["picks_marked_fit"] == 0 for r in no_fit]
    out["no_fit_requests"] = len(no_fit)
    out["no_fit_handled"] = _share(sum(handled), len(handled))
    out["false_no_fit"] = _share(sum(r["said_no_fit"] for r in with_fit), len(with_fit))
    unknown = [r for r in rows if r["has_fit"] == "unknown"]
    out["undecided_requests"] = len(unknown)  # only toys of unknown age might fit
    out["undecided_said_no_fit"] = _share(sum(r["said_no_fit"] for r in unknown), len(unknown))
    return out


def measure(demo: Path, requests: list[dict], rates: Any, k: int) -> tuple[dict, list[dict]]:
    from toyguide.service.holder import load_guide

    toys = load_catalogue(demo / "shop.duckdb")
    guide = load_guide(demo / "run", demo / "shop.duckdb")
    guide.rates = rates  # the table the judge converts with
    rows = []
    try:
        for request in requests:
            fit = fit_state(toys, request, rates)
            try:
                answer, _ = guide.ask(request["text"], k=k)
            except Exception as exc:  # an error is an unanswered request, reported as such
                rows.append({"id": request["id"], "lang": request["lang"], "has_fit": fit,
                             "answered": False, "error": repr(exc), "kept": {}, "n_picks": 0,
                             "interest_fits": 0,
                             "age_sources": {}, "said_no_fit": False,
                             "picks_marked_fit": 0})  # fmt: skip
                continue
            rows.append(
                judge(request, answer, toys, rates, k, fit)
                | {"interest_fits": interest_fits(toys, request, rates, k)}
            )
    finally:
        guide.close()
    by_lang = {lang: summarise([r for r in rows if r["lang"] == lang])
               for lang in sorted({r["lang"] for r in rows})}  # fmt: skip
    return {"all": summarise(rows), "by_language": by_lang}, rows


def read_requests(path: Path) -> list[dict]:
    """The request lines; a line of the parser's sets (``tests/guide/requests*.jsonl``: the
    slots under "expected") is read as one of these, its id its line number."""
    with path.open(encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle if line.strip()]
    return [{"id": f"{line['lang']}-{i}", **line.get("expected", {}), **line}
            for i, line in enumerate(lines, start=1)]  # fmt: skip


def main() -> None:
    args = parse_args()
    import torch

    from toyguide.guide.currency import DEFAULT_RATES, load_rates

    torch.set_num_threads(1)
    started = time.perf_counter()
    requests = read_requests(args.requests)[: 10 if args.quick else None]
    rates = load_rates(args.rates) if args.rates else DEFAULT_RATES
    metrics, rows = measure(args.demo, requests, rates, args.k)
    digest = hashlib.sha256(args.requests.read_bytes()).hexdigest()[:16]
    report = {
        "benchmark": "guide_rules",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        | {"rates": {"as_of": rates.as_of, "usd_per_unit": rates.usd_per_unit}},
        "data": common.fingerprint(args.demo / "shop.duckdb") | {"requests_sha256": digest},
        "metrics": metrics,
        "rows": rows,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": common.peak_rss_mb(),
        "versions": common.versions("faiss-cpu"),
    }
    common.emit(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
