from __future__ import annotations

import pytest

from toyguide.errors import RegistryError, ToyGuideError
from toyguide.registry import Registry


def test_register_and_get() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("a")(1)
    reg.register("b")(2)
    assert reg.get("a") == 1 and reg.names() == ["a", "b"] and "b" in reg and len(reg) == 2


def test_duplicate_and_unknown_names_are_clear_errors() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("a")(1)
    with pytest.raises(RegistryError, match="widget 'a' is already registered"):
        reg.register("a")(2)
    with pytest.raises(ToyGuideError, match="unknown widget 'zz'; known: a"):
        reg.get("zz")


def test_unregister_takes_a_name_out_and_an_unknown_one_is_an_error() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    assert reg.unregister("a") == 1 and "a" not in reg
    with pytest.raises(RegistryError, match="unknown thing 'a'"):
        reg.unregister("a")
