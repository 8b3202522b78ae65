"""Dependencies point one way (STYLE.md): a lower layer never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "toyguide"
LAYERS = [
    "data", "features", "models", "weighting", "training", "evaluation", "tasks", "grouping",
    "parts", "runs", "guide", "service",
]  # fmt: skip
# Modules at the package root: the foundations (importable by all) and the CLI (imports all).
FOUNDATION = {"errors", "registry", "config", "checksums", "folders", "distributed"}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "toyguide" or len(parts) < 2:
        return None
    name = parts[1]
    if name in FOUNDATION:
        return -1
    if name in ("cli", "__main__"):
        return len(LAYERS) + 1
    return LAYERS.index(name) if name in LAYERS else None


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    module = "toyguide." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    own = layer_of(module)
    if own is None:
        return
    for imported in imports_of(path):
        other = layer_of(imported)
        assert other is None or other <= own, f"{module} imports higher layer {imported}"


def test_every_top_level_module_has_a_layer() -> None:
    for path in PACKAGE.iterdir():
        name = path.stem
        if name.startswith("_") or name == "py":
            continue
        assert layer_of(f"toyguide.{name}") is not None, f"{name} has no place in LAYERS"


def test_cli_submodules_are_the_top_layer() -> None:
    top = layer_of("toyguide.cli")
    assert top is not None and top > layer_of("toyguide.service")  # type: ignore[operator]
    for group in ("common", "data", "demo", "train", "guide", "serve"):
        assert layer_of(f"toyguide.cli.{group}") == top
