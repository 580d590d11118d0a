"""Every directive of SPEC 4.2: a good value lands in the model, a bad one is an error with
the right rule at the right place."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from config_grammar.names import KNOWN_DIRECTIVES
from framework.config.directives import DIRECTIVES
from framework.config.mime_types import MIME_TYPES
from framework.config.models import AccessLog, CgiRule, ErrorLog, ErrorPage, Return


def located(result):
    """The location of the single-location test config."""
    assert result.config is not None, [d.message for d in result.diagnostics]
    return result.config.servers[0].locations[0]


def in_location(directive: str) -> str:
    return f"server {{\n    listen 8080;\n    location /x/ {{\n        {directive}\n    }}\n}}\n"


LOCATION_CASES = [
    ("root www;", "root", lambda tmp: tmp / "www"),
    ("root /srv/site;", "root", lambda tmp: Path("/srv/site")),
    ("alias /srv/files/;", "alias", lambda tmp: Path("/srv/files")),
    ("index a.html b.html;", "index", lambda tmp: ["a.html", "b.html"]),
    ("autoindex on;", "autoindex", lambda tmp: True),
    ("autoindex_format json;", "autoindex_format", lambda tmp: "json"),
    ("allow_methods GET delete;", "allow_methods", lambda tmp: frozenset({"GET", "DELETE"})),
    ("return 301 /new/;", "return_", lambda tmp: Return(status=301, url="/new/")),
    ("return 308 https://x.org/;", "return_", lambda tmp: Return(status=308, url="https://x.org/")),
    ('return 403 "go away";', "return_", lambda tmp: Return(status=403, text="go away")),
    ("return 204;", "return_", lambda tmp: Return(status=204)),
    ("return https://x.org/;", "return_", lambda tmp: Return(status=302, url="https://x.org/")),
    (
        "error_page 500 502 =200 /oops.html;",
        "error_pages",
        lambda tmp: {
            500: ErrorPage(uri="/oops.html", status_override=200),
            502: ErrorPage(uri="/oops.html", status_override=200),
        },
    ),
    ("types { text/x-foo foo .Bar; }", "types",
     lambda tmp: {"foo": "text/x-foo", "bar": "text/x-foo"}),
    ("default_type text/plain;", "default_type", lambda tmp: "text/plain"),
    ("client_max_body_size 10m;", "client_max_body_size", lambda tmp: 10 << 20),
    ("client_max_body_size 0;", "client_max_body_size", lambda tmp: 0),
    ("client_body_timeout 1500ms;", "client_body_timeout", lambda tmp: 1.5),
    ("send_timeout 2m;", "send_timeout", lambda tmp: 120.0),
    ("access_log off;", "access_log", lambda tmp: AccessLog(target="off")),
    ("access_log logs/a.log json;", "access_log",
     lambda tmp: AccessLog(target=tmp / "logs/a.log", format="json")),
    ("upload_store uploads;", "upload_store", lambda tmp: tmp / "uploads"),
    ("cgi .sh;", "cgi", lambda tmp: [CgiRule(extension=".sh")]),
    ("cgi .py /usr/bin/python3;", "cgi",
     lambda tmp: [CgiRule(extension=".py", interpreter=Path("/usr/bin/python3"))]),
    ("cgi .bla bin/cgi_tester virtual;", "cgi",
     lambda tmp: [CgiRule(extension=".bla", interpreter=tmp / "bin/cgi_tester", virtual=True)]),
    ("cgi_timeout 5s;", "cgi_timeout", lambda tmp: 5.0),
    ("cgi_buffer_request_body off;", "cgi_buffer_request_body", lambda tmp: False),
]  # fmt: skip


@pytest.mark.parametrize(("directive", "field", "expected"), LOCATION_CASES)
def test_a_good_location_directive_sets_its_field(load, tmp_path, directive, field, expected):
    location = located(load(in_location(directive)))
    assert getattr(location, field) == expected(tmp_path)


def test_a_cgi_interpreter_given_by_name_is_found_in_path_once(load):
    location = located(load(in_location("cgi .sh sh;")))
    assert location.cgi[0].interpreter == Path(shutil.which("sh"))


def test_the_builtin_mime_table_is_the_default_types(load):
    location = located(load(in_location("root www;")))
    assert location.types == MIME_TYPES
    assert {"html", "css", "js", "json", "png", "jpg", "svg", "wasm", "mp4"} <= set(MIME_TYPES)


BAD_LOCATION_CASES = [
    ("root;", "invalid-arg-count"),
    ("root a b;", "invalid-arg-count"),
    ("autoindex yes;", "invalid-value"),
    ("autoindex_format xml;", "invalid-value"),
    ("allow_methods GET FETCH;", "invalid-value"),
    ("allow_methods;", "invalid-arg-count"),
    ("return 1000 /x;", "invalid-status"),
    ("return /relative-is-ok-but-this-is-not a b;", "invalid-arg-count"),
    ("return moved;", "invalid-status"),
    ("error_page 404;", "invalid-arg-count"),
    ("error_page 200 /x.html;", "invalid-status"),
    ("error_page 600 /x.html;", "invalid-status"),
    ("error_page 404 =99 /x.html;", "invalid-status"),
    ("error_page 404 =200 /x.html;error_page =200 /x.html;", "invalid-arg-count"),
    ("error_page 404 x.html;", "invalid-value"),
    ("types { html; }", "invalid-arg-count"),
    ("types { notamime html; }", "invalid-value"),
    ("types;", "missing-block"),
    ("client_max_body_size 10q;", "invalid-size"),
    ("client_max_body_size -1;", "invalid-size"),
    ("client_body_timeout soon;", "invalid-time"),
    ("send_timeout 5x;", "invalid-time"),
    ("access_log stdout xml;", "invalid-value"),
    ("cgi py;", "invalid-value"),
    ("cgi .py a b c;", "invalid-arg-count"),
    ("cgi_timeout -1;", "invalid-time"),
    ("cgi_buffer_request_body maybe;", "invalid-value"),
    ("upload_store;", "invalid-arg-count"),
    ("root www { }", "unexpected-block"),
]


@pytest.mark.parametrize(("directive", "rule"), BAD_LOCATION_CASES)
def test_a_bad_location_directive_is_an_error_at_its_position(load, rules, directive, rule):
    result = load(in_location(directive))
    assert result.config is None
    assert rule in rules(result)
    diag = next(d for d in result.diagnostics if d.rule == rule)
    assert diag.severity == "error"
    assert diag.span is not None and diag.span.line == 4 and diag.span.col >= 9


def test_global_directives_set_the_config(load, tmp_path):
    result = load(
        "workers 3;\nevent_loop asyncio;\nerror_log logs/error.log debug;\npid run/w.pid;\n"
        "shutdown_timeout 5s;\nmax_connections 10;\nserver { listen 8080; }\n"
    )
    config = result.config
    assert config is not None
    assert (config.workers, config.event_loop, config.max_connections) == (3, "asyncio", 10)
    assert config.error_log == ErrorLog(target=tmp_path / "logs/error.log", level="debug")
    assert config.pid == tmp_path / "run/w.pid"
    assert config.shutdown_timeout == 5.0
    assert config.source == tmp_path / "webserv.conf"


def test_workers_auto_is_the_cpu_count(load):
    assert load("workers auto;\n").config.workers == (os.cpu_count() or 1)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("workers 0;", "invalid-value"),
        ("workers many;", "invalid-value"),
        ("event_loop trio;", "invalid-value"),
        ("error_log stderr loud;", "invalid-value"),
        ("shutdown_timeout forever;", "invalid-time"),
        ("max_connections -3;", "invalid-value"),
    ],
)
def test_bad_global_values_are_errors(load, rules, text, rule):
    assert rules(load(text + "\n")) == [rule]


def test_server_level_directives_set_the_server(load):
    result = load(
        "server {\n listen 127.0.0.1:8081 default_server;\n listen [::1]:8082;\n"
        " server_name Example.test *.example.test ~^w\\d+\\.test$;\n"
        " client_header_timeout 2s;\n keepalive_timeout 0;\n client_header_max_size 8k;\n}\n"
    )
    server = result.config.servers[0]
    assert [(x.host, x.port, x.default_server) for x in server.listens] == [
        ("127.0.0.1", 8081, True),
        ("::1", 8082, False),
    ]
    assert server.server_names == ["example.test", "*.example.test", "~^w\\d+\\.test$"]
    assert server.client_header_timeout == 2.0
    assert server.keepalive_timeout == 0.0
    assert server.client_header_max_size == 8192


def test_a_server_without_listen_or_name_gets_the_defaults(load):
    server = load("server { }\n").config.servers[0]
    assert [(x.host, x.port) for x in server.listens] == [("0.0.0.0", 8080)]
    assert server.server_names == [""]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("listen 0;", "invalid-port"),
        ("listen 70000;", "invalid-port"),
        ("listen 8080 quic;", "unsupported-feature"),
        ("listen nowhere.invalid:80;", "invalid-listen"),
        ("server_name ~(broken;", "invalid-regex"),
        ("client_header_timeout x;", "invalid-time"),
        ("client_header_max_size big;", "invalid-size"),
        ("handler;", "invalid-arg-count"),
    ],
)
def test_bad_server_values_are_errors(load, rules, text, rule):
    assert rules(load(f"server {{\n  {text}\n}}\n")) == [rule]


def test_locations_keep_modifier_pattern_and_compiled_regex(load):
    result = load(
        "server {\n location = /exact { }\n location ^~ /static/ { }\n"
        " location ~ \\.php$ { }\n location ~* \\.JPG$ { }\n location =/glued { }\n}\n"
    )
    locations = result.config.servers[0].locations
    assert [(x.modifier, x.pattern) for x in locations] == [
        ("=", "/exact"),
        ("^~", "/static/"),
        ("~", "\\.php$"),
        ("~*", "\\.JPG$"),
        ("=", "/glued"),
    ]
    assert locations[0].regex is None and locations[1].regex is None
    assert locations[2].regex.search("/a.php") and not locations[2].regex.search("/a.PHP")
    assert locations[3].regex.search("/a.jpg")
    assert locations[0].span.line == 2


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("location !~ /x { }", "invalid-location"),
        ("location ~ (open { }", "invalid-regex"),
        ("location = { }", "invalid-location"),
        ("location /x;", "missing-block"),
        ("location a b c { }", "invalid-arg-count"),
    ],
)
def test_bad_locations_are_errors(load, rules, text, rule):
    assert rules(load(f"server {{\n  {text}\n}}\n")) == [rule]


def test_http_wrapper_means_the_top_level(load):
    result = load("http {\n  client_max_body_size 5k;\n  server { listen 8080; }\n}\n")
    assert result.diagnostics == []
    assert result.config.servers[0].context.client_max_body_size == 5 * 1024


def test_http_cannot_be_nested_in_http(load, rules):
    assert rules(load("http {\n  http { }\n}\n")) == ["not-allowed-here"]


def test_the_parser_knows_exactly_the_directives_of_the_table():
    assert set(KNOWN_DIRECTIVES) == set(DIRECTIVES)
    assert len(KNOWN_DIRECTIVES) == len(DIRECTIVES) and "listen" in KNOWN_DIRECTIVES


@pytest.mark.parametrize("name", sorted(DIRECTIVES))
def test_a_missing_semicolon_before_any_directive_is_spotted(load, name):
    result = load(f"server {{\n    listen 8080\n    {name} x;\n}}\n")
    missing = [d for d in result.diagnostics if d.rule == "missing-semicolon"]
    assert [(d.span.line, d.span.col) for d in missing] == [(2, 16)]


def test_an_empty_config_gets_every_default_of_spec_4_2(load, tmp_path):
    config = load("server { }\n").config
    assert (config.workers, config.event_loop, config.pid, config.max_connections) == (
        1,
        "auto",
        None,
        1024,
    )
    assert (config.error_log.target, config.error_log.level) == ("stderr", "warn")
    assert config.shutdown_timeout == 30.0 and config.load_modules == []
    server = config.servers[0]
    assert (server.client_header_timeout, server.keepalive_timeout) == (60.0, 75.0)
    assert server.client_header_max_size == 16 * 1024
    ctx = server.context
    assert ctx.root == tmp_path / "html" and ctx.alias is None
    assert ctx.index == ["index.html"] and ctx.autoindex is False
    assert ctx.autoindex_format == "html"
    assert ctx.allow_methods == frozenset({"GET", "HEAD", "POST"})
    assert ctx.return_ is None and ctx.error_pages == {}
    assert ctx.types == MIME_TYPES and ctx.default_type == "application/octet-stream"
    assert ctx.client_max_body_size == 1024 * 1024
    assert (ctx.client_body_timeout, ctx.send_timeout, ctx.cgi_timeout) == (60.0, 60.0, 60.0)
    assert (ctx.access_log.target, ctx.access_log.format) == ("stdout", "combined")
    assert ctx.upload_store is None and ctx.cgi == [] and ctx.handlers == []
    assert ctx.cgi_buffer_request_body is True


def test_the_table_documents_the_spec_defaults():
    documented = {name: spec.default for name, spec in DIRECTIVES.items() if spec.default}
    assert documented["client_max_body_size"] == "1m"
    assert documented["listen"] == "0.0.0.0:8080"
    assert documented["allow_methods"] == "GET HEAD POST"
    assert documented["keepalive_timeout"] == "75s"


def test_a_pcre_named_group_in_server_name_is_stored_in_python_syntax_for_routing(load):
    from framework.routing.servers import ServerSelector

    config = load(
        "server {\n  listen 127.0.0.1:8080;\n  server_name ~^(?<sub>\\w+)\\.test$;\n}\n"
    ).config
    assert config.servers[0].server_names == ["~^(?P<sub>\\w+)\\.test$"]
    chosen = ServerSelector(config).select(("127.0.0.1", 8080), "abc.test")
    assert chosen is config.servers[0]
