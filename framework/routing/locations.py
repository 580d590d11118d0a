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

from framework.config.models import LocationConfig, ServerConfig
from framework.http.variables import captures_of

_MEMO_MAX = 4096


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
        # longest first; a stable sort keeps file order between equal patterns
        self.prefixes = sorted(prefixes, key=lambda loc: -len(loc.pattern))

    def find(self, path: str) -> tuple[LocationConfig | None, bool, re.Match[str] | None]:
        """(location or None, final, regex match): final means outer regexes must not be
        tried; the match is the last location regex that matched on the way (nginx's
        captures), None when no regex did."""
        loc = self.exact.get(path)
        if loc is not None:
            return loc, True, None
        found: LocationConfig | None = None
        noregex = False
        matched: re.Match[str] | None = None
        for prefix in self.prefixes:
            if path.startswith(prefix.pattern):
                found = prefix
                noregex = prefix.modifier == "^~"
                nested = self.children.get(id(prefix))
                if nested is not None:
                    inner, final, matched = nested.find(path)
                    if final:
                        return inner, True, matched
                    if inner is not None:
                        found = inner
                break
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
        self._memo: dict[str, tuple[LocationConfig, dict[str, str] | None]] = {}
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
        found = self._memo.get(path)
        if found is None:
            found = self._find(path)
        return found[0]

    def lookup(self, path: str) -> tuple[LocationConfig, dict[str, str] | None]:
        """``(location, captures)`` for ``path``: the captures (``"0"``, ``"1"``...,
        named groups) of the location regex that chose it, None when no regex matched.
        The captures dict is shared between requests: copy it before changing it."""
        found = self._memo.get(path)
        if found is None:
            found = self._find(path)
        return found

    def _find(self, path: str) -> tuple[LocationConfig, dict[str, str] | None]:
        loc, _, hit = self._top.find(path)
        found = (
            loc if loc is not None else self._context,
            captures_of(hit) if hit is not None else None,
        )
        if len(self._memo) >= _MEMO_MAX:
            self._memo.clear()
        self._memo[path] = found
        return found

    def redirect_for_missing_slash(self, path: str) -> str | None:
        """``path + "/"`` when that is a prefix location's pattern (``/dir`` for
        ``location /dir/``) and no ``=`` location claims ``path``; else None."""
        if path[-1:] == "/" or path in self._exact_patterns:
            return None
        candidate = path + "/"
        return candidate if candidate in self._slash_prefixes else None


_matchers: dict[int, tuple[ServerConfig, LocationMatcher]] = {}


def matcher_for(server_config: ServerConfig) -> LocationMatcher:
    """A cached ``LocationMatcher`` for ``server_config`` (built once per config object)."""
    entry = _matchers.get(id(server_config))
    if entry is not None and entry[0] is server_config:
        return entry[1]
    matcher = LocationMatcher(server_config)
    if len(_matchers) > 256:
        _matchers.clear()
    _matchers[id(server_config)] = (server_config, matcher)
    return matcher
