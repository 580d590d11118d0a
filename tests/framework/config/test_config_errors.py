"""The configuration errors of SPEC 4.2: each with a rule ID, a message users can search for,
the directive's own position, a hint, and all of them reported in one run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from framework.config.build import load_config
from framework.handler import Handler, HandlerSettings
from framework.registry import HandlerRegistry


def only(result):
    assert result.config is None
    (diag,) = [d for d in result.diagnostics if d.severity == "error"]
    return diag


def where(diag) -> tuple[int, int]:
    return diag.span.line, diag.span.col


def test_an_unknown_directive_suggests_the_closest_name(load):
    diag = only(load("server {\n    autoindx on;\n}\n"))
    assert (diag.rule, diag.message) == ("unknown-directive", 'unknown directive "autoindx"')
    assert where(diag) == (2, 5)
    assert diag.hint == 'did you mean "autoindex"?'


def test_an_unknown_directive_named_like_a_handler_suggests_the_handler_directive(load):
    diag = only(load("server {\n  location / { upload; }\n}\n"))
    assert diag.hint == "to enable the handler, write `handler upload;`"


@pytest.mark.parametrize(
    ("text", "directive", "position"),
    [
        ("listen 80;\n", "listen", (1, 1)),
        ("server {\n  workers 2;\n}\n", "workers", (2, 3)),
        ("server {\n  location / { keepalive_timeout 5s; }\n}\n", "keepalive_timeout", (2, 16)),
        ("server {\n  upload_store /tmp;\n}\n", "upload_store", (2, 3)),
        ("location / { }\n", "location", (1, 1)),
        ("server {\n  server { }\n}\n", "server", (2, 3)),
        ("server {\n  location / { return 404; http { } }\n}\n", "http", (2, 28)),
    ],
)
def test_a_directive_in_the_wrong_context_is_not_allowed_here(load, text, directive, position):
    diag = only(load(text))
    assert diag.rule == "not-allowed-here"
    assert diag.message == f'"{directive}" directive is not allowed here'
    assert where(diag) == position
    assert diag.hint.startswith(f'"{directive}" is allowed in: ')


def test_a_wrong_argument_count_shows_the_usage(load):
    diag = only(load("server {\n  keepalive_timeout 1s 2s;\n}\n"))
    assert diag.rule == "invalid-arg-count"
    assert diag.message == 'invalid number of arguments in "keepalive_timeout" directive'
    assert diag.hint == "usage: keepalive_timeout TIME;"


def test_a_scalar_set_twice_at_one_level_is_duplicate(load):
    diag = only(load("server {\n  root a;\n  root b;\n}\n"))
    assert (diag.rule, diag.message) == ("duplicate-directive", '"root" directive is duplicate')
    assert where(diag) == (3, 3)
    assert "webserv.conf:2:3" in diag.hint


def test_the_same_scalar_at_different_levels_is_not_duplicate(load):
    assert load("root a;\nserver {\n  root b;\n  location / { root c; }\n}\n").diagnostics == []


def test_duplicate_listen_in_one_server(load):
    diag = only(load("server {\n  listen 8080;\n  listen 0.0.0.0:8080;\n}\n"))
    assert (diag.rule, diag.message) == ("duplicate-listen", "duplicate listen 0.0.0.0:8080")
    assert where(diag) == (3, 3)


def test_two_servers_with_the_same_listen_and_name_conflict(load):
    diag = only(
        load(
            "server {\n  listen 8080;\n  server_name a.test;\n}\n"
            "server {\n  listen 8080;\n  server_name A.test b.test;\n}\n"
        )
    )
    assert diag.rule == "conflicting-server-name"
    assert diag.message == 'conflicting server name "a.test" on 0.0.0.0:8080'
    assert where(diag) == (6, 3)


def test_the_same_name_on_different_ports_is_fine(load):
    text = "server { listen 8080; server_name a; }\nserver { listen 8081; server_name a; }\n"
    assert load(text).diagnostics == []


def test_two_unnamed_servers_on_one_address_only_warn_as_nginx_does(load):
    result = load("server { listen 8080; }\nserver { listen 8080; }\n")
    assert result.config is not None
    assert [(d.severity, d.rule) for d in result.diagnostics] == [
        ("warning", "conflicting-server-name")
    ]


def test_more_than_one_default_server_per_address(load):
    diag = only(
        load(
            "server {\n  listen 8080 default_server;\n  server_name a;\n}\n"
            "server {\n  listen *:8080 default_server;\n  server_name b;\n}\n"
            "server {\n  listen 127.0.0.1:8080 default_server;\n  server_name c;\n}\n"
        )
    )
    assert diag.rule == "duplicate-default-server"
    assert diag.message == "a duplicate default server for 0.0.0.0:8080"
    assert where(diag) == (6, 3)


def test_duplicate_prefix_and_exact_locations(load, rules):
    result = load(
        "server {\n  location /a { }\n  location ^~ /a { }\n"
        "  location = /a { }\n  location = /a { }\n  location ~ /a { }\n}\n"
    )
    dups = [d for d in result.diagnostics if d.rule == "duplicate-location"]
    assert [where(d) for d in dups] == [(3, 15), (5, 14)]
    assert dups[0].message == 'duplicate location "/a"'


def test_a_nested_prefix_location_must_be_inside_its_parent(load):
    diag = only(load("server {\n  location /b/ {\n    location /a/ { }\n  }\n}\n"))
    assert diag.rule == "location-outside-parent"
    assert diag.message == 'location "/a/" is outside location "/b/"'
    assert where(diag) == (3, 14)


def test_nested_regex_locations_and_inner_prefixes_are_fine(load):
    text = "server {\n  location /b/ {\n    location /b/c/ { }\n    location ~ x { }\n  }\n}\n"
    assert [d for d in load(text).diagnostics if d.severity != "info"] == []


def test_nothing_can_be_nested_in_an_exact_location(load):
    diag = only(load("server {\n  location = /x {\n    location /x { }\n  }\n}\n"))
    assert diag.rule == "location-outside-parent"
    assert "exact location" in diag.message


def test_root_together_with_alias(load):
    diag = only(load("server {\n  location /f/ {\n    root a;\n    alias b/;\n  }\n}\n"))
    assert diag.rule == "root-with-alias"
    assert where(diag) == (4, 5)


def test_an_invalid_regex_location(load):
    diag = only(load("server {\n  location ~ ^/(a|b { }\n}\n"))
    assert diag.rule == "invalid-regex"
    assert diag.message.startswith('invalid regex "^/(a|b" in "location" directive')
    assert where(diag) == (2, 14)


def test_an_unknown_handler_lists_the_installed_ones(load):
    diag = only(load("server {\n  location / { handler uplod; }\n}\n"))
    assert diag.rule == "unknown-handler"
    assert diag.message == 'unknown handler "uplod"'
    assert where(diag) == (2, 24)
    assert diag.hint.startswith('did you mean "upload"? installed handlers: ')
    assert "upload" in diag.hint.split("installed handlers: ")[1].split(", ")


class Greeter(Handler):
    name = "greeter"

    class Settings(HandlerSettings):
        text: str = "hello"
        repeat: int = 1
        tags: list[str] = []


class Stamp(Handler):
    name = "stamp"

    class Settings(HandlerSettings):
        value: str


@pytest.fixture
def registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    reg.register(Greeter)
    reg.register(Stamp)
    return reg


def load_with(tmp_path: Path, registry: HandlerRegistry, text: str):
    path = tmp_path / "h.conf"
    path.write_text(text)
    return load_config(path, check_fs=False, env={}, registry=registry)


def test_handler_settings_are_validated_into_the_settings_model(tmp_path, registry):
    result = load_with(
        tmp_path,
        registry,
        "server {\n  location / {\n    handler stamp { value 42; }\n"
        '    handler greeter { text "hi there"; repeat 3; tags a b; }\n  }\n}\n',
    )
    assert result.diagnostics == []
    stamp, greeter = result.config.servers[0].locations[0].handlers
    assert (stamp.name, stamp.settings.value) == ("stamp", "42")
    assert greeter.settings == Greeter.Settings(text="hi there", repeat=3, tags=["a", "b"])
    assert greeter.span.line == 4


def test_a_handler_without_a_block_gets_its_default_settings(tmp_path, registry):
    result = load_with(tmp_path, registry, "server {\n  handler greeter;\n}\n")
    (spec,) = result.config.servers[0].context.handlers
    assert spec.settings == Greeter.Settings()


def test_an_unknown_setting_suggests_the_closest_field(tmp_path, registry):
    diag = only(load_with(tmp_path, registry, "server {\n  handler greeter { txet hi; }\n}\n"))
    assert diag.rule == "unknown-handler-setting"
    assert diag.message == 'unknown setting "txet" for handler "greeter"'
    assert where(diag) == (2, 21)
    assert diag.hint == 'did you mean "text"?'


def test_a_setting_of_the_wrong_type_is_reported_at_its_value(tmp_path, registry):
    diag = only(load_with(tmp_path, registry, "server {\n  handler greeter { repeat many; }\n}\n"))
    assert diag.rule == "invalid-handler-setting"
    assert diag.message.startswith('invalid value "many" for setting "repeat" of handler')
    assert where(diag) == (2, 28)


def test_a_missing_required_setting_is_reported_at_the_handler(tmp_path, registry):
    diag = only(load_with(tmp_path, registry, "server {\n  handler stamp;\n}\n"))
    assert diag.rule == "invalid-handler-setting"
    assert diag.message == 'missing setting "value" for handler "stamp"'
    assert where(diag) == (2, 3)


def test_a_setting_given_twice_is_duplicate(tmp_path, registry):
    diag = only(
        load_with(tmp_path, registry, "server {\n  handler stamp { value a; value b; }\n}\n")
    )
    assert diag.rule == "duplicate-setting"


def test_load_module_registers_the_module_handlers(tmp_path, registry):
    (tmp_path / "cfg_test_plugin_mod.py").write_text(
        "from framework import Handler, HandlerSettings\n"
        "class Hello(Handler):\n    name = 'cfg_test_hello'\n"
        "    class Settings(HandlerSettings):\n        n: int = 1\n"
    )
    try:
        result = load_with(
            tmp_path,
            registry,
            "load_module cfg_test_plugin_mod;\nserver {\n  handler cfg_test_hello { n 2; }\n}\n",
        )
    finally:
        sys.modules.pop("cfg_test_plugin_mod", None)
    assert result.diagnostics == []
    assert result.config.load_modules == ["cfg_test_plugin_mod"]
    assert result.config.servers[0].context.handlers[0].settings.n == 2


def test_a_module_that_cannot_be_imported_is_an_error(load):
    diag = only(load("load_module no_such_module_xyz;\n"))
    assert diag.rule == "load-module-failed"
    assert where(diag) == (1, 13)


def test_a_plugin_named_like_a_core_directive_is_an_error(tmp_path, registry):
    (tmp_path / "cfg_test_clash_mod.py").write_text(
        "from framework import Handler\nclass Root(Handler):\n    name = 'root'\n"
    )
    try:
        diag = only(load_with(tmp_path, registry, "load_module cfg_test_clash_mod;\n"))
    finally:
        sys.modules.pop("cfg_test_clash_mod", None)
    assert diag.rule == "handler-name-clash"
    assert "core directive" in diag.message


def test_every_error_is_reported_in_one_run(load, rules):
    result = load(
        "workers none;\n"
        "server {\n"
        "  listen 99999;\n"
        "  autoindx on;\n"
        "  client_max_body_size 1z;\n"
        "  location /a/ { location /b/ { } }\n"
        "  location ~ ( { }\n"
        "  location /f/ { root a; alias b; }\n"
        "  error_page 200 /x;\n"
        "  handler nope;\n"
        "}\n"
        "server {\n  listen 9;\n  root x;\n  root y;\n}\n"
    )
    assert rules(result) == [
        "invalid-value",
        "invalid-port",
        "unknown-directive",
        "invalid-size",
        "location-outside-parent",
        "invalid-regex",
        "root-with-alias",
        "invalid-status",
        "unknown-handler",
        "duplicate-directive",
    ]
    assert all(d.severity == "error" and d.hint is not None or d.rule == "invalid-value"
               for d in result.diagnostics)  # fmt: skip


def test_syntax_errors_and_model_errors_come_together(load, rules):
    result = load("server {\n  listen 0;\n  root a\n}\n")
    assert result.config is None
    assert len(rules(result)) >= 2
    assert "invalid-port" in rules(result)


def test_a_config_file_that_cannot_be_read_is_one_diagnostic(tmp_path):
    result = load_config(tmp_path / "missing.conf")
    assert result.config is None
    ((diag),) = result.diagnostics
    assert diag.rule == "unreadable-file" and "missing.conf" in diag.message


class Limits(HandlerSettings):
    depth: int = 1
    names: list[str] = []


class Nested(Handler):
    """A handler whose settings have a nested block, a list and a mapping."""

    name = "nested"

    class Settings(HandlerSettings):
        limits: Limits = Limits()
        optional: Limits | None = None
        items: list[int] = []
        weights: dict[str, int] = {}

    async def handle(self, request, call_next):
        return await call_next(request)


@pytest.fixture
def nested_registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    reg.register(Nested)
    return reg


def nested(tmp_path, registry, body: str):
    return load_with(tmp_path, registry, f"server {{\n  handler nested {{\n    {body}\n  }}\n}}\n")


def test_nested_settings_blocks_lists_and_mappings_are_built(tmp_path, nested_registry):
    result = nested(
        tmp_path,
        nested_registry,
        "limits { depth 2; names a; }\n    optional { depth 3; }\n    items 7;\n"
        "    weights { a 1; b 2; }",
    )
    assert result.diagnostics == []
    settings = result.config.servers[0].context.handlers[0].settings
    assert settings.limits == Limits(depth=2, names=["a"])  # one value for a list: a list
    assert settings.optional == Limits(depth=3) and settings.items == [7]
    assert settings.weights == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("body", "rule", "message", "position"),
    [
        ("limits { depth x; }", "invalid-handler-setting",
         'invalid value "x" for setting "limits.depth"', (3, 20)),
        ("limits { dpth 1; }", "unknown-handler-setting",
         'unknown setting "limits.dpth" for handler "nested"', (3, 14)),
        ("optional { deep 1; }", "unknown-handler-setting",
         'unknown setting "optional.deep" for handler "nested"', (3, 16)),
        ("limits { depth 1; depth 2; }", "duplicate-setting",
         'setting "limits.depth" of handler "nested" is duplicate', (3, 23)),
        ("items 1 x;", "invalid-handler-setting",
         'invalid value "1 x" for setting "items.1"', (3, 13)),
        ("weights { a 1; b z; }", "invalid-handler-setting",
         'invalid value "z" for setting "weights.b"', (3, 22)),
        ("limits 5;", "invalid-handler-setting",
         'invalid value "5" for setting "limits"', (3, 12)),
        ("items { a 1; }", "invalid-handler-setting",
         'invalid value "{ ... }" for setting "items"', (3, 5)),
    ],
)  # fmt: skip
def test_errors_in_nested_settings_point_at_the_nested_directive(
    tmp_path, nested_registry, body, rule, message, position
):
    diag = only(nested(tmp_path, nested_registry, body))
    assert diag.rule == rule
    assert diag.message.startswith(message)
    assert where(diag) == position


def test_an_unknown_nested_setting_suggests_from_the_nested_model(tmp_path, nested_registry):
    diag = only(nested(tmp_path, nested_registry, "limits { dpth 1; }"))
    assert diag.hint == 'did you mean "depth"?'
