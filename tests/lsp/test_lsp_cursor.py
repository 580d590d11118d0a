"""The language server's pure parts: where the cursor is, and what the directive table offers
there."""

from __future__ import annotations

import pytest

from framework.config.directives import DIRECTIVES
from framework.lsp.completion import directive_names, enum_values, suggestions
from framework.lsp.cursor import cursor_at, offset_of, token_at
from framework.registry import HandlerRegistry


def test_offset_of_clamps_a_column_past_the_end_of_its_line() -> None:
    text = "ab\ncdef\n"
    assert offset_of(text, 1, 2) == 5
    assert offset_of(text, 0, 99) == 2  # stays on line 0
    assert offset_of(text, 9, 0) == len(text)


def test_blocks_are_followed_through_quotes_braces_in_strings_and_comments() -> None:
    text = 'server {\n    return 200 "{ not a block }"; # { nor this\n    location /a/ {\n        '
    where = cursor_at(text, 3, 8)
    assert where is not None
    assert [b.name for b in where.blocks] == ["server", "location"]
    assert where.blocks[-1].args == ("/a/",)
    assert where.in_name


def test_the_word_being_typed_and_the_argument_index() -> None:
    text = "server {\n    listen 80 def"
    where = cursor_at(text, 1, 17)
    assert where is not None
    assert where.directive == "listen"
    assert where.arg_index == 1
    assert where.prefix == "def"


def test_a_closed_block_is_left() -> None:
    text = "server {\n    location / { }\n    \n}\n"
    where = cursor_at(text, 2, 4)
    assert where is not None and [b.name for b in where.blocks] == ["server"]


def test_a_stray_closing_brace_does_not_break_the_walk() -> None:
    where = cursor_at("}\n}\nserver {\n  ", 3, 2)
    assert where is not None and [b.name for b in where.blocks] == ["server"]


def test_token_at_gives_the_statement_before_the_word() -> None:
    text = "server {\n    error_page 404 /404.html;\n}\n"
    found = token_at(text, 1, 20)
    assert found is not None
    token, before = found
    assert token.value == "/404.html"
    assert [t.value for t in before] == ["error_page", "404"]
    assert token_at(text, 1, 2) is None  # indentation


@pytest.mark.parametrize(
    ("name", "index", "expected"),
    [
        ("autoindex", 0, ["on", "off"]),
        ("autoindex", 1, []),
        ("autoindex_format", 0, ["html", "json"]),
        ("error_log", 0, ["stderr"]),  # PATH is a placeholder
        ("error_log", 1, ["debug", "info", "warn", "error"]),
        ("listen", 0, []),
        ("listen", 2, ["ssl", "proxy_protocol"]),  # optional flags, any order
        ("root", 0, []),
        ("error_page", 2, []),  # "=NEW" is a placeholder
    ],
)
def test_enum_values_come_from_the_usage_line(name: str, index: int, expected: list[str]) -> None:
    assert enum_values(DIRECTIVES[name], index) == expected


def test_the_http_wrapper_is_not_offered_inside_itself_and_server_only_rows_stay_out() -> None:
    names = {row.name for row in directive_names("http")}
    assert "server" in names and "http" not in names
    assert "listen" not in names


def test_no_directive_is_offered_in_blocks_the_table_does_not_describe() -> None:
    where = cursor_at("types {\n    ", 1, 4)
    assert where is not None
    assert suggestions(where, HandlerRegistry()) == []


def test_inside_a_handler_block_its_settings_are_offered() -> None:
    from pydantic import Field

    from framework.handler import Handler, HandlerSettings

    class Stamp(Handler):
        name = "stamp"

        class Settings(HandlerSettings):
            value: str = Field(description="the X-Stamp value")
            repeat: int = 1

    registry = HandlerRegistry()
    registry.register(Stamp)
    text = "server {\n    location / {\n        handler stamp {\n            \n"
    where = cursor_at(text, 3, 12)
    assert where is not None
    found = {s.label: s for s in suggestions(where, registry)}
    assert set(found) == {"value", "repeat"}
    assert found["value"].documentation == "the X-Stamp value"
    assert found["repeat"].detail == "int"
    unknown = cursor_at("server { location / { handler nope {\n  ", 1, 2)
    assert unknown is not None and suggestions(unknown, registry) == []
    handler_names = cursor_at("server { location / { handler ", 0, 30)
    assert handler_names is not None
    assert [s.label for s in suggestions(handler_names, registry)] == ["stamp"]
