"""Directives for compression: ``gzip*``, ``gzip_static``, ``brotli_static``: their rows of the
directive table, their value parsers and the ``LocationConfig`` fields they fill. This
module must not import ``framework.config.models``, which mixes ``GzipFields`` in.

Semantics are nginx's (ngx_http_gzip_module, ngx_http_gzip_static_module, ngx_brotli's
``brotli_static``); every field's default is nginx's."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from config_grammar.tree import Arg, Directive
from framework.config.model_base import Model
from framework.config.spec import (
    DirectiveSpec,
    ParseContext,
    as_flag,
    first_arg,
    one_of,
    spec,
)
from framework.config.values import ValueProblem, compile_regex, parse_int, parse_size

PROXIED_VALUES = (
    "off",
    "expired",
    "no-cache",
    "no-store",
    "private",
    "no_last_modified",
    "no_etag",
    "auth",
    "any",
)
StaticMode = Literal["off", "on", "always"]


class GzipFields(Model):
    """The ``LocationConfig`` fields of these directives."""

    gzip: bool = False
    gzip_types: list[str] = Field(default_factory=lambda: ["text/html"])
    """Lower-cased MIME types without parameters; ``*`` matches any (text/html is
    always compressed, as in nginx)."""
    gzip_min_length: int = 20
    gzip_comp_level: int = 1
    gzip_vary: bool = False
    gzip_proxied: list[str] = Field(default_factory=lambda: ["off"])
    gzip_http_version: Literal["1.0", "1.1"] = "1.1"
    gzip_buffers: tuple[int, int] = (32, 4096)  # accepted for nginx configs; not needed here
    gzip_disable: list[re.Pattern[str]] = Field(default_factory=list)
    """User-Agent patterns (case-insensitive); ``msie6`` is nginx's shorthand."""
    gzip_static: StaticMode = "off"
    brotli_static: StaticMode = "off"


def _types(d: Directive, _: ParseContext) -> list[str]:
    out = []
    for arg in d.args:
        value = arg.value.lower()
        if value != "*" and (value.count("/") != 1 or value.startswith("/") or ";" in value):
            raise ValueProblem(
                "invalid-value",
                f'invalid MIME type "{arg.value}" in "{d.name}" directive',
                arg.span,
                'a MIME type without parameters (e.g. "text/css"), or "*" for any type',
            )
        out.append(value)
    return out


def _comp_level(d: Directive, _: ParseContext) -> int:
    try:
        return parse_int(first_arg(d), d.name, minimum=1, maximum=9)
    except ValueProblem as problem:
        problem.message = f'invalid value "{first_arg(d).value}" in "{d.name}" directive'
        problem.hint = "a compression level from 1 (fastest) to 9 (smallest)"
        raise


def _min_length(d: Directive, _: ParseContext) -> int:
    return parse_size(first_arg(d), d.name)


def _proxied(d: Directive, _: ParseContext) -> list[str]:
    values: list[str] = []
    for arg in d.args:
        if arg.value not in PROXIED_VALUES:
            raise ValueProblem(
                "invalid-value",
                f'invalid value "{arg.value}" in "{d.name}" directive',
                arg.span,
                "the values are " + " ".join(PROXIED_VALUES),
            )
        if arg.value not in values:  # nginx only warns about a repeated value
            values.append(arg.value)
    return values


def _buffers(d: Directive, _: ParseContext) -> tuple[int, int]:
    number = parse_int(d.args[0], d.name, minimum=1)
    size = parse_size(d.args[1], d.name)
    if size == 0:
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{d.args[1].value}" in "{d.name}" directive',
            d.args[1].span,
            "usage: gzip_buffers NUMBER SIZE; e.g. gzip_buffers 16 8k;",
        )
    return number, size


MSIE6 = re.compile(r"MSIE [4-6]\.(?!.*SV1)", re.IGNORECASE)
"""nginx's ``msie6``: MSIE 4 to 6 without SP2's "SV1" token."""


def _disable(d: Directive, _: ParseContext) -> list[re.Pattern[str]]:
    patterns = []
    for arg in d.args:
        if arg.value == "msie6":
            patterns.append(MSIE6)
        elif arg.value == "degradation":
            raise ValueProblem(
                "unsupported-feature",
                '"degradation" in "gzip_disable" is not supported',
                arg.span,
                "webserv has no degradation module: drop it",
            )
        else:
            patterns.append(compile_regex(Arg(arg.value, arg.span, arg.raw, arg.quoted),
                                          d.name, re.IGNORECASE))  # fmt: skip
    return patterns


_STATIC = one_of("on", "off", "always")

# fmt: off
SPECS: list[DirectiveSpec] = [
    spec("gzip", "HSL", "gzip on|off;", parse=as_flag, scope="location", field="gzip",
         default="off", summary="compress responses with gzip"),
    spec("gzip_types", "HSL", "gzip_types MIME ...|*;", max_args=None, parse=_types,
         scope="location", field="gzip_types", combine="extend", default="text/html",
         summary="MIME types compressed besides text/html (* = any)"),
    spec("gzip_min_length", "HSL", "gzip_min_length SIZE;", parse=_min_length,
         scope="location", field="gzip_min_length", default="20",
         summary="shortest Content-Length compressed (unknown lengths are)"),
    spec("gzip_comp_level", "HSL", "gzip_comp_level 1..9;", parse=_comp_level,
         scope="location", field="gzip_comp_level", default="1",
         summary="zlib compression level"),
    spec("gzip_vary", "HSL", "gzip_vary on|off;", parse=as_flag, scope="location",
         field="gzip_vary", default="off",
         summary="send Vary: Accept-Encoding with responses that may be compressed"),
    spec("gzip_proxied", "HSL",
         "gzip_proxied off|expired|no-cache|no-store|private|no_last_modified|no_etag|auth|any"
         " ...;", max_args=None, parse=_proxied, scope="location", field="gzip_proxied",
         combine="extend", default="off",
         summary="which responses to requests with Via are compressed"),
    spec("gzip_http_version", "HSL", "gzip_http_version 1.0|1.1;", parse=one_of("1.0", "1.1"),
         scope="location", field="gzip_http_version", default="1.1",
         summary="lowest request HTTP version compressed"),
    spec("gzip_buffers", "HSL", "gzip_buffers NUMBER SIZE;", min_args=2, max_args=2,
         parse=_buffers, scope="location", field="gzip_buffers", default="32 4k",
         summary="accepted for nginx compatibility (webserv streams with bounded memory)"),
    spec("gzip_disable", "HSL", "gzip_disable REGEX|msie6 ...;", max_args=None,
         parse=_disable, scope="location", field="gzip_disable", combine="extend",
         summary="no compression for User-Agents matching a regex"),
    spec("gzip_static", "HSL", "gzip_static on|off|always;", parse=_STATIC, scope="location",
         field="gzip_static", default="off", summary="serve FILE.gz when it exists"),
    spec("brotli_static", "HSL", "brotli_static on|off|always;", parse=_STATIC,
         scope="location", field="brotli_static", default="off",
         summary="serve FILE.br when it exists (preferred over .gz)"),
]
# fmt: on
