"""Loops that run in C, named once.

The loading code's hot paths handle a batch's rows with ``map``, ``compress`` and friends instead
of Python ``for`` loops (each loop below costs a few nanoseconds per item where a Python loop
costs tens). Written inline they read as puzzles; here each has a name that says what it does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, count, islice, repeat
from operator import ge, is_not, ne, not_, sub
from typing import Any

COMMA = ord(",")
NEWLINE = ord("\n")

_exhaust: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend  # runs an iterator to its end, keeping nothing


def set_each(objects: Iterable[Any], name: str, values: Iterable[Any]) -> None:
    """``setattr(obj, name, value)`` for each object and the value in the same place."""
    _exhaust(map(setattr, objects, repeat(name), values))


def next_not_none(items: Sequence[Any], start: int, default: int) -> int:
    """The index of the first of ``items`` from ``start`` on that is not None, else ``default``."""
    return next(compress(count(start), map(is_not, islice(items, start, None), repeat(None))), default)


def first_false(flags: Iterable[Any], default: int) -> int:
    """The index of the first false one of ``flags``, else ``default``."""
    return next(compress(count(), map(not_, flags)), default)


def changes_at(values: Sequence[Any]) -> Iterator[int]:
    """The indexes whose value differs from the one before: where each run of equal values after the first starts."""
    return compress(count(1), map(ne, values, islice(values, 1, None)))


def at_least(starts: Sequence[int], ends: Sequence[int], length: int) -> Iterator[tuple[int, int]]:
    """The ``(start, end)`` pairs of ``starts`` and ``ends`` that span at least ``length``."""
    return compress(zip(starts, ends, strict=True), map(ge, map(sub, ends, starts), repeat(length)))
