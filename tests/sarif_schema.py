"""The official SARIF 2.1.0 JSON Schema, for tests: ``assert_valid_sarif(log)`` checks a log
against it. The schema is vendored in ``tests/data`` (see its SOURCE.md)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]

_SCHEMA_FILE = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads(_SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def assert_valid_sarif(log: dict[str, Any] | str) -> dict[str, Any]:
    """Fail with every schema violation unless ``log`` (a SARIF document or its JSON text) is
    valid SARIF 2.1.0; returns the parsed log."""
    if isinstance(log, str):
        log = json.loads(log)
    assert isinstance(log, dict)
    errors = sorted(_validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    return log
