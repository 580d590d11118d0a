"""Lints about which location answers a request (nginx's choice, which webserv copies).

nginx picks a location in three steps: an ``=`` location that matches exactly; else the
longest matching prefix, taken at once when it is ``^~``; else the first regex location, in
file order, that matches, falling back to that longest prefix. So a regex takes URIs from
every plain prefix location in its block, and an earlier regex from every later one.

- ``unreachable-location`` (warning): a location no request can reach. A prefix location
  whose every URI an (any) regex of its block matches; a regex made unreachable by an
  earlier regex that matches everything it matches, or by a ``^~`` prefix; the same regex
  twice; a prefix or exact pattern not starting with "/".
- ``location-partly-shadowed`` (info): some URIs of prefix locations are answered by a
  regex location instead (``/images/`` and ``~* \\.(gif|jpg)$``: ``/images/a.gif`` goes to
  the regex), one finding per regex, naming the prefixes, with an example URI that can be
  sent as written. A regex location that only refuses (``deny all``, ``return 403``) is
  meant to cut into every prefix and is left out, and so is ``location /``.

A claim is proven when the covering regex stands for a finite set of texts (literals,
alternatives, small classes, bounded repeats, optional ``^``/``$``: ``exact_shapes``) and
a run of the covered pattern lies inside it (``loose_shapes``); otherwise it rests on sample
URIs holding every alternative and class member of the regex (bounded), each checked with
the ``LocationMatcher`` that serves requests: such a claim is only ever an info finding, and
the message says "sampled, not proven".
"""

from __future__ import annotations

import functools
import importlib
import re
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


# -- exact claims: a regex as (anchors, finite set of words) ------------------------------

_MAX_WORDS = 256  # words a pattern may stand for before it counts as not enumerable
_MAX_CLASS = 64  # characters a class may hold
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


@dataclass(frozen=True)
class Shape:
    """The URIs ``X + w + Y`` for each ``w`` in ``words``, where ``X`` is empty when
    ``start`` (else any text) and ``Y`` is empty when ``end`` (else any text)."""

    start: bool
    words: frozenset[str]
    end: bool


@functools.lru_cache(maxsize=4096)
def _parse(pattern: str, flags: int) -> tuple[list[Any], bool] | None:
    """The parsed items of a compiled regex and whether it ignores case; None if the
    parser fails."""
    try:
        parsed = _parser.parse(pattern, flags)
    except Exception:  # a construct the parser of this Python does not take
        return None
    return list(parsed), bool(parsed.state.flags & re.IGNORECASE)


def _branches(items: list[Any]) -> list[list[Any]]:
    """A top-level alternation as its branches, else the pattern as one branch."""
    if len(items) == 1 and str(items[0][0]) == "BRANCH":
        return [list(b) for b in items[0][1][1]]
    return [items]


def _at(item: Any, where: str) -> bool:
    return str(item[0]) == "AT" and str(item[1]) == where


def _is_dotstar(item: Any) -> bool:
    if str(item[0]) not in _REPEATS:
        return False
    low, high, sub = item[1]
    return low == 0 and high == _parser.MAXREPEAT and [str(op) for op, _ in sub] == ["ANY"]


def _anchors(items: list[Any]) -> tuple[bool, list[Any], bool]:
    start = bool(items) and _at(items[0], "AT_BEGINNING")
    body = items[1:] if start else items
    end = bool(body) and _at(body[-1], "AT_END")
    return start, body[:-1] if end else body, end


def _product(left: set[str], right: set[str]) -> set[str] | None:
    if len(left) * len(right) > _MAX_WORDS:
        return None
    return {a + b for a in left for b in right}


def _words(items: list[Any], loose: bool) -> set[str] | None:
    """Every string the parsed ``items`` match, or None when they are not a small finite
    set. ``loose``: lookarounds are dropped (the set then holds more than they match)."""
    out: set[str] | None = {""}
    for op, arg in items:
        options = _item_words(str(op), arg, loose)
        if options is None or out is None:
            return None
        out = _product(out, options)
    return out


