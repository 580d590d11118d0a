"""``BoundedCache``: the one memo type of the hot path, an LRU bounded by its entry count.

Per-path memos (target normalisation, routing, header parsing...) see as many distinct keys
as clients care to send. Clearing such a memo whole when it fills throws away the hot keys
together with the one-off ones, so a site with more distinct paths than the bound misses on
every request. An LRU keeps what repeats: a hit moves the key to the young end, an insert
past the bound drops the oldest key. Both are O(1) (``OrderedDict`` keeps a linked list).

``None`` is what ``get`` answers for a missing key, so ``None`` cannot be cached.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


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
