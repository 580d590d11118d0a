"""Mutation fuzzing of ``load_config``: valid configs with tokens deleted, duplicated, swapped
or replaced (deterministic seeds). Every mutant must come back as diagnostics -- no exception,
no internal error, a config exactly when there is no error, positions inside the sources --
and every renderer must print those diagnostics."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import pytest
from sarif_schema import assert_valid_sarif

from config_grammar.render import render_text
from config_grammar.render_machine import render_json, render_sarif
from framework.config.build import load_config

SEEDS = [
    """
# a static site
workers 2;
error_log stderr info;
server {
    listen 127.0.0.1:8080 default_server;
    server_name example.test *.example.test;
    root www;
    index index.html index.htm;
    error_page 404 /errors/404.html;
    client_max_body_size 10m;
    keepalive_timeout 30s;
    location / { allow_methods GET HEAD; }
    location /files/ { autoindex on; autoindex_format json; allow_methods GET DELETE; }
    location = /exact { return 200 "exact match"; }
    location ^~ /static/ { root static; types { text/css css; image/png png; } }
    location ~* \\.(gif|jpe?g)$ { default_type image/jpeg; }
}
""",
    """
http {
    shutdown_timeout 5s;
    max_connections 512;
    server {
        listen [::1]:8081;
        listen localhost:8082;
        server_name ~^(?<sub>\\w+)\\.test$;
        location /upload { upload_store uploads; allow_methods GET POST PUT DELETE; }
        location /cgi-bin/ {
            cgi .py /usr/bin/python3;
            cgi .sh;
            cgi .bla /usr/bin/true virtual;
            cgi_timeout 10s;
            cgi_buffer_request_body off;
        }
        location /old { return 301 /new/; }
        location /data/ { alias "data dir/"; location /data/deep/ { autoindex on; } }
        location /hello { handler static { } access_log off; }
        include extra/*.conf;
    }
}
""",
    """
server {
    listen 8083;
    root '${ROOT:-www}';
    location /a/ {
        send_timeout 1m;
        client_body_timeout 500ms;
        location /a/b/ { index b.html; location ~ \\.txt$ { default_type text/plain; } }
    }
    location /err { error_page 500 502 =200 /fallback.html; }
}
""",
]

INTERESTING = [
    "{", "}", ";", '"', "'", "\\", "#", "${", "${X}", "${X:-}", "~", "~*", "^~", "=", "(",
    "[", "0", "-1", "65536", "1e3", "²", "10mb", "1.5m", "-5s", "1d", "server", "location",
    "include", "http", "handler", "listen", "root", "alias", '""', "*", "/", "//", "@x",
    "default_server", "[::1]:80", "localhost", "on", "yes",
]  # fmt: skip

_TOKENS = re.compile(r"""\s+|#[^\n]*|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[{};]|[^\s{};]+""")


def tokenize(text: str) -> list[str]:
    return _TOKENS.findall(text)


def mutate(tokens: list[str], rng: random.Random) -> str:
    tokens = list(tokens)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(tokens))
        op = rng.randrange(5)
        if op == 0:
            del tokens[i]
        elif op == 1:
            tokens.insert(i, tokens[i])
        elif op == 2:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == 3:
            tokens[i] = rng.choice(INTERESTING)
        else:
            tokens.insert(i, " " + rng.choice(INTERESTING) + " ")
        if not tokens:
            tokens = ["server"]
    return "".join(tokens)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "extra").mkdir()
    (root / "extra" / "limits.conf").write_text("client_max_body_size 1k;\n")
    return root


# mutants per seed; raise it for a deeper run: WEBSERV_FUZZ_CASES=2000 pytest -k fuzz
PER_SEED = int(os.environ.get("WEBSERV_FUZZ_CASES", "120"))
CASES = [(seed_index, n) for seed_index in range(len(SEEDS)) for n in range(PER_SEED)]


@pytest.mark.parametrize(("seed_index", "n"), CASES)
def test_a_mutated_config_gives_diagnostics_never_an_exception(site, seed_index, n):
    rng = random.Random(seed_index * 100_003 + n)
    text = mutate(tokenize(SEEDS[seed_index]), rng)
    path = site / f"mutant_{seed_index}_{n}.conf"
    path.write_text(text)
    try:
        result = load_config(path, check_fs=bool(n % 2), env={"X": "/x"})
    finally:
        path.unlink()
    internal = [d.message for d in result.diagnostics if d.rule == "internal-error"]
    assert not internal, f"{internal} for:\n{text}"
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert (result.config is None) == bool(errors), text
    for diag in result.diagnostics:
        if diag.span is not None:
            assert diag.span.file in result.sources
            assert diag.span.line >= 1 and diag.span.col >= 1
            assert (diag.span.end_line, diag.span.end_col) >= (diag.span.line, diag.span.col)
    rendered = render_text(result.diagnostics, result.sources)
    assert rendered.count("error[") == len(errors)
    assert len(json.loads(render_json(result.diagnostics))) == len(result.diagnostics)
    sarif = assert_valid_sarif(render_sarif(result.diagnostics))
    assert len(sarif["runs"][0]["results"]) == len(result.diagnostics)


def test_every_seed_is_itself_a_valid_config(site):
    for index, text in enumerate(SEEDS):
        path = site / f"seed_{index}.conf"
        path.write_text(text)
        result = load_config(path, check_fs=False, env={})
        assert result.errors == [], [d.message for d in result.errors]


def test_the_mutations_are_deterministic():
    tokens = tokenize(SEEDS[0])
    assert mutate(tokens, random.Random(7)) == mutate(tokens, random.Random(7))
    assert "".join(tokens) == SEEDS[0]
