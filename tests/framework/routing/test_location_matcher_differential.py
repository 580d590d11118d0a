"""LocationMatcher against the linear algorithm it replaced, on random location trees.

The oracle below is the matcher as it was before the prefix tree: every prefix of a level
tried longest first with ``str.startswith``. The generated trees draw their patterns from a
tiny alphabet so that prefixes share stems, repeat, nest and collide with ``=`` and regex
locations; the paths are drawn from the same alphabet plus the patterns themselves.
"""

from __future__ import annotations

import random
import re

import pytest

from framework.config.models import LocationConfig, ServerConfig
from framework.http.variables import captures_of
from framework.routing import locations
from framework.routing.locations import LocationMatcher, PrefixTree

_ALPHABET = "/ab.x"
_REGEXES = [
    r"\.x$",
    r"^/a",
    r"/(b+)/",
    r"(?P<stem>a)b",
    r"x(\.)?$",
    r"^/(a|b)/(?P<rest>.*)",
    r"bb",
    r"^/$",
]


class _OracleLevel:
    """The pre-tree matcher of one nesting level (kept here as the reference only)."""

    def __init__(self, locations: list[LocationConfig]) -> None:
        self.exact: dict[str, LocationConfig] = {}
        prefixes: list[LocationConfig] = []
        self.regexes: list[LocationConfig] = []
        self.children: dict[int, _OracleLevel] = {}
        for loc in locations:
            if loc.modifier == "=":
                self.exact.setdefault(loc.pattern, loc)
            elif loc.modifier in ("", "^~"):
                prefixes.append(loc)
            elif loc.regex is not None:
                self.regexes.append(loc)
            if loc.children:
                self.children[id(loc)] = _OracleLevel(loc.children)
        self.prefixes = sorted(prefixes, key=lambda loc: -len(loc.pattern))

    def find(self, path: str) -> tuple[LocationConfig | None, bool, re.Match[str] | None]:
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


def _oracle(server: ServerConfig, path: str) -> tuple[LocationConfig, dict[str, str] | None]:
    loc, _, hit = _OracleLevel(server.locations).find(path)
    return (loc if loc is not None else server.context), (
        captures_of(hit) if hit is not None else None
    )


def _word(rng: random.Random, longest: int) -> str:
    return "/" + "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, longest)))


def _location(rng: random.Random, depth: int, stem: str) -> LocationConfig:
    kind = rng.choices(["", "^~", "=", "~", "~*"], weights=[6, 2, 2, 2, 1])[0]
    children: list[LocationConfig] = []
    if kind in ("~", "~*"):
        pattern = rng.choice(_REGEXES)
        compiled = re.compile(pattern, re.IGNORECASE if kind == "~*" else 0)
        if depth < 2 and rng.random() < 0.3:
            children = _block(rng, depth + 1, "/")
        return LocationConfig(modifier=kind, pattern=pattern, regex=compiled, children=children)
    # nested prefixes mostly extend their parent's pattern, as real configs do
    pattern = stem + _word(rng, 4)[1:] if rng.random() < 0.8 else _word(rng, 5)
    if kind != "=" and depth < 2 and rng.random() < 0.3:
        children = _block(rng, depth + 1, pattern)
    return LocationConfig(modifier=kind, pattern=pattern, children=children)


def _block(rng: random.Random, depth: int, stem: str) -> list[LocationConfig]:
    return [_location(rng, depth, stem) for _ in range(rng.randint(1, 12 if depth == 0 else 5))]


def _all_patterns(locations: list[LocationConfig]) -> list[str]:
    out: list[str] = []
    for loc in locations:
        if loc.regex is None:
            out.append(loc.pattern)
        out.extend(_all_patterns(loc.children))
    return out


@pytest.mark.parametrize("seed", range(300))
def test_matcher_agrees_with_the_linear_oracle_on_random_location_trees(seed: int) -> None:
    rng = random.Random(seed)
    server = ServerConfig(locations=_block(rng, 0, "/"))
    matcher = LocationMatcher(server)
    patterns = _all_patterns(server.locations)
    paths = {_word(rng, 8) for _ in range(60)}
    for pattern in patterns:  # the patterns themselves, one short and one longer
        paths.update((pattern, pattern[:-1] or "/", pattern + rng.choice(_ALPHABET)))
    for path in sorted(paths):
        expected = _oracle(server, path)
        got = matcher.lookup(path)
        assert got[0] is expected[0], (path, got[0].pattern, expected[0].pattern)
        assert got[1] == expected[1], path
        assert matcher.lookup(path) == got  # the memoised answer is the same


@pytest.mark.parametrize("seed", range(50))
def test_prefix_tree_finds_the_longest_matching_pattern(seed: int) -> None:
    rng = random.Random(seed)
    locations = [
        LocationConfig(modifier="", pattern=_word(rng, 6)) for _ in range(rng.randint(1, 200))
    ]
    tree = PrefixTree(locations)
    for _ in range(200):
        path = _word(rng, 10)
        matching = [loc for loc in locations if path.startswith(loc.pattern)]
        longest = max((len(loc.pattern) for loc in matching), default=-1)
        first = next((loc for loc in matching if len(loc.pattern) == longest), None)
        assert tree.longest(path) is first, path


def test_prefix_tree_of_no_patterns_finds_nothing() -> None:
    assert PrefixTree([]).longest("/a") is None


def test_an_empty_prefix_pattern_matches_every_path() -> None:
    anything = LocationConfig(modifier="", pattern="")
    a = LocationConfig(modifier="", pattern="/a")
    tree = PrefixTree([anything, a])
    assert tree.longest("/b") is anything
    assert tree.longest("") is anything
    assert tree.longest("/ab") is a


def _routed(
    monkeypatch: pytest.MonkeyPatch, memo_entries: int
) -> tuple[LocationMatcher, list[str]]:
    """A matcher with a small memo, and the list of the paths it routes without it."""
    monkeypatch.setattr(locations, "MEMO_ENTRIES", memo_entries)
    seen: list[str] = []
    level_find = locations._Level.find

    def find(self: object, path: str) -> object:
        seen.append(path)
        return level_find(self, path)  # type: ignore[arg-type]

    monkeypatch.setattr(locations._Level, "find", find)
    top = LocationConfig(modifier="", pattern="/")
    return LocationMatcher(ServerConfig(locations=[top])), seen


def test_the_memo_drops_the_least_recently_used_path_not_all_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher, seen = _routed(monkeypatch, 3)
    for path in ("/1", "/2", "/3", "/1", "/4"):  # "/1" refreshed: "/4" evicts "/2"
        matcher.lookup(path)
    assert seen == ["/1", "/2", "/3", "/4"]
    seen.clear()
    for path in ("/1", "/3", "/4", "/2"):
        matcher.lookup(path)
    assert seen == ["/2"]


def test_paths_longer_than_the_memo_bound_are_routed_but_not_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher, seen = _routed(monkeypatch, 16)
    long_path = "/" + "a" * 1000
    assert matcher.match(long_path).pattern == "/"
    assert matcher.match(long_path).pattern == "/"
    assert seen == [long_path, long_path]
