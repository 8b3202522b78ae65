"""amazon.co.uk toy category paths → toyguide taxonomy functions (DESIGN.md §3).

Keys are category path prefixes (segments joined by ``" > "``); the longest listed prefix of a
path wins, and its labels *replace* (not extend) those of shorter prefixes. A value is one of:

* a tuple of taxonomy labels (one or several);
* :data:`NOT_A_TOY` (``()``): the category is not a toy in the taxonomy's sense (party supplies,
  adult costumes, stationery, food, ...): functions ``[]``, a true "none of these";
* :data:`MIXED` (``None``): toys, but the category (a brand or character: Disney, Hasbro, Star
  Wars, ...) says nothing about what they do: functions null (unknown), so that a model
  predicting functions does not learn these toys as negatives.

A path that matches no key maps to ``[]``; every path of the 2016 crawl matches one (tested).

Rules of thumb used below:
* brand/character categories are MIXED, except where the brand has one play pattern
  (Barbie → dolls, Crayola → arts_crafts, VTech/LeapFrog → learning, Thomas → vehicles);
* remote-controlled and model railway/vehicle hobbies are ``vehicles`` (the taxonomy puts remote
  control there), model kits are ``building``, robots are ``science_stem``;
* fancy dress is ``pretend_play`` (dress-up), adult costumes and temporary tattoos are nothing;
* animal and dinosaur figures are ``action_figures`` + ``animals_nature``; puppets are
  ``pretend_play`` (+ ``plush`` for hand and finger puppets, mostly soft animals);
* departments outside toys (Bags, Gardening, Office Supplies, ...) are nothing, except the few
  lines that are children's play things by their category (microscopes, art markers).
"""

from __future__ import annotations

__all__ = [
    "CATEGORY_FUNCTIONS",
    "MIXED",
    "NOT_A_TOY",
    "SEPARATOR",
    "functions_for",
    "matching_rule",
]

SEPARATOR = " > "

NOT_A_TOY: tuple[str, ...] = ()
MIXED = None

