"""Lints for access control: ``auth_basic`` that protects nothing, htpasswd files webserv
cannot use (missing, unreadable, hash types it cannot check: reported at the file's line
with the user name), and ``allow``/``deny`` rules that can never match or whose CIDR has
host bits set (nginx: "low address bits of ... are meaningless")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Comment, Directive, Span
from framework.config.directives_access import AccessRule, has_host_bits, parse_rule
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config, LocationConfig, ServerConfig
from framework.config.values import ValueProblem
from framework.htpasswd import (
    SCHEME_NAMES,
    UserFileError,
    parse_htpasswd,
    read_user_file,
    unsupported_reason,
)

# above these, one check blocks the worker for a long time (measured: bcrypt cost 10 ~90 ms)
SLOW_BCRYPT_COST = 10
SLOW_SHA_CRYPT_ROUNDS = 100_000
_BCRYPT_COST = re.compile(r"\$2[aby]\$([0-9]{2})\$")
_SHA_ROUNDS = re.compile(r"\$[56]\$rounds=([0-9]+)\$")


def check_auth_without_user_file(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``auth_basic "realm"`` where no ``auth_basic_user_file`` applies: nginx then serves
    the location unprotected, silently; webserv refuses the config."""
    reported: set[Span] = set()
    for server, loc in ctx.scopes():
        if loc.auth_basic is None or loc.auth_basic_user_file is not None:
            continue
        if loc is server.context and _has_catch_all(server):
            continue  # no request is answered with the server's own settings
        d = ctx.written(server, loc, ("auth_basic",))
        if d is None or d.span in reported:
            continue
        reported.add(d.span)
        yield warn(
            "auth-basic-without-user-file",
            f'"auth_basic" is on but no "auth_basic_user_file" applies: nginx would serve '
            f"this {'location' if loc.span is not None else 'server'} without asking "
            "for a password",
            d,
            d.args[0].span,
            "add `auth_basic_user_file FILE;` here or at an enclosing level",
            severity="error",
        )


def _has_catch_all(server: ServerConfig) -> bool:
    return any(loc.modifier in ("", "^~") and loc.pattern == "/" for loc in server.locations)


def _user_files(ctx: LintContext) -> Iterator[tuple[Path, Directive]]:
    """Each htpasswd file some protected location reads, once, with the directive that
    names it."""
    seen: set[Path] = set()
    for server, loc in ctx.scopes():
        path = loc.auth_basic_user_file
        if loc.auth_basic is None or path is None or path in seen:
            continue
        d = ctx.written(server, loc, ("auth_basic_user_file",))
        if d is None:
            continue
        seen.add(path)
        yield path, d


