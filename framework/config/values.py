"""Value parsers for directive arguments: sizes, times, ports, status codes, flags, listen
addresses, regexes. Each raises ``ValueProblem`` with a message users can search for."""

from __future__ import annotations

import ipaddress
import re

from config_grammar.tree import Arg, Span


class ValueProblem(Exception):
    """A directive argument is invalid. Carries the rule ID, the span and a hint."""

    def __init__(
        self, rule: str, message: str, span: Span | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.span = span
        self.hint = hint


_SIZE = re.compile(r"(\d+)([kKmMgG]?)")
_SIZE_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_TIME = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?")
_TIME_FACTORS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"}
)
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


def parse_size(arg: Arg, directive: str) -> int:
    """``10``, ``8k``, ``1m``, ``2g`` (case-insensitive) -> bytes."""
    m = _SIZE.fullmatch(arg.value)
    if m is None:
        raise ValueProblem(
            "invalid-size",
            f'invalid size "{arg.value}" in "{directive}" directive',
            arg.span,
            "a size is a whole number of bytes, optionally with k, m or g (e.g. 512k, 10m)",
        )
    return int(m.group(1)) * _SIZE_FACTORS[m.group(2).lower()]


def parse_time(arg: Arg, directive: str) -> float:
    """``500ms``, ``30s``, ``5m``, ``1h``, ``1d``; a bare number is seconds -> seconds."""
    m = _TIME.fullmatch(arg.value)
    if m is None:
        raise ValueProblem(
            "invalid-time",
            f'invalid time "{arg.value}" in "{directive}" directive',
            arg.span,
            "a time is a number with ms, s, m or h (e.g. 500ms, 30s, 5m); bare = seconds",
        )
    return float(m.group(1)) * _TIME_FACTORS[m.group(2)]


def parse_int(arg: Arg, directive: str, *, minimum: int = 0) -> int:
    if not arg.value.isdigit() or int(arg.value) < minimum:
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{arg.value}" in "{directive}" directive',
            arg.span,
            f"expected a whole number >= {minimum}",
        )
    return int(arg.value)


def parse_flag(arg: Arg, directive: str) -> bool:
    if arg.value not in ("on", "off"):
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{arg.value}" in "{directive}" directive, it must be "on" or "off"',
            arg.span,
        )
    return arg.value == "on"


def parse_choice(arg: Arg, directive: str, choices: tuple[str, ...]) -> str:
    if arg.value not in choices:
        listed = ", ".join(f'"{c}"' for c in choices)
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{arg.value}" in "{directive}" directive, it must be one of {listed}',
            arg.span,
        )
    return arg.value


def parse_status(arg: Arg, directive: str, low: int = 100, high: int = 599) -> int:
    if not (arg.value.isdigit() and len(arg.value) == 3 and low <= int(arg.value) <= high):
        raise ValueProblem(
            "invalid-status",
            f'invalid status code "{arg.value}" in "{directive}" directive',
            arg.span,
            f"a status code here is a number from {low} to {high}",
        )
    return int(arg.value)


def parse_method(arg: Arg, directive: str) -> str:
    method = arg.value.upper()
    if method not in _METHODS:
        raise ValueProblem(
            "invalid-value",
            f'invalid method "{arg.value}" in "{directive}" directive',
            arg.span,
            "known methods: " + " ".join(sorted(_METHODS)),
        )
    return method


def parse_port(text: str, arg: Arg) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueProblem(
            "invalid-port",
            f'invalid port "{text}" in "listen" directive',
            arg.span,
            "a port is a number from 1 to 65535",
        )
    return int(text)


def parse_listen_address(arg: Arg) -> tuple[str, int]:
    """``8080``, ``127.0.0.1:8080``, ``[::]:8080``, ``localhost:8080``, ``*:8080``,
    ``127.0.0.1`` (port 80, as nginx) -> (literal IP, port)."""
    text = arg.value
    if text.isdigit() or text.lstrip("-").isdigit():
        return "0.0.0.0", parse_port(text, arg)
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueProblem(
                "invalid-listen", f'invalid address "{text}" in "listen" directive', arg.span
            )
        port = parse_port(rest[1:], arg) if rest else 80
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = parse_port(port_text, arg)
    elif ":" in text:
        raise ValueProblem(
            "invalid-listen",
            f'invalid address "{text}" in "listen" directive',
            arg.span,
            "write IPv6 addresses in brackets: [::1]:8080",
        )
    else:
        host, port = text, 80
    if host in ("*", ""):
        return "0.0.0.0", port
    if host == "localhost":
        return "127.0.0.1", port
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        raise ValueProblem(
            "invalid-listen",
            f'host not found in "{text}" of the "listen" directive',
            arg.span,
            "use a literal IP address, localhost or *",
        ) from None


_PCRE_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


def compile_regex(arg: Arg, directive: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a PCRE-style regex; ``(?<name>...)`` is accepted as Python's ``(?P<name>...)``."""
    source = _PCRE_NAMED_GROUP.sub("(?P<", arg.value)
    try:
        return re.compile(source, flags)
    except re.error as exc:
        raise ValueProblem(
            "invalid-regex",
            f'invalid regex "{arg.value}" in "{directive}" directive: {exc.msg}',
            arg.span,
            "regexes use Python's re syntax (PCRE-style (?<name>...) groups are accepted)",
        ) from None