def _item_words(name: str, arg: Any, loose: bool) -> set[str] | None:
    if name == "LITERAL":
        return {chr(arg)}
    if name == "IN":
        members: set[str] = set()
        for op, value in arg:
            if str(op) == "LITERAL":
                members.add(chr(value))
            elif str(op) == "RANGE" and value[1] - value[0] < _MAX_CLASS:
                members.update(chr(c) for c in range(value[0], value[1] + 1))
            else:  # a negated class, \d, \w...: (Unicode) sets too large to list
                return None
        return members if len(members) <= _MAX_CLASS else None
    if name == "BRANCH":
        union: set[str] = set()
        for branch in arg[1]:
            words = _words(branch, loose)
            if words is None:
                return None
            union |= words
        return union if len(union) <= _MAX_WORDS else None
    if name == "SUBPATTERN":
        _group, add_flags, del_flags, sub = arg
        return None if add_flags or del_flags else _words(sub, loose)
    if name in _REPEATS:
        low, high, sub = arg
        once = _words(sub, loose) if high <= 4 else None
        if once is None:
            return None
        out: set[str] = set()
        power: set[str] | None = {""}
        for n in range(high + 1):
            if power is None:
                return None
            if n >= low:
                out |= power
            power = _product(power, once) if n < high else power
        return out if len(out) <= _MAX_WORDS else None
    if name in ("ASSERT", "ASSERT_NOT") and loose:
        return {""}
    return None


def exact_shapes(loc: LocationConfig) -> tuple[list[Shape], bool] | None:
    """The URIs the regex location ``loc`` matches, exactly, as shapes (one per top-level
    alternative), and whether it ignores case; None when the pattern is not that simple."""
    return None if loc.regex is None else _exact(loc.regex.pattern, loc.regex.flags)


@functools.lru_cache(maxsize=4096)
def _exact(pattern: str, flags: int) -> tuple[list[Shape], bool] | None:
    parsed = _parse(pattern, flags)
    if parsed is None:
        return None
    items, caseless = parsed
    shapes: list[Shape] = []
    for branch in _branches(items):
        start, body, end = _anchors(branch)
        if not start and body and _is_dotstar(body[0]):
            body = body[1:]  # ".*x" finds what "x" finds
        if not end and body and _is_dotstar(body[-1]):
            body = body[:-1]
        words = _words(body, loose=False)
        if words is None:
            return None
        shapes.append(Shape(start, frozenset(words), end))
    return shapes, caseless


def loose_shapes(loc: LocationConfig) -> tuple[list[list[Shape]], bool] | None:
    """Shapes holding every URI the regex location ``loc`` matches (and maybe more): for
    each top-level alternative, one shape per run of enumerable parts (any one of them
    holds all of that alternative's URIs); and whether it ignores case."""
    parsed = _parse(loc.regex.pattern, loc.regex.flags) if loc.regex is not None else None
    if parsed is None:
        return None
    items, caseless = parsed
    per_branch: list[list[Shape]] = []
    for branch in _branches(items):
        start, body, end = _anchors(branch)
        runs: list[Shape] = []
        words: set[str] | None = {""}
        first, size = 0, 0
        for i, item in enumerate([*body, None]):
            options = None if item is None else _item_words(str(item[0]), item[1], True)
            grown = None if options is None or words is None else _product(words, options)
            if grown is not None:
                words, size = grown, size + 1
                continue
            if size and words is not None:
                runs.append(Shape(start and first == 0, frozenset(words), end and item is None))
            words, size, first = (options, 1, i) if options is not None else ({""}, 0, i + 1)
        per_branch.append(runs)
    return per_branch, caseless


def _word_covered(w2: str, later: Shape, w1: str, earlier: Shape) -> bool:
    """Whether every URI of ``later`` built from ``w2`` is matched by ``earlier``'s ``w1``."""
    if earlier.start and earlier.end:
        return later.start and later.end and w2 == w1
    if earlier.start:
        return w1 == "" or (later.start and w2.startswith(w1))
    if earlier.end:
        return w1 == "" or (later.end and w2.endswith(w1))
    return w1 in w2


def _covers(first: LocationConfig, later: list[list[Shape]], later_caseless: bool) -> bool:
    """Whether the regex location ``first`` matches every URI of ``later`` (as given by
    ``loose_shapes``), proven from the two patterns."""
    exact = exact_shapes(first)
    if exact is None or not later or not all(later):
        return False
    shapes, caseless = exact

    def fold(w1: str, w2: str) -> tuple[str, str] | None:
        if caseless:
            return w1.lower(), w2.lower()
        if later_caseless and w1.lower() != w1.upper():
            return None  # the later regex also takes case variants the earlier one refuses
        return w1, w2

    def word_ok(w2: str, run: Shape) -> bool:
        for shape in shapes:
            for w1 in shape.words:
                pair = fold(w1, w2)
                if pair is not None and _word_covered(pair[1], run, pair[0], shape):
                    return True
        return False

    return all(any(all(word_ok(w2, run) for w2 in run.words) for run in runs) for runs in later)


