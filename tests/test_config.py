from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from toyguide.config import from_dict, load_toml, save_toml
from toyguide.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    width: int = 8
    rate: float = 0.1
    kinds: tuple[str, ...] = ("a",)


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    mode: Literal["fast", "slow"] = "fast"
    inner: Inner = field(default_factory=Inner)
    weights: dict[str, float] = field(default_factory=dict)
    limit: int | None = None


def test_round_trip(tmp_path: Path) -> None:
    cfg = Outer(
        name="y", mode="slow", inner=Inner(width=3, rate=1, kinds=("b", "c")), weights={"t": 2}
    )
    save_toml(cfg, tmp_path / "c.toml")
    assert load_toml(tmp_path / "c.toml", Outer) == cfg


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nmae": "x"}, "unknown key 'nmae'; allowed here: inner, limit, mode, name, weights"),
        ({"inner": {"widht": 2}}, "unknown key 'inner.widht'"),
        ({"inner": {"width": "2"}}, "'inner.width' must be int, got str '2'"),
        ({"inner": {"width": True}}, "'inner.width' must be int"),
        ({"mode": "medium"}, "'mode' must be one of 'fast', 'slow'"),
        ({"inner": {"kinds": "a"}}, "'inner.kinds' must be a list"),
        ({"weights": {"t": "heavy"}}, "'weights.t' must be float"),
        ({"inner": 3}, "inner: expected a table"),
    ],
)
def test_bad_values_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_dict(Outer, data)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("name = \n")
    with pytest.raises(ConfigError, match=re.escape("c.toml: not valid TOML")):
        load_toml(tmp_path / "c.toml", Outer)
    (tmp_path / "d.toml").write_text("[inner]\nwidth = 'x'\n")
    with pytest.raises(ConfigError, match=re.escape("d.toml: 'inner.width' must be int")):
        load_toml(tmp_path / "d.toml", Outer)
