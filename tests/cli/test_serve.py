"""``toyguide serve``: its options reach the service's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import toyguide.service
from toyguide.cli import app


def settings_of(monkeypatch, tmp_path: Path, *options: str) -> Any:
    seen: list[Any] = []
    monkeypatch.setattr(toyguide.service, "serve", lambda settings, **_: seen.append(settings))
    args = ["serve", "--model", str(tmp_path), "--store", str(tmp_path / "s.duckdb"), *options]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return seen[0]


def test_inference_slots_are_the_cores_over_the_workers_unless_given(monkeypatch, tmp_path) -> None:
    from toyguide.service import settings as settings_module

    monkeypatch.setattr(settings_module, "usable_cores", lambda: 2)
    assert settings_of(monkeypatch, tmp_path).inference_slots == 2
    assert settings_of(monkeypatch, tmp_path, "--workers", "2").inference_slots == 1
    given = settings_of(monkeypatch, tmp_path, "--workers", "2", "--inference-slots", "3")
    assert given.inference_slots == 3 and given.workers == 2