def check_user_files(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """The htpasswd files: readable, with users, every hash of a type webserv checks."""
    for path, d in _user_files(ctx):
        try:
            data, _ = read_user_file(path)
        except UserFileError as exc:
            answer = "403" if exc.status == 403 else "500"
            yield warn(
                "htpasswd-unreadable",
                f"cannot read the user file: {exc.message}",
                d,
                d.args[0].span,
                f"every request to the protected locations would get {answer}; "
                "create the file (htpasswd -c -B FILE USER) or fix the path or permissions",
                severity="error",
            )
            continue
        yield from _check_entries(path, data, d)


def _check_entries(path: Path, data: bytes, d: Directive) -> Iterator[Diagnostic]:
    entries, duplicates = parse_htpasswd(data)
    where = f"(auth_basic_user_file at {d.span})"
    if not entries:
        yield warn(
            "htpasswd-no-users",
            f'the user file "{path}" has no user:hash lines: every request gets 401',
            d,
            d.args[0].span,
            "add users with `htpasswd -B FILE USER`",
        )
    for user, entry in entries.items():
        name = user.decode("utf-8", "backslashreplace")
        span = Span(str(path), entry.line, 1, entry.line, len(user) + 1)
        if entry.scheme is None:
            yield Diagnostic(
                "error",
                "htpasswd-unsupported-hash",
                f'user "{name}": {unsupported_reason(entry.hashed)}, so webserv cannot '
                "check this password",
                span,
                f"re-create the entry with bcrypt: `htpasswd -B {path} {name}` {where}",
            )
            continue
        slow = _slowness(entry.hashed)
        if slow is not None:
            yield Diagnostic(
                "warning",
                "htpasswd-slow-hash",
                f'user "{name}": {SCHEME_NAMES[entry.scheme]} with {slow}: each check of '
                "a new password blocks the worker for a long time",
                span,
                "hashes are checked on the event loop (bcrypt cost 10: ~90 ms, SHA-512 crypt "
                "at 5000 rounds: ~9 ms); re-create it with `htpasswd -B -C 10` or fewer "
                f"rounds {where}",
            )
    for dup in duplicates:
        name = dup.user.decode("utf-8", "backslashreplace")
        yield Diagnostic(
            "warning",
            "htpasswd-duplicate-user",
            f'user "{name}" is defined again: only the line {dup.first} entry is used',
            Span(str(path), dup.line, 1, dup.line, len(dup.user) + 1),
            f"remove one of the two lines {where}",
        )


def check_user_file_served(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """A user file inside a served directory: anyone could download the hashes."""
    from framework.http.errors import HTTPError
    from framework.routing.locations import LocationMatcher
    from framework.routing.paths import map_path

    for path, d in _user_files(ctx):
        real = ctx.real(path)
        for server in ctx.config.servers:
            uri = _served_uri(ctx, server, real)
            if uri is None:
                continue
            target = LocationMatcher(server).match(uri)
            if target.return_ is not None or target.handlers or _denies_all(target):
                continue
            try:
                if ctx.real(map_path(target, uri)) != real:
                    continue
            except HTTPError:
                continue
            yield warn(
                "htpasswd-served",
                f'the user file "{path}" is served at "{uri}": anyone can download the '
                "password hashes and crack them offline",
                d,
                d.args[0].span,
                f"keep it outside every root, or add `location = {uri} {{ deny all; }}`",
            )
            break


def _served_uri(ctx: LintContext, server: ServerConfig, real: Path) -> str | None:
    """A URI of ``server`` whose root or alias maps to the file ``real``, if any."""
    for _server, loc in ctx.scopes():
        if _server is not server:
            continue
        if loc.alias is not None:
            if loc.modifier not in ("", "^~") or not loc.pattern.startswith("/"):
                continue
            base, prefix = ctx.real(loc.alias), loc.pattern.rstrip("/") + "/"
        else:
            base, prefix = ctx.real(loc.root), "/"
        if real.is_relative_to(base) and real != base:
            return prefix + real.relative_to(base).as_posix()
    return None


def _denies_all(loc: LocationConfig) -> bool:
    rules = loc.access_rules
    return bool(rules) and rules[0].kind == "all" and not rules[0].allow


def _slowness(hashed: str) -> str | None:
    cost = _BCRYPT_COST.match(hashed)
    if cost is not None and int(cost.group(1)) > SLOW_BCRYPT_COST:
        return f"cost {int(cost.group(1))}"
    rounds = _SHA_ROUNDS.match(hashed)
    if rounds is not None and int(rounds.group(1)) > SLOW_SHA_CRYPT_ROUNDS:
        return f"{int(rounds.group(1))} rounds"
    return None


def _rule_blocks(nodes: list[Directive | Comment]) -> Iterator[list[Directive]]:
    """The ``allow``/``deny`` directives of each block, in file order."""
    stack: list[list[Directive | Comment]] = [nodes]
    while stack:
        children = stack.pop()
        rules = [n for n in children if isinstance(n, Directive) and n.name in ("allow", "deny")]
        if rules:
            yield rules
        for n in children:
            if isinstance(n, Directive) and n.children:
                stack.append(list(n.children))


def _covers(earlier: AccessRule, later: AccessRule) -> bool:
    """Whether every client ``later`` matches is matched by ``earlier`` first."""
    if earlier.kind == "all":
        return True
    if earlier.kind == "unix" or later.kind == "unix":
        return earlier.kind == later.kind
    if later.kind == "all" or earlier.network is None or later.network is None:
        return False
    if earlier.network.version != later.network.version:
        return False
    return later.network.subnet_of(earlier.network)  # type: ignore[arg-type]


def check_access_rules(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """Rules that can never match (after ``all``, or inside an earlier rule's network) and
    CIDRs with host bits set."""
    for block in _rule_blocks(ctx.nodes):
        seen: list[tuple[AccessRule, Directive]] = []
        for d in block:
            if not ctx.valid(d):
                continue
            try:
                rule = parse_rule(d)
            except ValueProblem:
                continue
            if has_host_bits(rule):
                assert rule.network is not None
                yield warn(
                    "access-rule-host-bits",
                    f"low address bits of {rule.text} are meaningless: the rule matches "
                    f"{rule.network}",
                    d,
                    d.args[0].span,
                    f"write `{d.name} {rule.network};` (or a single address without /)",
                )
            shadow = next(((r, n) for r, n in seen if _covers(r, rule)), None)
            if shadow is not None:
                first, node = shadow
                yield warn(
                    "access-rule-unreachable",
                    f'"{d.name} {rule.text}" can never match: "{node.name} {first.text}" '
                    f"at {node.span} matches those clients first",
                    d,
                    d.args[0].span,
                    "rules are tried in order and the first match wins: move the narrower "
                    "rule first, or remove it",
                )
            seen.append((rule, d))


RULES: list[LintRule] = [
    LintRule(
        "auth-basic-without-user-file",
        "auth_basic on with no auth_basic_user_file (nginx leaves it unprotected; error)",
        check_auth_without_user_file,
        severity="error",
    ),
    LintRule(
        "htpasswd-unreadable",
        "htpasswd file missing or unreadable, hash types webserv cannot check (errors), "
        "slow hashes, duplicate users",
        check_user_files,
        True,
        severity="error",
    ),
    LintRule(
        "htpasswd-served",
        "an htpasswd file that a location serves (the hashes can be downloaded)",
        check_user_file_served,
    ),
    LintRule(
        "access-rule-unreachable",
        "allow/deny that can never match, or a CIDR with host bits set",
        check_access_rules,
    ),
]
