"""Loss-weighting strategies: how one step's task losses become gradients (DESIGN §2).

A strategy is one module with one ``@WEIGHTINGS.register("name")`` class; importing this package
registers them all. Build one from config with :func:`build_weighting`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from toyguide.errors import ConfigError
from toyguide.registry import Registry
from toyguide.weighting.base import WeightingStrategy

__all__ = ["WEIGHTINGS", "WeightingStrategy", "build_weighting"]

WEIGHTINGS: Registry[type[WeightingStrategy]] = Registry("weighting strategy")


def build_weighting(name: str, tasks: Sequence[str], **options: Any) -> WeightingStrategy:
    """The strategy registered as ``name`` for ``tasks``; unknown options are a ConfigError."""
    cls = WEIGHTINGS.get(name)
    allowed = cls.option_names()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for weighting strategy '{name}'; "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
    return cls(tasks, **options)


def _register_all() -> None:
    # Imported for their @WEIGHTINGS.register side effect; a new strategy is one new module.
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_") and mod.name != "base":
            importlib.import_module(f"{__name__}.{mod.name}")


_register_all()
