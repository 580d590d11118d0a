"""``Handler`` is generic in its settings: ``Handler[MySettings]`` gives the class its
``Settings`` and lets a type checker see ``self.settings.text``."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from framework import Handler, HandlerSettings


class GreetingSettings(HandlerSettings):
    text: str = "hello"


class Greeting(Handler[GreetingSettings]):
    name = None  # not registered: only the class machinery is under test


def test_the_settings_model_comes_from_the_type_parameter():
    assert Greeting.Settings is GreetingSettings
    handler = Greeting(Greeting.Settings(text="hi"), location=None)  # type: ignore[arg-type]
    assert handler.settings.text == "hi"


def test_a_nested_settings_class_still_wins():
    class Nested(Handler):
        class Settings(Handler.Settings):
            value: int = 1

    assert Nested.Settings().value == 1


PLUGIN = """
from framework import Handler, HandlerSettings, Request, Response
from framework.handler import CallNext


class GreetingSettings(HandlerSettings):
    text: str = "hello"


class Greeting(Handler[GreetingSettings]):
    name = "greeting_typed"

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        length: int = self.settings.text  # the type checker must catch this
        return Response(200, self.settings.text.upper())
"""


def test_a_type_checker_sees_the_settings_type(tmp_path):
    pytest.importorskip("mypy")
    source = tmp_path / "typed_plugin.py"
    source.write_text(textwrap.dedent(PLUGIN))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent", str(source)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    # exactly the one deliberate error: str assigned to int (so settings is not Any)
    assert 'Incompatible types in assignment (expression has type "str"' in result.stdout
    assert "Found 1 error" in result.stdout, result.stdout
