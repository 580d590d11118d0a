"""Directives for response headers: ``add_header``, ``expires``, ``charset``,
``charset_types``, ``server_tokens``: their rows of the directive table, their value parsers
and the ``LocationConfig`` fields they fill. This module must not import
``framework.config.models``, which mixes ``HeaderFields`` in.

As in nginx, a level that writes any ``add_header`` replaces every one it would inherit (the
``add_header-redefinition`` lint warns where that drops headers), and ``charset_types``
written at a level replaces the inherited list (``text/html`` is always in it).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from config_grammar.tree import Arg, Directive, Span
from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec, ParseContext, as_flag, first_arg, spec
from framework.config.values import ValueProblem

# RFC 9110 token: what a field name may hold
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # HTAB is allowed in a field value
_MIME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VARIABLE = re.compile(r"\$(?:\{\w+\}|\w+)")
# nginx's ngx_parse_time with seconds: units in decreasing order, each at most once, spaces
# allowed after a unit, a trailing bare number counts as seconds
_NGX_TIME = re.compile(
    r"(?:([0-9]+)y *)?(?:([0-9]+)M *)?(?:([0-9]+)w *)?(?:([0-9]+)d *)?"
    r"(?:([0-9]+)h *)?(?:([0-9]+)m *)?(?:([0-9]+)s *)?([0-9]+)?"
)
_NGX_UNITS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1, 1)
MAX_EXPIRES = 100 * 365 * 86400  # far beyond any cache lifetime; "max" says "forever"
DAY = 86400

DEFAULT_CHARSET_TYPES = [
    "text/html",
    "text/xml",
    "text/plain",
    "text/vnd.wap.wml",
    "application/javascript",
    "application/rss+xml",
]

ExpiresMode = Literal["access", "modified", "daily", "epoch", "max"]


class AddHeader(Model):
    """One ``add_header NAME VALUE [always];``. ``value`` may hold nginx variables."""

    name: str
    value: str
    always: bool = False
    span: Span | None = None


class Expires(Model):
    """An ``expires`` setting other than ``off``: ``seconds`` after the request
    ("access"), after ``Last-Modified`` ("modified"), the next time of day ``seconds``
    after midnight ("daily"), or the fixed answers "epoch" and "max". ``template`` holds
    a value written with variables, parsed for each response (``parse_expires_value``)."""

    mode: ExpiresMode = "access"
    seconds: int = 0
    template: str | None = None


class HeaderFields(Model):
    """The ``LocationConfig`` fields of these directives (nginx's defaults)."""

    add_headers: list[AddHeader] = Field(default_factory=list)
    expires: Expires | None = None  # None: off
    charset: str | None = None  # None: off
    charset_types: list[str] = Field(default_factory=lambda: list(DEFAULT_CHARSET_TYPES))
    server_tokens: bool = True


# -- value parsers ------------------------------------------------------------------------


def _add_header(d: Directive, _: ParseContext) -> AddHeader:
    name, value = d.args[0], d.args[1]
    if not _TOKEN.fullmatch(name.value):
        raise ValueProblem(
            "invalid-value",
            f'invalid header name "{name.value}" in "add_header" directive',
            name.span,
            "a header name is a token: letters, digits and !#$%&'*+-.^_`|~ (no spaces, no colon)",
        )
    if _CONTROL.search(value.value):
        raise ValueProblem(
            "invalid-value",
            f'control character in the value of "add_header {name.value}"',
            value.span,
            "a header value cannot hold CR, LF or other control characters",
        )
    always = False
    if len(d.args) == 3:
        if d.args[2].value != "always":
            raise ValueProblem(
                "invalid-value",
                f'invalid parameter "{d.args[2].value}" in "add_header" directive',
                d.args[2].span,
                'the only parameter after the value is "always" (quote a value that has spaces)',
            )
        always = True
    return AddHeader(name=name.value, value=value.value, always=always, span=d.span)


def parse_ngx_time(text: str) -> int | None:
    """nginx's time syntax in seconds (``30``, ``1h``, ``1d 12h``, ``1y``, ``2M``, ``1w``),
    or None when it is not one."""
    m = _NGX_TIME.fullmatch(text)
    if m is None or not any(m.groups()):
        return None
    return sum(int(part) * unit for part, unit in zip(m.groups(), _NGX_UNITS, strict=True) if part)


def parse_expires_value(text: str) -> Expires | None | str:
    """One ``expires`` value (nginx's ngx_http_parse_expires): ``epoch``, ``max``, ``off``
    (None), ``@TIME`` (daily, under 24h), ``[+|-]TIME``. An invalid value gives the reason
    as a string."""
    if text in ("epoch", "max"):
        return Expires(mode=text)  # type: ignore[arg-type]
    if text == "off":
        return None
    mode: ExpiresMode = "access"
    sign = 1
    body = text
    if text.startswith("@"):
        mode, body = "daily", text[1:]
    elif text.startswith(("+", "-")):
        sign, body = (-1 if text[0] == "-" else 1), text[1:]
    seconds = parse_ngx_time(body)
    if seconds is None:
        return "invalid value"
    if mode == "daily" and seconds > DAY:
        return "daily time value must be less than 24 hours"
    if seconds > MAX_EXPIRES:
        return "too long"
    return Expires(mode=mode, seconds=sign * seconds)


_EXPIRES_HINT = (
    "expires [modified] TIME|epoch|max|off; TIME is a number with y, M, w, d, h, m or s "
    "(bare = seconds), optionally signed (-1 means already expired), or @TIME for a time "
    "of day"
)


def _expires(d: Directive, _: ParseContext) -> Expires | None:
    modified = False
    arg: Arg = first_arg(d)
    if len(d.args) == 2:
        if arg.value != "modified":
            raise ValueProblem(
                "invalid-value",
                f'invalid value "{arg.value}" in "expires" directive',
                arg.span,
                'the only word before the time is "modified"',
            )
        modified, arg = True, d.args[1]
    if _VARIABLE.search(arg.value):  # parsed per response, as nginx does
        return Expires(mode="modified" if modified else "access", template=arg.value)
    parsed = parse_expires_value(arg.value)
    if isinstance(parsed, str):
        hint = _EXPIRES_HINT
        if parsed == "too long":
            hint = 'the longest time accepted is 100y; write "max" for "never expires"'
        elif parsed != "invalid value":
            hint = "write the time of day, e.g. @15h30m"
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{arg.value}" in "expires" directive'
            if parsed in ("invalid value", "too long")
            else f'{parsed} in "expires" directive',
            arg.span,
            hint,
        )
    if modified and parsed is not None:
        if parsed.mode == "daily":
            raise ValueProblem(
                "invalid-value",
                'daily time cannot be used with "modified" parameter',
                arg.span,
                'drop "modified", or give a duration instead of @TIME',
            )
        if parsed.mode == "access":
            parsed.mode = "modified"
    return parsed


