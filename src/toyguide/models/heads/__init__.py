"""Task heads: one module per task, mapping the mixer's output [B, D] to that task's outputs.

Heads return logits (never probabilities), except the sales head, which returns quantiles of
units scaled by the item's recent level. Each head also knows its task's batch keys
(docs/design/mtl-contracts.md) and turns its outputs and a batch into a masked loss with
``head.loss(outputs, batch) -> LossOutput(loss, count)``.

A head is one module with one ``@HEADS.register("task")`` class taking its own config
dataclass; importing this package registers them all.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from toyguide.registry import Registry

__all__ = ["HEADS", "build_head"]

HEADS: Registry[type[nn.Module]] = Registry("head")


def build_head(name: str, config: Any) -> nn.Module:
    """The registered head ``name`` built from its config (e.g. ``SalesHeadConfig``)."""
    return HEADS.get(name)(config)


def _register_all() -> None:
    # Imported for their @HEADS.register side effect.
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


_register_all()
