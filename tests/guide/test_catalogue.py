"""The catalogue takes the model's predictions only for the targets the run trained."""

from __future__ import annotations

import re

import numpy as np

from toyguide.data.taxonomy import FUNCTIONS
from toyguide.guide.catalogue import Catalogue, predicted_range, title_age
from toyguide.guide.views import ItemView


def catalogue() -> Catalogue:
    """Two items (plus padding row 0) with no stated ages or functions."""
    n = 3
    return Catalogue(
        ids=["", "A", "B"], views=[None] * n, price=np.full(n, np.nan),
        age_min=np.full(n, np.nan), age_max=np.full(n, np.nan),
        functions=np.zeros((n, len(FUNCTIONS)), dtype=bool), in_stock=np.ones(n, dtype=bool),
        currency=[None] * n,
    )  # fmt: skip


def test_untrained_age_leaves_ages_unknown() -> None:
    cat = catalogue()
    cat.fill_predictions(None, np.full((3, len(FUNCTIONS)), 0.9))
    assert np.isnan(cat.age_min).all() and cat.predicted_age is None
    assert cat.functions[1:].all() and not cat.functions[0].any()


def test_untrained_functions_leave_functions_unknown() -> None:
    cat = catalogue()
    sure_5_to_7 = np.eye(6)[[0, 3, 3]]  # [3, bands]: all the probability on band 5-7y
    cat.fill_predictions(sure_5_to_7, None)
    assert not cat.functions.any() and cat.predicted_functions is None
    assert cat.age_min[1] == 60 and cat.predicted_age is not None and cat.predicted_age[1]


def test_a_predicted_age_range_widens_to_its_likelier_neighbour_until_confident() -> None:
    # 3-4y alone holds 0.45 < AGE_CONFIDENCE: the range takes 5-7y (0.35), not 1-2y (0.15)
    assert predicted_range(np.array([0.0, 0.15, 0.45, 0.35, 0.05, 0.0])) == (36, 95, 0.8)
    # confident enough alone: one band, open-ended for the last one
    assert predicted_range(np.array([0.0, 0.0, 0.0, 0.0, 0.1, 0.9])) == (144, 1199, 0.9)


def test_predicted_ages_are_flagged_on_the_view_with_their_probability() -> None:
    cat = catalogue()
    cat.views = [None, *(ItemView(i, "toy", None, 5.0, "GBP", None, None, None, [], [], None)
                         for i in "AB")]  # fmt: skip
    cat.fill_predictions(np.array([[1, 0, 0, 0, 0, 0], [0, 0, 0.7, 0.3, 0, 0], [0, 0, 0, 0, 1, 0]]),
                         None)  # fmt: skip
    a, b = cat.views[1].predicted_age, cat.views[2].predicted_age
    assert (a.min_months, a.max_months, a.probability) == (36, 59, 0.7)
    assert (b.min_months, b.max_months, b.probability) == (96, 143, 1.0)
    assert cat.views[1].age_min_months is None  # the shop's own field stays as it was


def test_title_ages_are_read_strictly() -> None:
    assert title_age("Dino Dice - Maths, Numbers & Dots (4-6 years)") == (48, 83)
    assert title_age("Swim Ring Neon Tubes Age 9+ (3-Pack)") == (108, 1200)
    assert title_age("Rattle for babies 3-12 months") == (3, 12)
    assert title_age("TAVERN WENCH ADULT FANCY DRESS COSTUME LADIES") == (216, 1200)
    assert title_age("Science kit (adult supervision required) 8-12 years") == (96, 155)
    assert title_age("Giant Garden Draughts - Kids Childrens Adult Game") is None
    assert title_age("Pirate Wench Plus Size Fancy Dress Women Costume") == (216, 1200)
    for other in ("Bburago 1:18 Scale 4.0 Model Car", "Battle Pack 3 (Pack of 36)", "300+ Beads"):
        assert title_age(other) is None


def one_term_at_a_time(terms) -> re.Pattern[str]:
    """The lexicon pattern as it was written before: a word-boundary check around each term."""
    return re.compile("|".join(
        re.escape(t) if not t.isascii() else rf"(?<![a-z0-9]){re.escape(t)}(?:s|es)?(?![a-z0-9])"
        for t in sorted(terms, key=len, reverse=True)
    ))  # fmt: skip


def test_lexicon_patterns_find_what_one_check_per_term_found() -> None:
    from toyguide.guide.catalogue import _NOT_IN_TITLES, _words_re
    from toyguide.guide.lexicon import FEATURE_TEXT, INTEREST_TERMS

    texts = [
        "soft plush teddy bear", "plushies x3", "nonplush rabbit", "teddys", "stuffed-animal",
        "a toy car with batteries", "battery operated train", "noisemaker", "noisy drum kit",
        "毛绒玩具兔子", "遥控车 rc car", "lego® duplo blocks", "building-blocks set",
        "puzzle1000", "1000 piece puzzles", "boxes", "", "dinosaur dinosaurs dinosaures",
    ]  # fmt: skip
    lexicons = [set(terms) - _NOT_IN_TITLES for terms in INTEREST_TERMS.values()]
    lexicons += [set(terms) for terms in FEATURE_TEXT.values()]
    for terms in lexicons:
        ours, theirs = _words_re(terms), one_term_at_a_time(terms)
        assert [bool(ours.search(t)) for t in texts] == [bool(theirs.search(t)) for t in texts]


def test_warming_computes_every_labels_and_features_matches() -> None:
    from toyguide.guide.lexicon import FEATURE_TEXT

    cat = catalogue()
    titles = [None, "Soft plush bunny", "Battery racing car with batteries"]
    cat.views = [None] + [ItemView(i, t, None, None, None, None, None, None, [], [], None)
                          for i, t in zip(("A", "B"), titles[1:], strict=True)]  # fmt: skip
    cat.warm()
    assert set(cat._titled) == set(FUNCTIONS) and set(cat._mentioned) == set(FEATURE_TEXT)
    assert {"main_currency", "rows_by_currency", "_row_of", "gender_targets"} <= set(vars(cat))
    assert cat.serves("plush", with_title=True).tolist() == [False, True, False]
    assert cat.has_feature("batteries").tolist() == [False, False, True]
