"""Bounded LRU caches: ``BoundedCache`` (get/put) and ``bounded_memo`` (a pure function's
results), both bounded by their entry count.

Per-path memos (target normalisation, routing, header parsing...) see as many distinct keys
as clients care to send. Clearing such a memo whole when it fills throws away the hot keys
together with the one-off ones, so a site with more distinct paths than the bound misses on
every request. An LRU keeps what repeats: a hit moves the key to the young end, an insert
past the bound drops the oldest key. Both are O(1) (``OrderedDict`` keeps a linked list).

``None`` is what ``get`` answers for a missing key, so ``None`` cannot be cached.

``bounded_memo`` is the same policy for a pure function of hashable arguments, kept in C
(``functools.lru_cache``): a hit costs one C call where ``BoundedCache.get`` costs a Python
frame, which the per-request lookups (request-target, virtual server, location, Host) can
measure. What the function raises is not cached.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import Generic, ParamSpec, TypeVar, cast

K = TypeVar("K")
V = TypeVar("V")
P = ParamSpec("P")


def bounded_memo(max_entries: int) -> Callable[[Callable[P, V]], Callable[P, V]]:
    """Decorate a pure function so that it remembers the results of its last
    ``max_entries`` distinct argument lists (least recently used dropped first)."""
    if max_entries < 1:
        raise ValueError("max_entries must be at least 1")

    def decorate(function: Callable[P, V]) -> Callable[P, V]:
        # lru_cache's stub types the call as (*Hashable) -> V; the arguments are the same
        return cast("Callable[P, V]", lru_cache(maxsize=max_entries)(function))

    return decorate


class BoundedCache(Generic[K, V]):
    """A least-recently-used cache of at most ``max_entries`` entries."""

    __slots__ = ("_data", "_find", "_refresh", "max_entries")

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._data: OrderedDict[K, V] = OrderedDict()
        # bound once: these run per request, and a method lookup costs as much as the call
        self._find = self._data.get
        self._refresh = self._data.move_to_end
        self.max_entries = max_entries

    def get(self, key: K) -> V | None:
        """The value cached for ``key`` (now the most recently used), or None."""
        value = self._find(key)
        if value is not None:
            self._refresh(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Cache ``value`` for ``key``, dropping the least recently used entry when full."""
        data = self._data
        data[key] = value
        self._refresh(key)  # a key put again is used again
        if len(data) > self.max_entries:
            data.popitem(last=False)

    def pop(self, key: K) -> V | None:
        """Remove ``key``; its value, or None when it was not cached."""
        return self._data.pop(key, None)

    def clear(self) -> None:
        """Drop every entry."""
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data
