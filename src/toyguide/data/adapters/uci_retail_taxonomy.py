"""Keyword rules that map a UCI Online Retail product title to toy functions.

The retailer sells gift-ware; most titles are ``<design line> <product type>``: SPACEBOY LUNCH
BOX, DOLLY GIRL BEAKER, CIRCUS PARADE CHILDRENS EGG CUP, RETROSPOT ... A design line says whom
a product is styled for, not what a child does with it, so **no rule keys on a design name**
(SPACEBOY, DOLLY GIRL, CIRCUS PARADE, WOODLAND, ALPHABET, DINOSAUR, ROBOT). Rules key on the
product type (JIGSAW, PLAYING CARDS, SOFT TOY, CRAYONS, ...), so MINI JIGSAW SPACEBOY is
``puzzles`` while SPACEBOY LUNCH BOX is ``[]``. A title no rule matches gets ``[]`` ("not a toy
in the taxonomy's sense"), which is what most of this catalogue is.

Every rule below matches at least one title of the dataset (tested), and the table is copied
into ``docs/datasets/uci-online-retail.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from toyguide.data.taxonomy import FUNCTIONS

__all__ = ["RULES", "KeywordRule", "functions_for", "normalise_title", "rules_markdown"]


@dataclass(frozen=True)
class KeywordRule:
    """Titles matching ``pattern`` (and not ``unless``) get ``labels``.

    Patterns are Python regular expressions matched against the upper-cased title with its
    whitespace collapsed; ``\\b`` keeps DOLL from matching DOLLY and PAINT from PAINTED.
    """

    labels: tuple[str, ...]
    pattern: str
    unless: str | None = None
    why: str = ""

    def matches(self, title: str) -> bool:
        if not re.search(self.pattern, title):
            return False
        return self.unless is None or not re.search(self.unless, title)


# Greeting cards, whatever their motif: "CARD DOLLY GIRL", "SET 10 CARDS DRESSING UP 17077".
_CARD = r"^CARD\b|^SET \d+ .*CARDS\b|\bBIRTHDAY CARD\b"

RULES: tuple[KeywordRule, ...] = (
    KeywordRule(
        ("building", "learning"),
        r"\bALPHABET BLOCKS\b",
        why="wooden letter blocks; '... BUILDING BLOCK WORD' and 'WOODEN BLOCK LETTERS' are "
        "home-decor words, not toys",
    ),
    KeywordRule(
        ("vehicles",),
        r"\bCAR TOY\b|\bHELICOPTER\b|\bGLIDERS?\b",
        why="FLORAL SOFT CAR TOY; the DRAGONFLY/SHARK HELICOPTER and WW2 GLIDERS flying toys; "
        "RACING CAR PEN, FIRE ENGINE/CAR PATCHES and CAR FLAG are not",
    ),
    KeywordRule(
        ("dolls",),
        r"\bDOLLS?\b|\bPLAYHOUSE\b",
        unless=r"\bDOORSTOP\b",
        why="FELTCRAFT DOLL MOLLY, MONKEY DOLL, POPPY'S PLAYHOUSE (a dolls' house); the DOLLY "
        "GIRL design line and DOLLY PEGS do not match DOLL",
    ),
    KeywordRule(
        ("plush",),
        r"\bSOFT (CAR )?TOY\b|\bTEDDY\b|\bMONKEY DOLL\b|\bKNITTED \w+ DOLL\b"
        r"|\bFELT FARM ANIMAL\b|\bTOY WITH\b",
        unless=_CARD,
        why="soft toys and teddies (MOUSE TOY WITH PINK T-SHIRT); a birthday card with a teddy "
        "on it is a card",
    ),
    KeywordRule(
        ("arts_crafts",),
        r"\bCRAYONS?\b|\bPAINT (SET|YOUR OWN)\b|\bCOLOU?R(ED|ING)? PENCILS\b|\bCHALK STICKS\b"
        r"|\bSTENCIL\b|\bKNITTING (KIT|NANCY)\b|\bDRAWING SLATE\b|\bSTAMP SET\b"
        r"|\bMAKE YOUR OWN\b|\bFELTCRAFT .*\bKIT\b|\b3D KIT\b|\bCOLOURING SET\b",
        why="materials a child makes something with; sewing kits and boxes (adult mending), "
        "pens, writing sets and sticker sheets (stationery) are left out",
    ),
    KeywordRule(
        ("puzzles",),
        r"\bJIGSAWS?\b|\bPUZZLES?\b",
        why="MINI JIGSAW SPACEBOY is a puzzle whatever its design",
    ),
    KeywordRule(
        ("games",),
        r"\bPLAYING CARDS\b|\bSNAP CARDS\b|\bGAMES?\b|\bLUDO\b|\bSNAKES (&|AND) LADDERS\b"
        r"|\bDOMINOE?S\b|\bSKITTLES\b|\bBINGO\b|\bMARBLES\b|\bSPINNING TOPS?\b",
        unless=_CARD,
        why="board, card and table games (spinning tops and marbles are played as games); "
        "'CARD PARTY GAMES' is a greeting card",
    ),
    KeywordRule(
        ("science_stem",),
        r"\bGROWING FROM PAPER\b",
        why="MAGIC SHEEP WOOL GROWING FROM PAPER (a crystal-growing novelty); the GROW YOUR "
        "OWN herb tins are kitchen gifts; ROBOT is a design line (mugs, cards), not a robot",
    ),
    KeywordRule(
        ("learning",),
        r"\bALPHABET (STAMP SET|EXERCISE BOOKS?)\b|\bINFLATABLE .*\bGLOBE\b",
        why="letters and geography; ALPHABET on wrap, bags and wall art is a design",
    ),
    KeywordRule(
        ("pretend_play",),
        r"\bPLAYHOUSE\b|\bTOY COOKING\b|\b(DOCTOR|NURSE)'S BAG\b|\bTOOL BOX SOFT TOY\b"
        r"|\bPUPPETS?\b|\bTIARAS?\b|\bTEA SET\b|\bDRESSING UP\b",
        unless=_CARD,
        why="role play and dress-up; an 11-piece ceramic TEA SET at £4.95 is a child's set; "
        "'SET 10 CARDS DRESSING UP' is a pack of Christmas cards",
    ),
    KeywordRule(
        ("games", "outdoor_active"),
        r"\b(SKITTLES|CROQUET|ROUNDERS) GARDEN SET\b",
        why="lawn games",
    ),
    KeywordRule(
        ("outdoor_active",),
        r"\bSKIP+ING ROPE\b|\bWATER BOMB\b|\bBUBBLES\b|\bBEACH SPADE\b|\bSEASIDE BUCKET\b"
        r"|\bCHILD(RENS|S) GARDEN\b|\bWHEELBARROW FOR CHILDREN\b|\bGLIDERS?\b",
        why="outdoor play, bubbles, throw gliders and children's garden tools (SKIPPPING is "
        "the source's spelling); party BALLOONS are party supplies, not toys",
    ),
    KeywordRule(
        ("music",),
        r"\bHARMONICA\b",
        why="the only instrument sold; 'MUSICAL ZINC STAR' is a Christmas decoration",
    ),
    KeywordRule(
        ("baby_sensory",),
        r"\bPADDED (SOFT )?MOBILE\b",
        why="padded cot mobiles; other MOBILEs are decorations and phone charms; RATTLE SNAKE "
        "EGGS is a prank toy, BABY GIFT SETs are tableware",
    ),
    KeywordRule(
        ("animals_nature",),
        r"\bDINOSAUR SET\b|\bFARMYARD ANIMALS\b|\bFELT FARM ANIMAL\b",
        why="toy animal figures; a dinosaur motif on a lunch box or party invite is a design",
    ),
)


def normalise_title(title: str) -> str:
    """Upper case with runs of whitespace collapsed: the form the rules are matched against."""
    return " ".join(title.upper().split())


def functions_for(title: str | None) -> list[str] | None:
    """Taxonomy labels for a product title, in taxonomy order; None for a missing title."""
    if title is None:
        return None
    text = normalise_title(title)
    labels = {label for rule in RULES if rule.matches(text) for label in rule.labels}
    return [f for f in FUNCTIONS if f in labels]


def rules_markdown() -> str:
    """The rules as a Markdown table (pasted into the dataset's documentation)."""
    lines = ["| labels | title matches (regex) | unless | why |", "| --- | --- | --- | --- |"]
    for r in RULES:
        unless = f"`{r.unless}`" if r.unless else ""
        cells = (", ".join(r.labels), f"`{r.pattern}`", unless, r.why)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
