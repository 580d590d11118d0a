"""``webserv schema``: a valid draft 2020-12 schema that covers every directive and every
registered handler's settings."""

from __future__ import annotations

import jsonschema
import pytest

from framework.config.directives import DIRECTIVES
from framework.config.schema import config_schema
from framework.handler import Handler, HandlerSettings
from framework.registry import HandlerRegistry


class Inner(HandlerSettings):
    depth: int = 1


class Fancy(Handler):
    """A handler with nested settings."""

    name = "fancy"

    class Settings(HandlerSettings):
        text: str
        inner: Inner = Inner()


@pytest.fixture
def schema():
    registry = HandlerRegistry()
    registry.register(Fancy)
    return config_schema(registry)


def test_the_schema_is_a_valid_draft_2020_12_schema(schema):
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_directive_appears_in_its_contexts(schema):
    defs = schema["$defs"]
    for name, spec in DIRECTIVES.items():
        blocks = {"main": "GH", "server": "S", "location": "L"}
        for block, letters in blocks.items():
            expected = bool(set(letters) & spec.contexts) and not (
                name == "http" and block != "main"
            )
            assert (name in defs[block]["properties"]) == expected, (name, block)


def test_handler_settings_schemas_are_included(schema):
    assert schema["$defs"]["handler.fancy"]["required"] == ["text"]
    validator = jsonschema.Draft202012Validator(schema)
    good = {
        "server": [
            {
                "location": [
                    {
                        "args": ["/"],
                        "block": {
                            "handler": [
                                {"name": "fancy", "settings": {"text": "x", "inner": {"depth": 2}}}
                            ]
                        },
                    }
                ]
            }
        ]
    }
    bad = {"server": [{"handler": [{"name": "fancy", "settings": {"inner": {"depth": "deep"}}}]}]}
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors(bad)) != []


def test_the_schema_rejects_unknown_directives_and_bad_arity(schema):
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors({"server": [{"listen": [["8080"]], "root": ["www"]}]})) == []
    assert list(validator.iter_errors({"server": [{"autoindx": ["on"]}]})) != []
    assert list(validator.iter_errors({"server": [{"root": ["a", "b"]}]})) != []
