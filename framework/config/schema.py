"""``webserv schema``: a JSON Schema (draft 2020-12) of the configuration.

The schema describes the config as JSON (the shape editors and generators work with): each
block is an object whose keys are directive names. A directive's value is its list of
arguments; a repeatable directive's value is a list of such lists; ``server`` is a list of
server blocks; ``location`` a list of ``{"args": [...], "block": {...}}``; ``types`` maps a
MIME type to its extensions; ``handler`` a list of ``{"name": ..., "settings": {...}}`` with
each registered handler's pydantic ``Settings`` schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config_grammar.diagnostics import Diagnostic
from framework.config.directives import DIRECTIVES, DirectiveSpec
from framework.registry import HandlerRegistry

if TYPE_CHECKING:
    from framework.handler import Handler

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_REPEATABLE = {"listen", "server_name", "index", "error_page", "cgi", "load_module", "include"}
_CONTEXT_OF_BLOCK = {"main": {"G", "H"}, "server": {"S"}, "location": {"L"}}


def _args_schema(spec: DirectiveSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "array",
        "items": {"type": "string"},
        "minItems": spec.min_args,
    }
    if spec.max_args is not None:
        schema["maxItems"] = spec.max_args
    return schema


def _directive_schema(spec: DirectiveSpec) -> dict[str, Any]:
    if spec.name == "server":
        value: dict[str, Any] = {"type": "array", "items": {"$ref": "#/$defs/server"}}
    elif spec.name == "location":
        value = {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"args": _args_schema(spec), "block": {"$ref": "#/$defs/location"}},
                "required": ["args", "block"],
                "additionalProperties": False,
            },
        }
    elif spec.name == "http":
        value = {"$ref": "#/$defs/main"}
    elif spec.name == "types":
        value = {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        }
    elif spec.name == "handler":
        value = {"type": "array", "items": {"$ref": "#/$defs/handler"}}
    elif spec.name in _REPEATABLE:
        value = {"type": "array", "items": _args_schema(spec)}
    else:
        value = _args_schema(spec)
    value["description"] = spec.summary or spec.usage
    value["x-usage"] = spec.usage
    value["x-contexts"] = sorted(spec.contexts)
    if spec.default:
        value["default"] = spec.default
    return value


def _block_schema(kind: str, title: str) -> dict[str, Any]:
    allowed = _CONTEXT_OF_BLOCK[kind]
    properties = {
        name: _directive_schema(spec)
        for name, spec in DIRECTIVES.items()
        if spec.contexts & allowed and not (kind != "main" and name == "http")
    }
    return {
        "title": title,
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def _settings_schema(name: str, cls: type[Handler[Any]], notes: list[str] | None) -> dict[str, Any]:
    """The JSON Schema of ``cls.Settings``; when pydantic cannot make one (a field of a type
    with none, ``arbitrary_types_allowed``), a permissive ``{}`` saying why, and a note."""
    try:
        return cls.Settings.model_json_schema(ref_template=f"#/$defs/handler.{name}.{{model}}")
    except Exception as exc:  # noqa: BLE001 - PydanticInvalidForJsonSchema, or a plugin's own
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        if notes is not None:
            notes.append(
                f'handler "{name}": its settings have no JSON schema ({reason}); '
                "any settings are allowed for it in the schema"
            )
        return {
            "description": f"no JSON schema for these settings ({reason}): any are allowed here; "
            "validate-config checks them"
        }


def _handler_schemas(
    registry: HandlerRegistry, defs: dict[str, Any], notes: list[str] | None = None
) -> list[dict[str, Any]]:
    variants = []
    for name in registry.names():
        cls = registry.get(name)
        if cls is None:
            continue
        settings = _settings_schema(name, cls, notes)
        for sub_name, sub in settings.pop("$defs", {}).items():
            defs[f"handler.{name}.{sub_name}"] = sub
        defs[f"handler.{name}"] = settings
        variants.append(
            {
                "type": "object",
                "description": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
                "properties": {
                    "name": {"const": name},
                    "settings": {"$ref": f"#/$defs/handler.{name}"},
                },
                "required": ["name"],
                "additionalProperties": False,
            }
        )
    return variants


def config_schema(registry: HandlerRegistry, notes: list[str] | None = None) -> dict[str, Any]:
    """The JSON Schema of the configuration, including every registered handler's settings
    (built-in handlers and installed entry-point plugins are loaded first). A handler whose
    settings have no JSON schema gets a permissive one, and a line appended to ``notes``."""
    import handlers  # noqa: F401  (registers the built-in handlers)

    try:
        registry.load_entry_points(reserved=frozenset(DIRECTIVES) - set(registry.names()))
    except Exception:  # a broken plugin is reported by validate-config, not here
        pass
    defs: dict[str, Any] = {
        "main": _block_schema("main", "top level (the http context)"),
        "server": _block_schema("server", "server block"),
        "location": _block_schema("location", "location block"),
    }
    variants = _handler_schemas(registry, defs, notes)
    defs["handler"] = {"oneOf": variants} if variants else {"not": {}}
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "https://webserv.invalid/schema/config.json",
        "title": "webserv configuration",
        "description": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "$ref": "#/$defs/main",
        "$defs": defs,
    }


_MODULE_RULES = frozenset(
    {
        "unreadable-file",
        "load-module-failed",
        "handler-name-clash",
        "handler-invalid",
        "shadowed-package",
    }
)
"""The diagnostics that mean CONFIG's handlers could not all be loaded."""


def command_schema(args: argparse.Namespace) -> int:
    """``webserv schema [CONFIG]``: print the schema (exit 0). With CONFIG, the handlers
    its ``load_module`` lines register are included, loaded as ``validate-config`` loads
    them (relative to the config's directory, or ``--prefix``); when one cannot be loaded,
    the diagnostics go to stderr and nothing to stdout (exit 1). Other mistakes in CONFIG
    are ``validate-config``'s to report, not a reason to withhold the schema."""
    from framework.registry import registry

    config = getattr(args, "config", None)
    if config is not None:
        problems = _load_modules_of(Path(config), getattr(args, "prefix", None))
        if problems is not None:
            return 1
    notes: list[str] = []
    schema = config_schema(registry, notes)
    for note in notes:
        print(f"webserv schema: note: {note}", file=sys.stderr)
    print(json.dumps(schema, indent=2))
    return 0


def _load_modules_of(config: Path, prefix: Path | None) -> list[Diagnostic] | None:
    """Load ``config`` (registering its plugins); the module-loading errors, printed on
    stderr, or None when there are none."""
    from framework.cli import print_diagnostics
    from framework.config.build import load_config

    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:  # as validate-config: importing plugins writes no __pycache__
        result = load_config(config, check_fs=False, prefix=prefix)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    problems = [
        d
        for d in result.diagnostics
        if d.severity == "error"
        and (d.rule in _MODULE_RULES or (d.rule == "internal-error" and d.span is None))
    ]
    if not problems:
        return None
    print_diagnostics(problems, result.sources, sys.stderr)
    return problems