def _charset(d: Directive, _: ParseContext) -> str | None:
    arg = first_arg(d)
    if arg.value == "off":
        return None
    if _VARIABLE.search(arg.value):
        raise ValueProblem(
            "unsupported-feature",
            f'variables in "charset" directive are not supported: "{arg.value}"',
            arg.span,
            "name the charset, e.g. charset utf-8;",
        )
    if not _TOKEN.fullmatch(arg.value):
        raise ValueProblem(
            "invalid-value",
            f'invalid charset "{arg.value}" in "charset" directive',
            arg.span,
            "a charset name such as utf-8 or iso-8859-1 (or off)",
        )
    return arg.value


def _charset_types(d: Directive, _: ParseContext) -> list[str]:
    types = []
    for arg in d.args:
        if arg.value == "*":
            return ["*"]
        if not _MIME.fullmatch(arg.value):
            raise ValueProblem(
                "invalid-value",
                f'invalid MIME type "{arg.value}" in "charset_types" directive',
                arg.span,
                'a MIME type such as text/css, or "*" for any',
            )
        types.append(arg.value.lower())
    return types


def _server_tokens(d: Directive, ctx: ParseContext) -> bool:
    arg = first_arg(d)
    if arg.value == "build":
        raise ValueProblem(
            "unsupported-feature",
            'invalid value "build" in "server_tokens" directive: webserv has no build name',
            arg.span,
            'write "on" (webserv/VERSION) or "off" (webserv, no version)',
        )
    return as_flag(d, ctx)


# -- the rows -----------------------------------------------------------------------------

# fmt: off
SPECS: list[DirectiveSpec] = [
    spec("add_header", "HSL", "add_header NAME VALUE [always];", min_args=2, max_args=3,
         parse=_add_header, scope="location", field="add_headers", combine="append",
         summary="add a response header to 2xx/3xx answers (to every answer with always); "
         "a level that sets any replaces all the inherited ones"),
    spec("expires", "HSL", "expires [modified] TIME|epoch|max|off;", max_args=2,
         parse=_expires, scope="location", field="expires", default="off",
         summary="Expires and Cache-Control: max-age on 2xx/3xx answers"),
    spec("charset", "HSL", "charset CHARSET|off;", parse=_charset, scope="location",
         field="charset", default="off",
         summary="append ; charset=CHARSET to the Content-Type of charset_types"),
    spec("charset_types", "HSL", "charset_types MIME...;", max_args=None,
         parse=_charset_types, scope="location", field="charset_types", combine="extend",
         default=" ".join(DEFAULT_CHARSET_TYPES),
         summary="the MIME types charset applies to (text/html always; * for any)"),
    spec("server_tokens", "HSL", "server_tokens on|off;", parse=_server_tokens,
         scope="location", field="server_tokens", default="on",
         summary="the version in the Server header and on error pages"),
]
# fmt: on
