"""nginx location matching.

At each nesting level: an ``=`` exact match stops the search; otherwise the longest matching
prefix (whatever the file order) is remembered and its nested locations are searched; then,
unless that prefix is ``^~``, the regex locations (``~``, ``~*``) of the level are tried in
file order and the first hit wins (its own nested locations are searched too); else the
remembered prefix (or what its nested search found) is used. The query is never matched.
The groups of the last location regex that matched are the request's captures (``$1``,
``$name``); they are memoised with the location, so prefix hits pay nothing for them.
"""

from __future__ import annotations

import re
import weakref

from framework.bounded_cache import bounded_memo
from framework.config.models import LocationConfig, ServerConfig
from framework.http.variables import captures_of

# Distinct paths a server's memo remembers: room for a site's whole working set (thousands of
# files) at roughly 200 bytes an entry (the path, an OrderedDict link; the value is shared).
MEMO_ENTRIES = 16384
MEMO_PATH_MAX = 256  # longer paths are rare and would let a client fill memory

_Found = tuple[LocationConfig, dict[str, str] | None]


class _PrefixNode:
    """A node of a radix tree over prefix patterns: ``edges`` maps the first character of
    each outgoing edge to ``(label, child)``; ``location`` is the one whose pattern ends
    here."""

    __slots__ = ("location", "edges")

    def __init__(self) -> None:
        self.location: LocationConfig | None = None
        self.edges: dict[str, tuple[str, _PrefixNode]] = {}


class PrefixTree:
    """The longest prefix pattern of a path, in time that grows with the path's branch
    points in the tree, not with the number of patterns (nginx keeps a tree too)."""

    __slots__ = ("_root",)

    def __init__(self, locations: list[LocationConfig]) -> None:
        root = _PrefixNode()
        for loc in locations:
            node = root
            for char in loc.pattern:
                edge = node.edges.get(char)
                if edge is None:
                    child = _PrefixNode()
                    node.edges[char] = (char, child)
                    node = child
                else:
                    node = edge[1]
            if node.location is None:  # of two equal patterns the first in file order wins
                node.location = loc
        _compress(root)
        self._root = root

    def longest(self, path: str) -> LocationConfig | None:
        """The location whose pattern is the longest prefix of ``path``, or None."""
        node = self._root
        found = node.location
        end = len(path)
        i = 0
        while i < end:
            edge = node.edges.get(path[i])
            if edge is None:
                break
            label, node = edge
            if not path.startswith(label, i):
                break
            i += len(label)
            if node.location is not None:
                found = node.location
        return found


def _compress(node: _PrefixNode) -> None:
    """Merge each chain of single-child nodes that hold no location into one edge."""
    for first, (label, child) in list(node.edges.items()):
        while child.location is None and len(child.edges) == 1:
            ((more, child),) = child.edges.values()
            label += more
        node.edges[first] = (label, child)
        _compress(child)


class _Level:
    """The locations declared side by side in one block, precomputed for matching."""

    __slots__ = ("exact", "prefixes", "regexes", "children")

    def __init__(self, locations: list[LocationConfig]) -> None:
        self.exact: dict[str, LocationConfig] = {}
        prefixes: list[LocationConfig] = []
        self.regexes: list[LocationConfig] = []
        self.children: dict[int, _Level] = {}
        for loc in locations:
            if loc.modifier == "=":
                self.exact.setdefault(loc.pattern, loc)
            elif loc.modifier in ("", "^~"):
                prefixes.append(loc)
            elif loc.regex is not None:
                self.regexes.append(loc)
            if loc.children:
                self.children[id(loc)] = _Level(loc.children)
        self.prefixes = PrefixTree(prefixes)

    def find(self, path: str) -> tuple[LocationConfig | None, bool, re.Match[str] | None]:
        """(location or None, final, regex match): final means outer regexes must not be
        tried; the match is the last location regex that matched on the way (nginx's
        captures), None when no regex did."""
        loc = self.exact.get(path)
        if loc is not None:
            return loc, True, None
        found = self.prefixes.longest(path)
        noregex = False
        matched: re.Match[str] | None = None
        if found is not None:
            noregex = found.modifier == "^~"
            nested = self.children.get(id(found))
            if nested is not None:
                inner, final, matched = nested.find(path)
                if final:
                    return inner, True, matched
                if inner is not None:
                    found = inner
        if not noregex:
            for loc in self.regexes:
                hit = loc.regex.search(path) if loc.regex is not None else None
                if hit is not None:
                    nested = self.children.get(id(loc))
                    if nested is not None:
                        inner, _, inner_hit = nested.find(path)
                        if inner is not None:
                            return inner, True, inner_hit or hit
                    return loc, True, hit
        return found, False, matched


class LocationMatcher:
    """Finds the ``LocationConfig`` for a normalised path within one server."""

    def __init__(self, server_config: ServerConfig) -> None:
        self._context = server_config.context
        self._top = _Level(server_config.locations)
        self._remembered = bounded_memo(MEMO_ENTRIES)(self._find)
        # one shared (location, None) per location: a memo entry costs its key, not a tuple
        self._plain: dict[int, _Found] = {}
        # "/dir/" prefixes, for the 301 of "/dir" (see redirect_for_missing_slash)
        self._slash_prefixes: set[str] = set()
        self._exact_patterns: set[str] = set()
        stack = list(server_config.locations)
        while stack:
            loc = stack.pop()
            stack.extend(loc.children)
            if loc.modifier in ("", "^~") and len(loc.pattern) > 1 and loc.pattern[-1] == "/":
                self._slash_prefixes.add(loc.pattern)
            elif loc.modifier == "=":
                self._exact_patterns.add(loc.pattern)

    def match(self, path: str) -> LocationConfig:
        """The location for ``path`` (the server context when nothing matches)."""
        return self.lookup(path)[0]

    def lookup(self, path: str) -> _Found:
        """``(location, captures)`` for ``path``: the captures (``"0"``, ``"1"``...,
        named groups) of the location regex that chose it, None when no regex matched.
        The captures dict is shared between requests: copy it before changing it."""
        if len(path) <= MEMO_PATH_MAX:
            return self._remembered(path)
        return self._find(path)

    def _find(self, path: str) -> _Found:
        loc, _, hit = self._top.find(path)
        if loc is None:
            loc = self._context
        if hit is not None:
            return loc, captures_of(hit)
        found = self._plain.get(id(loc))
        if found is None:
            found = self._plain[id(loc)] = (loc, None)
        return found

    def redirect_for_missing_slash(self, path: str) -> str | None:
        """``path + "/"`` when that is a prefix location's pattern (``/dir`` for
        ``location /dir/``) and no ``=`` location claims ``path``; else None."""
        if path[-1:] == "/" or path in self._exact_patterns:
            return None
        candidate = path + "/"
        return candidate if candidate in self._slash_prefixes else None


# One matcher (and so one memo) per live ServerConfig, dropped when the config is: a reload
# builds new ServerConfig objects, and the old ones' memos must not outlive them.
_matchers: dict[int, LocationMatcher] = {}


def matcher_for(server_config: ServerConfig) -> LocationMatcher:
    """The ``LocationMatcher`` of ``server_config``, built on first use and shared by every
    caller (the router, handlers) for as long as the config object lives."""
    matcher = _matchers.get(id(server_config))
    if matcher is None:
        key = id(server_config)
        matcher = _matchers[key] = LocationMatcher(server_config)
        weakref.finalize(server_config, _matchers.pop, key, None)
    return matcher
