"""Adapters that turn public datasets into toyguide's data model.

An adapter is one module with one ``@ADAPTERS.register("name")`` function taking the dataset
folder and returning an :class:`AdapterResult`; importing this package registers them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from toyguide.registry import Registry

__all__ = ["ADAPTERS", "Adapter", "AdapterResult"]


@dataclass
class AdapterResult:
    """Canonical frames per table (see ``toyguide.data.schema``) plus what the import did.

    ``counts`` names what was read, kept and dropped (e.g. ``"dropped_cancellations"``) so the
    import can print and tests can assert them; ``notes`` states the rules the adapter applied
    (e.g. "no timestamps: ts encodes sequence order").
    """

    frames: dict[str, pl.DataFrame]
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class Adapter(Protocol):
    def __call__(self, source: Path) -> AdapterResult: ...


ADAPTERS: Registry[Adapter] = Registry("dataset adapter")


def _register_all() -> None:
    # Imported for their @ADAPTERS.register side effect; a missing module is simply not listed.
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


_register_all()
