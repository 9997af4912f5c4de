"""Small helpers on sequences, shared by the offline rules and the document-parties reader
(a leaf module: importing it imports nothing of the package)."""

from collections.abc import Callable, Hashable
from typing import TypeVar

Item = TypeVar("Item")


def unique(items: list[Item], key: Callable[[Item], Hashable]) -> list[Item]:
    """Items in order, dropping later ones whose key was already seen."""
    seen: set[Hashable] = set()
    kept: list[Item] = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            kept.append(item)
    return kept
