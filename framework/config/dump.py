"""``validate-config --dump``: the effective configuration, like ``nginx -T``.

Text (the default): the main file with every ``include`` replaced by the directives it
brought in and every ``${VAR}`` replaced by its value, formatted like ``webserv fmt``
(comments kept). Where the lines start coming from another file, a comment says so, as in
``nginx -T``: ``# configuration file PATH:``. The output is itself a valid configuration
that means the same as the original (paths relative to the original's directory).

JSON (``--format json``): the effective models after inheritance, one object::

    {"webserv_config_dump": 1, "source": PATH, "config": {...}}

``config`` holds the top-level settings and ``servers``, each with ``listens``,
``server_names``, ``context`` (the settings where no location matches) and ``locations``
(nested ones in ``children``), every location carrying its effective (inherited) settings.
Paths are absolute; sets are sorted lists; source positions (``span``) are left out so two
dumps of equivalent configs compare equal. The version number changes only when a key is
renamed or removed.

Diagnostics go to stderr; the exit codes are validate-config's (1 with errors, and then
nothing is dumped, as ``nginx -T`` dumps only a configuration that passes; 2 for warnings
with ``--strict``).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from config_grammar.tree import Arg, Comment, Directive
from framework.config.build import LoadResult
from framework.config.models import Config

DUMP_VERSION = 1
INDENT = "    "
_BARE = re.compile(r"[^\s;{}#\"'\\$]+")


def command_dump(args: argparse.Namespace, result: LoadResult) -> int:
    """Print the effective config of ``result``; the exit code."""
    from framework.cli import EXIT_ERRORS, EXIT_OK, EXIT_WARNINGS, print_diagnostics

    print_diagnostics(result.diagnostics, result.sources, sys.stderr)
    if result.config is None or result.errors:
        return EXIT_ERRORS
    if args.format == "json":
        text = json.dumps(dump_json(result.config), indent=2) + "\n"
    else:
        text = dump_text(Path(args.config), getattr(args, "prefix", None))
    sys.stdout.write(text)
    sys.stdout.flush()
    if result.warnings and args.strict:
        return EXIT_WARNINGS
    return EXIT_OK


# -- text ---------------------------------------------------------------------------------------


def dump_text(path: Path, prefix: Path | None = None) -> str:
    """The configuration at ``path`` with includes (relative ones against ``prefix``, if
    given) and ``${VAR}``s expanded."""
    from config_grammar.parser import parse_file

    parsed = parse_file(path, base_dir=prefix)
    lines: list[str] = []
    _emit(parsed.nodes, 0, lines, [str(path)])
    return "\n".join(lines) + "\n"


def _emit(
    nodes: list[Directive | Comment], depth: int, lines: list[str], current: list[str]
) -> None:
    """Append ``nodes`` at ``depth``; ``current`` is the one-element file being shown."""
    indent = INDENT * depth
    if depth == 0 and not lines:
        lines.append(f"# configuration file {current[0]}:")
    for node in nodes:
        if node.span.file != current[0]:
            current[0] = node.span.file
            lines.append(f"{indent}# configuration file {current[0]}:")
        if isinstance(node, Comment):
            lines.append(indent + node.text)
            continue
        head = " ".join([node.name, *(render_arg(a) for a in node.args)])
        trailing = "".join(f" {c.text}" for c in node.comments if c.span.line == node.span.line)
        if node.block is None:
            lines.append(f"{indent}{head};{trailing}")
            continue
        lines.append(f"{indent}{head} {{{trailing}")
        _emit(node.block, depth + 1, lines, current)
        if current[0] != node.span.file:  # the block ends in the file it started in
            current[0] = node.span.file
            lines.append(f"{indent}{INDENT}# configuration file {current[0]}:")
        closing = [c.text for c in node.comments if c.span.line > node.span.line]
        lines.append(f"{indent}}}" + "".join(f" {text}" for text in closing))


def render_arg(arg: Arg) -> str:
    """``arg`` as it must be written to mean its value: as written when no ``${VAR}`` was
    expanded in it, else its value (bare when that is safe, else single-quoted, where
    ``${`` is literal and only ``\\\\`` and ``\\'`` are escapes)."""
    if "${" not in arg.raw or arg.raw.startswith("'"):
        return arg.raw
    value = arg.value
    if _BARE.fullmatch(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- JSON ---------------------------------------------------------------------------------------


def dump_json(config: Config) -> dict[str, Any]:
    """The effective models as plain JSON data (see the module docstring)."""
    data = _plain(config)
    return {
        "webserv_config_dump": DUMP_VERSION,
        "source": data.get("source"),
        "config": data,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {
            name: _plain(getattr(value, name))
            for name in type(value).model_fields
            if name != "span"
        }
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, re.Pattern):
        return value.pattern
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "span"
        }
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
