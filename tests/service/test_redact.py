"""Paths out of open answers: known paths get their name, other paths ``<path>``."""

from __future__ import annotations

from pathlib import Path

from toyguide.service.redact import known_paths, redact_paths


def test_known_paths_get_their_placeholder_in_every_spelling(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "model").mkdir(parents=True)
    known = known_paths([("<model folder>", "runs/model"), ("<store>", "my shop.duckdb")])
    text = f"{tmp_path}/runs/model: missing config.json; runs/model/x.faiss; my shop.duckdb"
    assert redact_paths(text, known) == (
        "<model folder>: missing config.json; <model folder>/x.faiss; <store>"
    )


def test_other_paths_in_text_are_replaced_and_names_with_a_slash_kept() -> None:
    message = "cannot read '/srv/m': [Errno 13] denied: '/srv/m/config.json'; see ~/notes, ./x."
    assert redact_paths(message, {}) == (
        "cannot read '<path>': [Errno 13] denied: '<path>'; see <path>, <path>."
    )
    assert redact_paths(r"at C:\shop\events.csv: bad", {}) == "at <path>: bad"
    assert redact_paths("amazon-toys:/data/amz", {}) == "amazon-toys:<path>"
    kept = {"best": "preference/next_item/ndcg@10", "sources": ["synthetic:seed=0"], "n": 3}
    assert redact_paths(kept, {}) == kept


def test_under_path_keys_any_separator_counts_and_the_input_is_not_changed() -> None:
    info = {"folder": "runs/model", "data": {"store": "/srv/shop.duckdb",
            "sources": ["data/events.csv", "synthetic:seed=0"]}}  # fmt: skip
    shown = redact_paths(info, known_paths([("<model folder>", "runs/model")]))
    assert shown == {"folder": "<model folder>", "data": {"store": "<path>",
                     "sources": ["<path>", "synthetic:seed=0"]}}  # fmt: skip
    assert info["folder"] == "runs/model"  # the holder's info stays whole for the admin
