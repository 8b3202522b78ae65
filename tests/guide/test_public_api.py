from __future__ import annotations

import importlib

import toyguide.guide as guide

MODULES = ["dialogue", "lexicon", "numbers", "parse", "request", "semantic"]


def test_the_public_api_is_explicit() -> None:
    assert set(guide.__all__) == {
        "AROUND", "CHEAPER", "FIELDS", "OCCASIONS", "SHIFT_MONTHS", "THRESHOLD", "AgeRange",
        "Budget", "Dialogue", "Embedder", "GuideRequest", "GuideRequestError", "LabelMatcher",
        "ParsedTurn", "SemanticMatcher", "parse", "parse_turn",
    }  # fmt: skip
    for name in guide.__all__:
        assert getattr(guide, name) is not None


def test_every_module_lists_only_names_it_has() -> None:
    for name in MODULES:
        module = importlib.import_module(f"toyguide.guide.{name}")
        assert all(hasattr(module, n) for n in module.__all__), name


def test_parsing_needs_no_model() -> None:
    import subprocess
    import sys

    code = "import sys, toyguide.guide as g; g.parse('lego'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
