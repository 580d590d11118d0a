"""Lints about which location answers a request (nginx's choice, which webserv copies).

nginx picks a location in three steps: an ``=`` location that matches exactly; else the
longest matching prefix, taken at once when it is ``^~``; else the first regex location, in
file order, that matches, falling back to that longest prefix. So a regex takes URIs from
every plain prefix location in its block, and an earlier regex from every later one.

- ``unreachable-location`` (warning): a location no request can reach. A prefix location
  whose every URI an (any) regex of its block matches; a regex made unreachable by an
  earlier regex that matches everything it matches, or by a ``^~`` prefix; the same regex
  twice; a prefix or exact pattern not starting with "/".
- ``location-partly-shadowed`` (info): some URIs of a prefix location are answered by a
  regex location instead (``/images/`` and ``~* \\.(gif|jpg)$``: ``/images/a.gif`` goes to
  the regex), one finding per pair.

A claim is exact when both patterns are literal text with an optional ``^`` (and a trailing
``.*``); otherwise it rests on sample URIs built from the regexes' literal parts, each
checked with the ``LocationMatcher`` that serves requests, and the message says so.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Directive, Span
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config, LocationConfig, ServerConfig
from framework.routing.locations import LocationMatcher

UNREACHABLE = "unreachable-location"
PARTLY_SHADOWED = "location-partly-shadowed"

_TRIVIAL_TAILS = frozenset({"", ".*", "(.*)", "(?:.*)", ".*?"})
_METACHARS = frozenset(".^$*+?{}[]|()\\")
# tails tried after a prefix: a file, a directory, a query-less path with dots and digits
_TAILS = ("", "x", "index.html", "a/b", "a.gif", "A.PHP", "1", "x/", "-", ".", "..x", "_")


@dataclass(frozen=True)
class Literal:
    """A regex that is plain text: it matches the URIs starting with ``text`` (anchored)
    or containing it; ``complete``: nothing follows but a trailing ``.*``."""

    text: str
    anchored: bool
    complete: bool


@functools.lru_cache(maxsize=4096)
def literal_of(pattern: str) -> Literal:
    """The literal text a regex starts with (after an optional ``^``); a character followed
    by ``*``, ``?`` or ``{`` is optional, so it is left out."""
    if _top_level_bar(pattern):
        return Literal("", False, False)  # an alternative may start anywhere
    anchored = pattern.startswith("^")
    i = 1 if anchored else 0
    out: list[str] = []
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            out.append(pattern[i + 1])
            i += 2
            continue
        if ch in _METACHARS:
            if ch in "*?{" and out:
                out.pop()
                return Literal("".join(out), anchored, False)
            return Literal("".join(out), anchored, pattern[i:] in _TRIVIAL_TAILS)
        out.append(ch)
        i += 1
    return Literal("".join(out), anchored, True)


def _top_level_bar(pattern: str) -> bool:
    """Whether ``pattern`` has a ``|`` outside groups and character classes."""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1  # "[]...]": the first "]" is a member
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False


def _folded(text: str, caseless: bool) -> str:
    return text.lower() if caseless else text


def _covers(first: LocationConfig, text: str, anchored: bool, later_caseless: bool) -> bool:
    """Whether the complete-literal regex ``first`` matches every URI that starts with
    (``anchored``) or contains ``text``, matched case-insensitively if ``later_caseless``."""
    lit = literal_of(first.pattern)
    if not lit.complete:
        return False
    caseless = first.modifier == "~*"
    if later_caseless and not caseless and lit.text.lower() != lit.text.upper():
        return False  # the later regex also takes case variants the earlier one refuses
    have, want = _folded(lit.text, caseless), _folded(text, caseless)
    if lit.anchored:
        return anchored and want.startswith(have)
    return have in want


# -- sample URIs ---------------------------------------------------------------------------

_parser: Any = importlib.import_module("re._parser")


def _expand(items: Any, budget: list[int]) -> list[str]:
    """A few strings that the parsed regex ``items`` matches (best effort)."""
    outs = [""]
    for op, arg in items:
        name = str(op)
        if budget[0] <= 0:
            break
        budget[0] -= 1
        if name == "LITERAL":
            options = [chr(arg)]
        elif name == "ANY":
            options = ["a"]
        elif name == "IN":
            options = _in_options(arg)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            once = _expand(sub, budget) or [""]
            options = [s * n for s in once[:2] for n in (max(low, 1), max(low, 1) + 1)]
            if low == 0:
                options.append("")
        elif name == "SUBPATTERN":
            options = _expand(arg[-1], budget)
        elif name == "BRANCH":
            options = [s for branch in arg[1] for s in _expand(branch, budget)]
        elif name in ("AT", "ASSERT", "ASSERT_NOT", "GROUPREF"):
            continue
        else:
            options = ["a"]
        outs = [o + p for o in outs for p in options[:3]][:24]
    return outs


def _in_options(arg: Any) -> list[str]:
    for op, value in arg:
        name = str(op)
        if name == "LITERAL":
            return [chr(value)]
        if name == "RANGE":
            return [chr(value[0])]
        if name == "CATEGORY":
            return ["1" if "DIGIT" in str(value) else "a"]
    return ["a"]


def regex_samples(loc: LocationConfig) -> list[str]:
    """URIs the regex location ``loc`` matches, built from its pattern."""
    if loc.regex is None:
        return []
    try:
        parsed = _parser.parse(loc.pattern)
        found = _expand(list(parsed), [200])
    except Exception:  # a construct the sampler does not know: no samples
        return []
    if loc.modifier == "~*":  # case variants too: an earlier "~" regex may refuse them
        found += [text.upper() for text in found] + [text.swapcase() for text in found]
    out: list[str] = []
    for text in found:
        for uri in (text, text + "y", text + "/z", "/" + text, "/x/" + text, "/x/a" + text):
            if uri.startswith("/") and loc.regex.search(uri) and uri not in out:
                out.append(uri)
    return out


def sample_tails(regexes: list[LocationConfig]) -> list[str]:
    """What to append to a prefix to get sample URIs under it: fixed tails, and tails
    from the regexes' own samples (so that each regex gets a chance to match)."""
    tails = list(_TAILS)
    for loc in regexes:
        tails += own_tails(loc)
    return list(dict.fromkeys(tails))


def own_tails(loc: LocationConfig) -> list[str]:
    """The tails built from one regex's samples."""
    tails: list[str] = []
    for uri in regex_samples(loc)[:8]:
        last = uri.rsplit("/", 1)[-1]
        tails += ["a" + last, uri.lstrip("/"), last]
    return tails


# -- the rule -----------------------------------------------------------------------------


def check_locations(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``unreachable-location`` and ``location-partly-shadowed`` for every block."""
    for server in model.servers:
        matcher = LocationMatcher(server)
        yield from _in_block(ctx, server, matcher, server.locations)
    yield from _patterns_without_slash(ctx)


def _in_block(
    ctx: LintContext, server: ServerConfig, matcher: LocationMatcher, block: list[LocationConfig]
) -> Iterator[Diagnostic]:
    regexes = [loc for loc in block if loc.modifier in ("~", "~*") and loc.regex is not None]
    prefixes = [loc for loc in block if loc.modifier in ("", "^~")]
    for loc in block:
        yield from _in_block(ctx, server, matcher, loc.children)
    if not regexes:
        return
    tails_of = {id(r): own_tails(r) for r in regexes}
    tails = list(dict.fromkeys([*_TAILS, *(t for r in regexes for t in tails_of[id(r)])]))
    reported: set[int] = set()
    for i, loc in enumerate(regexes):
        found = _unreachable_regex(ctx, matcher, loc, regexes[:i], prefixes)
        if found is not None:
            reported.add(id(loc))
            yield found
    for loc in prefixes:
        if loc.modifier == "^~" or loc.children or not loc.pattern.startswith("/"):
            continue
        live = [r for r in regexes if id(r) not in reported]
        yield from _shadowed_prefix(ctx, matcher, loc, live, tails, tails_of)


def _node_span(ctx: LintContext, loc: LocationConfig) -> tuple[Directive | None, Span | None]:
    node = ctx.by_span.get(loc.span) if loc.span is not None else None
    return node, (node.args[-1].span if node is not None and node.args else loc.span)


def _name(loc: LocationConfig) -> str:
    return f"{loc.modifier} {loc.pattern}".strip()


def _unreachable_regex(
    ctx: LintContext,
    matcher: LocationMatcher,
    loc: LocationConfig,
    earlier: list[LocationConfig],
    prefixes: list[LocationConfig],
) -> Diagnostic | None:
    node, span = _node_span(ctx, loc)
    caseless = loc.modifier == "~*"
    lit = literal_of(loc.pattern)
    for first in earlier:
        if (first.modifier, first.pattern) == (loc.modifier, loc.pattern):
            why = f"the same regex is defined earlier at {first.span}"
            hint = "regexes are tried in file order; remove or merge the duplicate"
            return warn(UNREACHABLE, f'location "{_name(loc)}" can never match: {why}', node,
                        span, hint)  # fmt: skip
    for first in earlier:
        if _covers(first, lit.text, lit.anchored, caseless) and (lit.text or lit.anchored):
            return warn(
                UNREACHABLE,
                f'location "{_name(loc)}" can never match: every URI it matches is taken by '
                f'the earlier "location {_name(first)}" at {first.span}',
                node,
                span,
                "regexes are tried in file order: move the more specific one first",
            )
    if lit.anchored and lit.text:
        for prefix in prefixes:
            if prefix.modifier != "^~" or not lit.text.startswith(prefix.pattern) or caseless:
                continue
            if any(
                p.modifier == "" and p.pattern.startswith(prefix.pattern) and p is not prefix
                for p in prefixes
            ):
                continue  # a longer plain prefix lets regexes run again for some URIs
            return warn(
                UNREACHABLE,
                f'location "{_name(loc)}" can never match: every URI it matches '
                f'is taken by "location ^~ {prefix.pattern}" at {prefix.span}',
                node,
                span,
                '"^~" skips regex locations; nest this regex inside it, or drop the "^~"',
            )
    return _sampled_regex(matcher, loc, earlier, node, span)


def _sampled_regex(
    matcher: LocationMatcher,
    loc: LocationConfig,
    earlier: list[LocationConfig],
    node: Directive | None,
    span: Span | None,
) -> Diagnostic | None:
    if not earlier:
        return None
    samples = regex_samples(loc)
    if len(samples) < 2:
        return None
    takers: list[LocationConfig] = []
    for uri in samples:
        taker = next((r for r in earlier if r.regex is not None and r.regex.search(uri)), None)
        if taker is None or matcher.match(uri) is loc:
            return None
        if taker not in takers:
            takers.append(taker)
    named = " and ".join(f'"location {_name(t)}" at {t.span}' for t in takers)
    return warn(
        UNREACHABLE,
        f'location "{_name(loc)}" looks unreachable: each of {len(samples)} sample URIs '
        f"it matches (e.g. {samples[0]}) is taken by the earlier {named} (sampled, not proven)",
        node,
        span,
        "regexes are tried in file order: move the more specific one first",
    )


def _shadowed_prefix(
    ctx: LintContext,
    matcher: LocationMatcher,
    loc: LocationConfig,
    regexes: list[LocationConfig],
    tails: list[str],
    tails_of: dict[int, list[str]],
) -> Iterator[Diagnostic]:
    node, span = _node_span(ctx, loc)
    hint = f'write "location ^~ {loc.pattern}" to win over regexes, or narrow the regex'
    for regex in regexes:
        if _covers(regex, loc.pattern, True, False):
            yield warn(
                UNREACHABLE,
                f'location "{loc.pattern}" is never used: the regex "location {_name(regex)}" '
                f"at {regex.span} matches every URI it does, and regexes are checked before "
                "prefix locations",
                node,
                span,
                hint,
            )
            return
    samples = [loc.pattern + tail for tail in tails]
    takers: list[LocationConfig] = []
    for uri in samples:
        target = matcher.match(uri)
        if not _in(regexes, target):
            break  # this location (or another one) answers it: not shadowed
        if not _in(takers, target):
            takers.append(target)
    else:
        named = " and ".join(f'"location {_name(t)}" at {t.span}' for t in takers)
        yield warn(
            UNREACHABLE,
            f'location "{loc.pattern}" looks unused: each of {len(samples)} sample URIs '
            f"under it (e.g. {samples[0]}) is answered by {named} (sampled, not proven)",
            node,
            span,
            hint,
        )
        return
    if loc.pattern == "/":
        return  # "/" is the catch-all that regexes carve up on purpose
    for regex in regexes:
        assert regex.regex is not None
        # the fixed tails and this regex's own: a constant number of URIs per pair (all the
        # block's tails made this cubic in the size of a block)
        own = dict.fromkeys(loc.pattern + t for t in (*_TAILS, *tails_of.get(id(regex), ())))
        stolen = next((u for u in own if regex.regex.search(u) and matcher.match(u) is regex), None)
        if stolen is not None:
            yield warn(
                PARTLY_SHADOWED,
                f'some URIs under "{loc.pattern}" are answered by "location {_name(regex)}" '
                f"at {regex.span}, not by this location (e.g. {stolen})",
                node,
                span,
                "regex locations are checked before prefix locations; if those URIs belong "
                f'here, nest the regex inside this location or write "location ^~ '
                f'{loc.pattern}"',
                severity="info",
            )


def _in(locs: list[LocationConfig], loc: LocationConfig) -> bool:
    return any(x is loc for x in locs)


def _patterns_without_slash(ctx: LintContext) -> Iterator[Diagnostic]:
    """A prefix or exact pattern not starting with "/" never matches: request paths do."""
    for _server, loc in ctx.scopes():
        if loc.modifier not in ("", "^~", "=") or not loc.pattern or loc.pattern[0] == "/":
            continue
        node, span = _node_span(ctx, loc)
        yield warn(
            UNREACHABLE,
            f'location "{_name(loc)}" can never match: request paths start with "/"',
            node,
            span,
            f'write "/{loc.pattern}"',
        )


RULES: list[LintRule] = [
    LintRule(
        UNREACHABLE,
        "a location that can never match (location-partly-shadowed: some of its URIs go to "
        "a regex location, info)",
        check_locations,
    ),
]
