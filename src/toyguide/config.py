"""Frozen dataclass configs, read from and written to TOML.

``from_dict`` builds a dataclass tree from plain values and rejects what it cannot place: an
unknown key (naming the allowed ones) or a value of the wrong type (naming the dotted key).
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from toyguide.errors import ConfigError

__all__ = ["from_dict", "load_toml", "save_toml", "to_dict"]

T = TypeVar("T")


def load_toml(path: str | Path, cls: type[T]) -> T:
    """Read ``path`` into the dataclass ``cls``; every problem is a ConfigError naming the file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return from_dict(cls, raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def save_toml(config: Any, path: str | Path) -> None:
    Path(path).write_text(tomli_w.dumps(to_dict(config)), encoding="utf-8")


def to_dict(config: Any) -> dict[str, Any]:
    """Plain TOML-ready values (tuples become lists, None values are left out)."""
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; missing keys take the field defaults."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a table, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        allowed = ", ".join(sorted(fields)) or "nothing"
        raise ConfigError(f"unknown key '{key}'; allowed here: {allowed}")
    hints = typing.get_type_hints(cls)
    values = {
        name: _coerce(hints[name], value, f"{where}.{name}" if where else name)
        for name, value in data.items()
    }
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(args, value, where)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)  # type: ignore[arg-type]
    if origin in (tuple, list):
        return _coerce_sequence(origin, args, value, where)
    if origin is dict:
        if not isinstance(value, dict):
            raise _wrong(where, "a table", value)
        return {k: _coerce(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(
                f"'{where}' must be one of {', '.join(map(repr, args))}, got {value!r}"
            )
        return value
    return _coerce_scalar(hint, value, where)


def _coerce_union(args: tuple[Any, ...], value: Any, where: str) -> Any:
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in (a for a in args if a is not type(None)):
        try:
            return _coerce(arg, value, where)
        except ConfigError as exc:
            errors.append(str(exc))
    raise ConfigError(errors[0] if errors else f"'{where}': no value allowed")


def _coerce_sequence(origin: Any, args: tuple[Any, ...], value: Any, where: str) -> Any:
    if not isinstance(value, list | tuple):
        raise _wrong(where, "a list", value)
    item_hint = args[0] if args else Any
    items = [_coerce(item_hint, v, f"{where}[{i}]") for i, v in enumerate(value)]
    return tuple(items) if origin is tuple else items


def _coerce_scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # TOML writes 1.0 as 1 when people type it so
    if hint is Path and isinstance(value, str):
        return Path(value)
    if isinstance(hint, type) and (
        not isinstance(value, hint) or (hint is int and isinstance(value, bool))
    ):
        raise _wrong(where, hint.__name__, value)
    return value


def _wrong(where: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"'{where}' must be {expected}, got {type(value).__name__} {value!r}")