def _prefix_shape(loc: LocationConfig) -> list[list[Shape]]:
    return [[Shape(True, frozenset({loc.pattern}), False)]]


# -- sample URIs ---------------------------------------------------------------------------

_parser: Any = importlib.import_module("re._parser")


_SAMPLE_CAP = 64  # strings kept per part of a pattern


def _combine(outs: list[str], options: list[str]) -> list[str]:
    """Each string of ``outs`` followed by each option, or, when that is too many, a list
    in which every string and every option still appears at least once (up to the cap)."""
    if len(outs) * len(options) <= _SAMPLE_CAP:
        return [o + p for o in outs for p in options]
    n = min(max(len(outs), len(options)), _SAMPLE_CAP)
    return [outs[i % len(outs)] + options[i % len(options)] for i in range(n)]


def _expand(items: Any, budget: list[int]) -> list[str]:
    """Strings that the parsed regex ``items`` match (best effort): every alternative and
    every member of a small class appears in one of them."""
    outs = [""]
    for op, arg in items:
        name = str(op)
        if budget[0] <= 0:
            break
        budget[0] -= 1
        if name == "LITERAL":
            options = [chr(arg)]
        elif name == "NOT_LITERAL":
            options = ["b" if arg == ord("a") else "a"]
        elif name == "ANY":
            options = ["a"]
        elif name == "IN":
            options = _in_options(arg)
        elif name in _REPEATS:
            low, high, sub = arg
            once = _expand(sub, budget) or [""]
            counts = [n for n in (max(low, 1), max(low, 1) + 1) if n <= high]
            options = [s * n for n in counts for s in once] + ([""] if low == 0 else [])
        elif name == "SUBPATTERN":
            options = _expand(arg[-1], budget)
        elif name == "BRANCH":
            options = [s for branch in arg[1] for s in _expand(branch, budget)]
        elif name in ("AT", "ASSERT", "ASSERT_NOT", "GROUPREF"):
            continue
        else:
            options = ["a"]
        outs = _combine(outs, list(dict.fromkeys(options)) or [""])
    return outs


_CATEGORY_SAMPLES = {
    "CATEGORY_DIGIT": [str(d) for d in range(10)],
    "CATEGORY_NOT_DIGIT": ["a", "-"],
    "CATEGORY_WORD": ["a", "Z", "0", "_"],
    "CATEGORY_NOT_WORD": ["-", "."],
    "CATEGORY_SPACE": [" "],
    "CATEGORY_NOT_SPACE": ["a", "0"],
}


