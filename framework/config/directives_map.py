"""``map STRING $VARIABLE { ... }`` (nginx's ngx_http_map_module): its row of the directive
table, its parser and the ``LocationConfig`` field it fills. Maps are defined at the top level
and reach every location (the field is inherited and never set below the top level).

This module must not import ``framework.config.models``, which mixes ``MapFields`` in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import Field

from config_grammar.tree import Arg, Directive
from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec, ParseContext, spec
from framework.config.values import ValueProblem, compile_regex

_VARIABLE_NAME = re.compile(r"\$(\w+)")


@dataclass(slots=True)
class MapTable:
    """One map, compiled: nginx's order of precedence is an exact string (case-insensitive),
    then with ``hostnames`` the longest ``*.suffix`` mask, the longest ``prefix.*`` mask, then
    the first matching regex in file order, then ``default``."""

    source: str  # a template (``$sent_http_content_type``, ``$host$uri``)
    variable: str  # the name it defines, without "$"
    default: str = ""
    hostnames: bool = False
    volatile: bool = False
    exact: dict[str, str] = field(default_factory=dict)
    suffixes: list[tuple[str, str]] = field(default_factory=list)  # (".example.com", value)
    prefixes: list[tuple[str, str]] = field(default_factory=list)  # ("mail.", value)
    regexes: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def lookup(self, key: str) -> tuple[str, re.Match[str] | None]:
        """The value template for the source value ``key`` and the regex match that chose it
        (its captures are visible to the value as ``$1``, ``$name``)."""
        folded = key.lower()
        if self.hostnames:
            folded = folded.rstrip(".")
        found = self.exact.get(folded)
        if found is not None:
            return found, None
        if self.hostnames:
            for suffix, value in self.suffixes:  # longest first
                if folded.endswith(suffix) or "." + folded == suffix:
                    return value, None
            for prefix, value in self.prefixes:
                if folded.startswith(prefix):
                    return value, None
        for regex, value in self.regexes:
            match = regex.search(key)
            if match is not None:
                return value, match
        return self.default, None


class MapFields(Model):
    """The ``LocationConfig`` field of ``map``: variable name -> its table."""

    maps: dict[str, MapTable] = Field(default_factory=dict)


def _entry_value(entry: Directive) -> str:
    if len(entry.args) != 1:
        raise ValueProblem(
            "invalid-arg-count",
            f'invalid number of arguments in "map" entry "{entry.name_raw or entry.name}"',
            entry.span,
            "each entry is `SOURCE VALUE;` (quote a value that has spaces)",
        )
    return entry.args[0].value


def _map(d: Directive, _: ParseContext) -> dict[str, MapTable]:
    source, target = d.args
    if not target.value.startswith("$") or not _VARIABLE_NAME.fullmatch(target.value):
        raise ValueProblem(
            "invalid-value",
            f'invalid variable name "{target.value}" in "map" directive',
            target.span,
            "the second argument is the variable the map defines, e.g. $cache_control",
        )
    table = MapTable(source=source.value, variable=target.value[1:])
    seen: dict[str, Directive] = {}
    for entry in d.children:
        name = entry.name
        if entry.block is not None:
            raise ValueProblem(
                "invalid-value", "a map entry has no block", entry.span,
                "each entry is `SOURCE VALUE;`",
            )  # fmt: skip
        if entry.name_raw is None and name in ("hostnames", "volatile") and not entry.args:
            table.hostnames = table.hostnames or name == "hostnames"
            table.volatile = table.volatile or name == "volatile"
            continue
        value = _entry_value(entry)
        if entry.name_raw is None and name == "default":
            table.default = value
            continue
        key = name[1:] if name.startswith("\\") else name  # "\default" is the string
        if key in seen:
            raise ValueProblem(
                "duplicate-value",
                f'duplicate "{key}" in map "{target.value}"',
                entry.name_span,
                f"first set at {seen[key].span}",
            )
        seen[key] = entry
        if name.startswith("~"):
            flags = re.IGNORECASE if name.startswith("~*") else 0
            pattern = name[2:] if flags else name[1:]
            regex = compile_regex(Arg(pattern, entry.name_span, pattern, False), "map", flags)
            table.regexes.append((regex, value))
        elif table.hostnames and key.startswith(("*.", ".")):
            suffix = key.lower()[1:] if key.startswith("*") else key.lower()
            table.suffixes.append((suffix, value))
            if key.startswith("."):  # ".example.com" also means "example.com" itself
                table.exact.setdefault(key.lower()[1:], value)
        elif table.hostnames and key.endswith(".*"):
            table.prefixes.append((key.lower()[:-1], value))
        else:
            table.exact[key.lower()] = value
    table.suffixes.sort(key=lambda item: -len(item[0]))
    table.prefixes.sort(key=lambda item: -len(item[0]))
    return {table.variable: table}


SPECS: list[DirectiveSpec] = [
    spec("map", "H", "map STRING $VARIABLE { SOURCE VALUE; ... }", min_args=2, max_args=2,
         block="required", parse=_map, scope="location", field="maps", combine="update",
         summary="define a variable whose value depends on another (evaluated when used)"),
]  # fmt: skip

__all__ = ["MapFields", "MapTable", "SPECS"]
