"""Value parsers for directive arguments: sizes, times, ports, status codes, flags, listen
addresses, regexes. Each raises ``ValueProblem`` with a message users can search for."""

from __future__ import annotations

import difflib
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


# ASCII digits only: str.isdigit() and \d also accept "²" or "٣", which int() rejects or reads
_DECIMAL = re.compile(r"[0-9]+")
_SIZE = re.compile(r"([0-9]+)([kKmMgG]?)")
_SIZE_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_TIME = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)?")
_TIME_COMPOUND = re.compile(r"(?:[0-9]+(?:ms|s|m|h|d) *)+")
_TIME_PART = re.compile(r"([0-9]+)(ms|s|m|h|d)")
_TIME_FACTORS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_SIZE = 1024**5  # 1 PiB: far above any real limit, far below what off_t can count
MAX_TIME = 365 * 86400.0  # also keeps "9999...9h" from becoming float("inf")
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"}
)
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


def is_decimal(text: str) -> bool:
    """True for a non-empty run of ASCII digits (``str.isdigit`` also accepts "²" and "٣")."""
    return _DECIMAL.fullmatch(text) is not None


_SIZE_TYPO = re.compile(r"(0x[0-9a-f]+|[0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)
_TIME_TYPO = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)", re.IGNORECASE)
_TIME_WORDS = {
    "ms": "ms", "msec": "ms", "msecs": "ms", "millisecond": "ms", "milliseconds": "ms",
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
}  # fmt: skip


def _size_suggestion(text: str) -> str | None:
    """``10mb`` -> ``10m``, ``1.5m`` -> ``1536k``, ``0x10`` -> ``16``, ``1t`` -> ``1024g``."""
    m = _SIZE_TYPO.fullmatch(text)
    if m is None:
        return None
    number, unit = m.group(1).lower(), m.group(2).lower()
    if number.startswith("0x"):
        value = float(int(number, 16))
    else:
        value = float(number)
    value *= {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}[unit]
    if value != int(value):
        return None
    value = int(value)
    for suffix, factor in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if value and value % factor == 0:
            return f"{value // factor}{suffix}"
    return str(value)


def _time_suggestion(text: str) -> str | None:
    """``1min`` -> ``1m``, ``30sec`` -> ``30s``, ``2 hours`` -> ``2h``."""
    m = _TIME_TYPO.fullmatch(text)
    unit = _TIME_WORDS.get(m.group(2).lower()) if m is not None else None
    return f"{m.group(1)}{unit}" if m is not None and unit is not None else None


def joined_unit_suggestion(number: Arg, unit: Arg) -> str | None:
    """``send_timeout 10 s;`` -> ``10s`` (a number and its unit written apart)."""
    text = number.value + unit.value
    if not is_decimal(number.value):
        return None
    if _SIZE.fullmatch(text) or _TIME.fullmatch(text):
        return text
    return _size_suggestion(text) or _time_suggestion(text)


def parse_size(arg: Arg, directive: str) -> int:
    """``10``, ``8k``, ``1m``, ``2g`` (case-insensitive) -> bytes."""
    m = _SIZE.fullmatch(arg.value)
    hint = "a size is a whole number of bytes, optionally with k, m or g (e.g. 512k, 10m)"
    if m is None:
        suggestion = _size_suggestion(arg.value)
        if suggestion is not None and suggestion != arg.value:
            hint = f'did you mean "{suggestion}"? (whole numbers only; the units are k, m and g)'
        raise ValueProblem(
            "invalid-size",
            f'invalid size "{arg.value}" in "{directive}" directive',
            arg.span,
            hint,
        )
    size = int(m.group(1)) * _SIZE_FACTORS[m.group(2).lower()]
    if size > MAX_SIZE:
        raise ValueProblem(
            "invalid-size",
            f'size "{arg.value}" in "{directive}" directive is too large',
            arg.span,
            "the largest size accepted is 1048576g (1 PiB)",
        )
    return size


def parse_time(arg: Arg, directive: str) -> float:
    """``500ms``, ``30s``, ``5m``, ``1h``, ``1d``; a bare number is seconds -> seconds."""
    parts = _TIME_PART.findall(arg.value)
    if len(parts) > 1 and _TIME_COMPOUND.fullmatch(arg.value):  # "1h30m", "1d 2h" (nginx)
        return _within_limit(sum(float(n) * _TIME_FACTORS[u] for n, u in parts), arg, directive)
    m = _TIME.fullmatch(arg.value)
    hint = "a time is a number with ms, s, m, h or d (e.g. 500ms, 30s, 5m); bare = seconds"
    if m is None:
        suggestion = _time_suggestion(arg.value)
        if arg.value.startswith("-"):
            hint = "a time cannot be negative; " + hint
        elif suggestion is not None and suggestion != arg.value:
            hint = f'did you mean "{suggestion}"? (the units are ms, s, m, h and d)'
        raise ValueProblem(
            "invalid-time",
            f'invalid time "{arg.value}" in "{directive}" directive',
            arg.span,
            hint,
        )
    return _within_limit(float(m.group(1)) * _TIME_FACTORS[m.group(2)], arg, directive)