# fmt: off
CATEGORY_FUNCTIONS: dict[str, tuple[str, ...] | None] = {
    # -- toy departments ----------------------------------------------------------------------
    "Arts & Crafts":                                       ("arts_crafts",),
    "Baby & Toddler Toys":                                 ("baby_sensory",),
    "Baby & Toddler Toys > Learning & Activity Toys":      ("baby_sensory", "learning"),
    "Baby & Toddler Toys > Rockers & Ride-ons":            ("outdoor_active",),
    "Baby & Toddler Toys > Rocking Horses":                ("outdoor_active",),
    "Baby & Toddler Toys > Sorting, Stacking & Plugging Toys": ("baby_sensory", "learning"),
    "Baby & Toddler Toys > Sound Toys":                    ("baby_sensory", "music"),
    # Mostly Beyblade battle tops and yo-yos, not baby toys.
    "Baby & Toddler Toys > Spinning Tops":                 ("games",),
    "Baby & Toddler Toys > Teaching Clocks":               ("learning",),
    "Die-Cast & Toy Vehicles":                             ("vehicles",),
    "Dolls & Accessories":                                 ("dolls",),
    "Dolls & Accessories > Soft Dolls":                    ("dolls", "plush"),
    "Educational Toys":                                    ("learning",),
    "Electronic Toys":                                     MIXED,  # mixed gadgets
    "Electronic Toys > Educational Computers & Accessories": ("learning",),
    "Electronic Toys > Kids Remote & App Controlled Toys": ("vehicles",),
    "Electronic Toys > Robots":                            ("science_stem",),
    "Fancy Dress":                                         ("pretend_play",),
    "Fancy Dress > Accessories > Temporary Tattoos":       NOT_A_TOY,
    "Fancy Dress > Costumes > Adults":                     NOT_A_TOY,
    "Figures & Playsets":                                  ("action_figures",),
    "Figures & Playsets > Dinosaurs":                      ("action_figures", "animals_nature"),
    "Figures & Playsets > Farm & Animals":                 ("action_figures", "animals_nature"),
    "Figures & Playsets > Transportation & Traffic":       ("action_figures", "vehicles"),
    "Games":                                               ("games",),
    "Games > Casino Equipment":                            NOT_A_TOY,  # poker, roulette
    "Games > Casino Equipment > Bingo Equipment":          ("games",),
    "Games > Drinking Games":                              NOT_A_TOY,
    "Games > Educational Games":                           ("games", "learning"),
    "Hobbies":                                             MIXED,
    "Hobbies > Collectible Figures & Memorabilia":         ("action_figures",),
    "Hobbies > Collectible Figures & Memorabilia > Collectible Props & Memorabilia": NOT_A_TOY,
    "Hobbies > Model Building Kits":                       ("building",),
    "Hobbies > Model Building Kits > Boats & Watercraft":  ("building", "vehicles"),
    "Hobbies > Model Building Kits > Cars & Vehicles":     ("building", "vehicles"),
    "Hobbies > Model Building Kits > Steam Engines":       ("building", "science_stem"),
    "Hobbies > Model Building Kits > Tanks":               ("building", "vehicles"),
    "Hobbies > Model Trains & Railway Sets":               ("vehicles",),
    "Hobbies > Remote Controlled Devices":                 ("vehicles",),
    "Hobbies > Remote Controlled Devices > Robots":        ("science_stem",),
    "Hobbies > Slot Cars, Race Tracks & Accessories":      ("vehicles",),
    "Hobbies > Trading Cards & Accessories":               ("games",),
    "Hobbies > Trading Cards & Accessories > Sticker Collections": NOT_A_TOY,
    "Jigsaws & Puzzles":                                   ("puzzles",),
    "Musical Toy Instruments":                             ("music",),
    "Pretend Play":                                        ("pretend_play",),
    "Puppets & Puppet Theatres":                           ("pretend_play",),
    "Puppets & Puppet Theatres > Finger Puppets":          ("pretend_play", "plush"),
    "Puppets & Puppet Theatres > Hand Puppets":            ("pretend_play", "plush"),
    "Sports Toys & Outdoor":                               ("outdoor_active",),
    "Sports Toys & Outdoor > Garden Tools":                ("outdoor_active", "animals_nature"),
    "Worlds Apart":                                        MIXED,  # a toy brand
    "Worlds Apart > Kid Venture":                          ("outdoor_active",),  # kites
    # -- characters and brands: mixed unless the brand has one play pattern -------------------
    "Characters & Brands":                                 MIXED,
    "Characters & Brands > Action Man":                    ("action_figures",),
    "Characters & Brands > Harry Potter > Books":          NOT_A_TOY,  # stationery
    "Characters & Brands > BRIO > BRIO Builder System":    ("building",),
    "Characters & Brands > BRIO > BRIO Wooden Railway System": ("vehicles",),
    "Characters & Brands > BRIO > BRIO Wooden Roadway System": ("vehicles",),
    "Characters & Brands > Barbie":                        ("dolls",),
    "Characters & Brands > Crayola":                       ("arts_crafts",),
    "Characters & Brands > Hornby":                        ("vehicles",),
    "Characters & Brands > LeapFrog":                      ("learning",),
    "Characters & Brands > Ravensburger":                  ("puzzles",),
    "Characters & Brands > Ravensburger > Games":          ("games",),
    "Characters & Brands > Thomas & Friends":              ("vehicles",),
    "Characters & Brands > Upstarts":                      ("games",),
    "Characters & Brands > VTech":                         ("learning",),
    "Characters & Brands > WWE":                           ("action_figures",),
    # -- other departments: not toys, except a few kids' lines ---------------------------------
    "Bags":                                                NOT_A_TOY,
    "Bedding & Linens":                                    NOT_A_TOY,
    "Camping & Hiking":                                    NOT_A_TOY,
    "Car Parts":                                           NOT_A_TOY,
    "Cooking & Dining":                                    NOT_A_TOY,
    "Dogs":                                                NOT_A_TOY,
    "Gardening":                                           NOT_A_TOY,
    "Handbags & Shoulder Bags":                            NOT_A_TOY,
    "Home Accessories":                                    NOT_A_TOY,
    "Indoor Lighting":                                     NOT_A_TOY,
    "Jams, Honey & Spreads":                               NOT_A_TOY,
    "Lab & Scientific Products":                           NOT_A_TOY,
    "Lab & Scientific Products > Lab Instruments & Equipment > Microscopes & Equipment":
        ("science_stem",),
    "Laundry, Storage & Organisation":                     NOT_A_TOY,
    "Medical Supplies & Equipment":                        NOT_A_TOY,
    "Medication & Remedies":                               NOT_A_TOY,
    "Men":                                                 NOT_A_TOY,
    "Novelty & Special Use":                               NOT_A_TOY,
    "Novelty Jewellery":                                   NOT_A_TOY,
    "Office Supplies":                                     NOT_A_TOY,
    "Party Supplies":                                      NOT_A_TOY,
    "Pens, Pencils & Writing Supplies":                    NOT_A_TOY,
    "Pens, Pencils & Writing Supplies > Markers & Highlighters > Art Markers": ("arts_crafts",),
    "Pens, Pencils & Writing Supplies > Pencils > Coloured Pencils": ("arts_crafts",),
    "Sex & Sensuality":                                    NOT_A_TOY,
    "Storage, Cleaning & Ring Sizers":                     NOT_A_TOY,
    "Supporters' Gear":                                    NOT_A_TOY,
    "Sweets, Chocolate & Gum":                             NOT_A_TOY,
    "Women":                                               NOT_A_TOY,
}
# fmt: on


def matching_rule(path: str | list[str]) -> str | None:
    """The longest key of :data:`CATEGORY_FUNCTIONS` that is a prefix of the path, if any."""
    segments = _segments(path)
    for k in range(len(segments), 0, -1):
        key = SEPARATOR.join(segments[:k])
        if key in CATEGORY_FUNCTIONS:
            return key
    return None


def functions_for(path: str | list[str]) -> list[str] | None:
    """Taxonomy labels of a category path (a string or its segments).

    ``[]`` when the category is not a toy in the taxonomy's sense or matches no rule; ``None``
    when it is a mixed brand/character category (functions unknown).
    """
    rule = matching_rule(path)
    if rule is None:
        return []
    labels = CATEGORY_FUNCTIONS[rule]
    return None if labels is MIXED else list(labels)


def _segments(path: str | list[str]) -> list[str]:
    parts = path.split(SEPARATOR) if isinstance(path, str) else path
    return [p.strip() for p in parts]