def _in_options(arg: Any) -> list[str]:
    """The members of a character class (all of them when there are few; a negated class:
    common characters it may take, which the caller filters with the real regex)."""
    out: list[str] = []
    for op, value in arg:
        name = str(op)
        if name == "NEGATE":
            return ["a", "Z", "0", "-", ".", "_", "~"]
        if name == "LITERAL":
            out.append(chr(value))
        elif name == "RANGE":
            low, high = value
            span = range(low, high + 1)
            out += [chr(c) for c in (span if len(span) <= 40 else (low, (low + high) // 2, high))]
        elif name == "CATEGORY":
            out += _CATEGORY_SAMPLES.get(str(value), ["a"])
    return list(dict.fromkeys(out)) or ["a"]


def regex_samples(loc: LocationConfig) -> list[str]:
    """URIs the regex location ``loc`` matches, built from its pattern."""
    if loc.regex is None:
        return []
    return list(_samples(loc.pattern, loc.regex, loc.modifier == "~*"))


@functools.lru_cache(maxsize=4096)
def _samples(pattern: str, regex: re.Pattern[str], caseless: bool) -> tuple[str, ...]:
    try:
        found = _expand(list(_parser.parse(pattern)), [200])
    except Exception:  # a construct the sampler does not know: no samples
        return ()
    if caseless:  # case variants too: an earlier "~" regex may refuse them
        found += [text.upper() for text in found] + [text.swapcase() for text in found]
    out: dict[str, None] = {}
    for text in found:
        for uri in (text, text + "y", text + "/z", "/" + text, "/x/" + text, "/x/a" + text):
            if uri.startswith("/") and regex.search(uri):
                out[uri] = None
    return tuple(out)


def own_tails(loc: LocationConfig) -> list[str]:
    """The tails built from one regex's samples."""
    tails: list[str] = []
    samples = regex_samples(loc)
    for uri in sorted(samples, key=lambda u: not _sendable(u))[:8]:  # sendable ones first
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
    steals: dict[int, list[tuple[LocationConfig, str]]] = {}
    for loc in prefixes:
        if loc.modifier == "^~" or loc.children or not loc.pattern.startswith("/"):
            continue
        live = [r for r in regexes if id(r) not in reported]
        yield from _shadowed_prefix(ctx, matcher, loc, live, tails, tails_of, steals)
    for regex in regexes:
        if id(regex) in steals and not _only_refuses(ctx, regex):
            yield _partly_shadowed(ctx, regex, steals[id(regex)])


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
    later = loose_shapes(loc)
    for first in earlier:
        if later is not None and _covers(first, later[0], later[1]):
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
        severity="info",  # samples prove nothing: never a warning
    )


def _shadowed_prefix(
    ctx: LintContext,
    matcher: LocationMatcher,
    loc: LocationConfig,
    regexes: list[LocationConfig],
    tails: list[str],
    tails_of: dict[int, list[str]],
    steals: dict[int, list[tuple[LocationConfig, str]]],
) -> Iterator[Diagnostic]:
    """``unreachable-location`` for the prefix ``loc`` if every URI under it goes to
    ``regexes``; else each regex that takes some is added to ``steals``."""
    node, span = _node_span(ctx, loc)
    hint = f'write "location ^~ {loc.pattern}" to win over regexes, or narrow the regex'
    for regex in regexes:
        if _covers(regex, _prefix_shape(loc), False):
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
            severity="info",  # samples prove nothing: never a warning
        )
        return
    if loc.pattern == "/":
        return  # "/" is the catch-all that regexes carve up on purpose
    for regex in regexes:
        assert regex.regex is not None
        # the fixed tails and this regex's own: a constant number of URIs per pair (all the
        # block's tails made this cubic in the size of a block)
        own = dict.fromkeys(loc.pattern + t for t in (*tails_of.get(id(regex), ()), *_TAILS))
        stolen = next(
            (
                u
                for u in own
                if regex.regex.search(u) and _sendable(u) and matcher.match(u) is regex
            ),
            None,
        )
        if stolen is not None:
            steals.setdefault(id(regex), []).append((loc, stolen))


# printable ASCII but "#", "?", "%", space and what a client would escape; no ".", ".." or
# empty segment (path normalisation would remove it); a final "." or ".." segment neither
_SENDABLE = re.compile(r"(?:/(?!\.\.?(?:/|\Z))[!$&-.0-;=@-\[\]_a-z~]+)*/?\Z")


def _sendable(uri: str) -> bool:
    """Whether ``uri`` can be typed as it is (curl, a browser) and reaches the server
    unchanged: printable ASCII without ``#``, ``?`` or ``%``, and no ``.``, ``..`` or empty
    segment that path normalisation would remove."""
    return bool(uri) and _SENDABLE.match(uri) is not None


_REFUSALS = frozenset({"deny", "return", "access_log", "log_not_found"})


def _only_refuses(ctx: LintContext, loc: LocationConfig) -> bool:
    """Whether the location only refuses requests (``deny all``; ``return`` with an error
    code): such a regex (h5bp's dotfiles and backup files) is meant to cut into every
    prefix location."""
    node = ctx.by_span.get(loc.span) if loc.span is not None else None
    if node is None or node.block is None:
        return False
    found = [d for d in node.block if isinstance(d, Directive)]
    refuses = False
    for d in found:
        values = [a.value for a in d.args]
        if d.name not in _REFUSALS:
            return False
        if d.name == "deny":
            refuses = refuses or values == ["all"]
            if values != ["all"]:
                return False
        elif d.name == "return":
            if not values or not values[0].isdigit() or int(values[0]) < 400:
                return False
            refuses = True
    return refuses


_LISTED = 4  # prefix locations named in one location-partly-shadowed finding


def _partly_shadowed(
    ctx: LintContext, regex: LocationConfig, stolen: list[tuple[LocationConfig, str]]
) -> Diagnostic:
    node, span = _node_span(ctx, regex)
    names = [f'"{loc.pattern}"' for loc, _ in stolen]
    if len(names) > _LISTED:
        names = [*names[: _LISTED - 1], f"{len(names) - _LISTED + 1} more"]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    first, example = stolen[0]
    where = "location" if len(stolen) == 1 else "locations"
    return warn(
        PARTLY_SHADOWED,
        f'location "{_name(regex)}" takes some URIs from the prefix {where} {listed} '
        f"(e.g. {example})",
        node,
        span,
        "regex locations are checked before prefix locations; if those URIs belong to the "
        f'prefix location, nest the regex inside it or write "location ^~ {first.pattern}"',
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
