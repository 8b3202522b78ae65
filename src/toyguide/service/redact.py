"""File-system paths taken out of what the service tells callers without the admin token.

A path says how the server is laid out (user names, mount points, where the data lives), which
an open route has no reason to tell. The paths the service knows (the model folder, the store)
become a named placeholder; any other absolute, home or dot-relative path becomes ``<path>``,
and so does any token with a separator under a key that holds paths (``folder``, ``store``,
``sources``, ...). Elsewhere a bare ``a/b`` is kept: metric names such as
``preference/next_item/ndcg@10`` look like that. Keys and non-string values are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toyguide.service.deps import Services

__all__ = ["PATH_KEYS", "PATH_PLACEHOLDER", "known_paths", "redact_paths", "service_paths"]

PATH_PLACEHOLDER = "<path>"
PATH_KEYS = frozenset({"folder", "store", "sources", "source", "path", "model_dir"})
_STOP = r"""\s'"()\[\]{}<>,;"""  # what ends a token: spaces, quotes, brackets, list separators
# A token starts at the text's start or after a stop other than ">": a file named right after a
# placeholder ("<model folder>/config.json") tells no more than the placeholder and is kept.
_START = rf"(?:^|(?<=[{_STOP.replace('>', '')}:=]))"
_ABSOLUTE = re.compile(rf"{_START}(?:/|~[/\\]|\.{{1,2}}[/\\]|[A-Za-z]:[/\\]|\\\\)[^{_STOP}]*")
_ANY_SEPARATOR = re.compile(rf"{_START}[^{_STOP}]*[/\\][^{_STOP}]*")


def known_paths(named: Iterable[tuple[str, Path | str | None]]) -> dict[str, str]:
    """``[("<model folder>", path), ...]`` → each spelling of each path (as given, absolute,
    resolved) mapped to its placeholder, longest first so that a folder does not cut its own
    subfolder's spelling in two."""
    spellings: dict[str, str] = {}
    for placeholder, path in named:
        if path is None or str(path) in ("", "."):
            continue
        p = Path(path)
        for spelling in (str(p), str(p.absolute()), str(p.resolve())):
            spellings.setdefault(spelling, placeholder)
    return dict(sorted(spellings.items(), key=lambda kv: -len(kv[0])))


def service_paths(services: Services, info: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The paths a service knows of: configured, served now, and those in the model ``info``
    (the store a model was trained on may lie elsewhere); model folders become
    ``<model folder>``, stores ``<store>``."""
    info = info or {}
    data = info.get("data") if isinstance(info.get("data"), Mapping) else {}
    s = services.settings
    folders = [s.model_dir, services.holder.model_dir, info.get("folder")]
    stores = [s.store, data.get("store")]  # type: ignore[union-attr]
    return known_paths([("<model folder>", f) for f in folders] + [("<store>", p) for p in stores])


def redact_paths(value: Any, known: Mapping[str, str], *, path_valued: bool = False) -> Any:
    """``value`` (JSON-like) with the paths in its strings replaced, as a new object;
    ``path_valued``: its strings are paths or lists of them, so any separator counts."""
    if isinstance(value, str):
        return _redact_text(value, known, _ANY_SEPARATOR if path_valued else _ABSOLUTE)
    if isinstance(value, Mapping):
        return {k: redact_paths(v, known, path_valued=k in PATH_KEYS) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_paths(v, known, path_valued=path_valued) for v in value]
    return value


def _redact_text(text: str, known: Mapping[str, str], pattern: re.Pattern[str]) -> str:
    for spelling, placeholder in known.items():  # known first: they may hold spaces
        text = text.replace(spelling, placeholder)
    return pattern.sub(_placeholder, text)


def _placeholder(match: re.Match[str]) -> str:
    token = match.group(0)
    kept = token.rstrip(":.")  # "folder: missing ..." keeps its colon, a sentence its stop
    return PATH_PLACEHOLDER + token[len(kept) :]
