"""A small case-insensitive, multi-valued, order-preserving header collection."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping


class Headers:
    """Case-insensitive multi-dict of header fields, in arrival order.

    ``h["x"]`` is the first value (KeyError if absent); ``h["x"] = v`` replaces every value;
    ``h.add("x", v)`` appends one; ``h.get_all("x")`` lists them all.
    """

    __slots__ = ("_items", "_block")

    def __init__(
        self, items: Mapping[str, str] | Iterable[tuple[str, str]] | Headers | None = None
    ) -> None:
        # each entry: (lower-cased name, name as given, value)
        self._items: list[tuple[str, str, str]] = []
        self._block: str | None = None  # serialised form, dropped by every change
        if items is None:
            return
        if type(items) is dict:  # the common case, without the slower ABC check below
            out = self._items
            for name, value in items.items():  # a plain loop beats a comprehension here
                out.append((name.lower(), name, value))
            return
        if isinstance(items, Headers):
            self._items = list(items._items)
            return
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items = [(name.lower(), name, value) for name, value in pairs]

    @classmethod
    def from_items(cls, items: list[tuple[str, str, str]], block: str | None = None) -> Headers:
        """Headers from ``(lower-cased name, name, value)`` triples (copied), unchecked:
        the fast way to stamp out a precomputed header set. ``block``, when given, must be
        ``wire.header_block`` of exactly these items; it is reused until a change."""
        headers = cls.__new__(cls)
        headers._items = items.copy()
        headers._block = block
        return headers

    @classmethod
    def from_list(cls, items: list[tuple[str, str, str]]) -> Headers:
        """Headers that take over ``items`` (``(lower-cased name, name, value)`` triples,
        not copied: the caller must not keep using the list)."""
        headers = cls.__new__(cls)
        headers._items = items
        headers._block = None
        return headers

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.lower()
        for lower, _, value in self._items:
            if lower == key:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [value for lower, _, value in self._items if lower == key]

    def add(self, name: str, value: str) -> None:
        self._items.append((name.lower(), name, value))
        self._block = None

    def setdefault(self, name: str, value: str) -> str:
        current = self.get(name)
        if current is None:
            self.add(name, value)
            return value
        return current

    def pop(self, name: str, default: str | None = None) -> str | None:
        value = self.get(name, default)
        self.__delitem__(name, missing_ok=True)
        return value

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self._block = None
        key = name.lower()
        items = self._items
        for i, (lower, _, _) in enumerate(items):
            if lower == key:
                items[i] = (key, name, value)
                self._items = [e for j, e in enumerate(items) if j <= i or e[0] != key]
                return
        items.append((key, name, value))

    def __delitem__(self, name: str, missing_ok: bool = False) -> None:
        self._block = None
        key = name.lower()
        kept = [e for e in self._items if e[0] != key]
        if len(kept) == len(self._items) and not missing_ok:
            raise KeyError(name)
        self._items = kept

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.lower()
        return any(lower == key for lower, _, _ in self._items)

    def __iter__(self) -> Iterator[str]:
        return (name for _, name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair in order, repeated names included."""
        return [(name, value) for _, name, value in self._items]

    def keys(self) -> list[str]:
        return [name for _, name, _ in self._items]

    def update(self, other: Mapping[str, str] | Iterable[tuple[str, str]] | Headers) -> None:
        """Replace the fields named in ``other`` (``h[name] = value`` for each)."""
        pairs = other.items() if isinstance(other, Headers | Mapping) else other
        for name, value in pairs:
            self[name] = value

    def copy(self) -> Headers:
        return Headers(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]
        return NotImplemented

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"