def _within_limit(seconds: float, arg: Arg, directive: str) -> float:
    """``seconds``, unless it is over ``MAX_TIME`` ("too long", whether written as one
    number or as a compound such as ``365d 1s``)."""
    if seconds > MAX_TIME:
        raise ValueProblem(
            "invalid-time",
            f'time "{arg.value}" in "{directive}" directive is too long',
            arg.span,
            "the longest time accepted is 365d",
        )
    return seconds


def parse_int(arg: Arg, directive: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole decimal number in ``[minimum, maximum]``."""
    in_range = is_decimal(arg.value) and int(arg.value) >= minimum
    if in_range and maximum is not None and int(arg.value) > maximum:
        in_range = False
    if not in_range:
        expected = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{arg.value}" in "{directive}" directive',
            arg.span,
            f"expected a whole number {expected}",
        )
    return int(arg.value)


_FLAG_WORDS = {
    "yes": "on", "true": "on", "1": "on", "enable": "on", "enabled": "on",
    "no": "off", "false": "off", "0": "off", "disable": "off", "disabled": "off",
}  # fmt: skip


def parse_flag(arg: Arg, directive: str) -> bool:
    if arg.value not in ("on", "off"):
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{arg.value}" in "{directive}" directive, it must be "on" or "off"',
            arg.span,
            _flag_hint(arg.value),
        )
    return arg.value == "on"


def parse_choice(arg: Arg, directive: str, choices: tuple[str, ...]) -> str:
    if arg.value not in choices:
        listed = ", ".join(f'"{c}"' for c in choices)
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{arg.value}" in "{directive}" directive, it must be one of {listed}',
            arg.span,
            _did_you_mean(arg.value, choices),
        )
    return arg.value


def _flag_hint(value: str) -> str | None:
    word = value.lower() if value.lower() in ("on", "off") else _FLAG_WORDS.get(value.lower())
    return f'did you mean "{word}"?' if word is not None else None


def _did_you_mean(value: str, choices: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    close = lowered.get(value.lower()) or next(
        iter(difflib.get_close_matches(value, choices, n=1, cutoff=0.6)), None
    )
    return f'did you mean "{close}"?' if close is not None else None


def parse_status(arg: Arg, directive: str, low: int = 100, high: int = 599) -> int:
    if not (is_decimal(arg.value) and len(arg.value) == 3 and low <= int(arg.value) <= high):
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
    if not is_decimal(text) or not 1 <= int(text) <= 65535:
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
    if text.lstrip("-+").isdigit():  # non-ASCII digits too, so "²" is a bad port, not a host
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


def _shorten(text: str, limit: int = 60) -> str:
    """Long values are cut in messages (the caret under the source line shows all of it)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


_PCRE_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


def python_regex_source(pattern: str) -> str:
    """A PCRE-style pattern in Python's syntax: ``(?<name>...)`` -> ``(?P<name>...)``."""
    return _PCRE_NAMED_GROUP.sub("(?P<", pattern)


def compile_regex(arg: Arg, directive: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a PCRE-style regex; ``(?<name>...)`` is accepted as Python's ``(?P<name>...)``."""
    source = python_regex_source(arg.value)
    try:
        return re.compile(source, flags)
    except (re.error, OverflowError, RecursionError) as exc:  # a{4294967296}: OverflowError
        reason = exc.msg if isinstance(exc, re.error) else str(exc)
        raise ValueProblem(
            "invalid-regex",
            f'invalid regex "{_shorten(arg.value)}" in "{directive}" directive: {reason}',
            arg.span,
            "regexes use Python's re syntax (PCRE-style (?<name>...) groups are accepted)",
        ) from None


def parse_cidr(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, bool] | None:
    """nginx's ``ADDRESS`` or ``ADDRESS/PREFIX`` (IPv4 or IPv6), for allow/deny and
    set_real_ip_from: the network with its host bits cleared, and whether the address had
    none set (nginx warns "low address bits ... are meaningless"). None for anything else,
    netmask forms (``/255.0.0.0``) and zone ids (``%eth0``) included, as nginx refuses them."""
    address, slash, prefix = text.partition("/")
    if "%" in address or (slash and not (prefix.isascii() and prefix.isdigit())):
        return None
    try:
        network = ipaddress.ip_network(f"{address}/{int(prefix)}" if slash else address, False)
    except ValueError:
        return None
    return network, network.network_address == ipaddress.ip_address(address)
