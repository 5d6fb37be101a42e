"""Looking a name up in one of the engine's registries (activations, losses, optimizers, initialisers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def registered(registry: Mapping[str, T], name: str, what: str) -> T:
    """``registry[name]``, or a ValueError that names the choices: an unknown name is an error, never a fallback."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} {name!r}; choose one of {', '.join(registry)}") from None
