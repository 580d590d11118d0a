"""Security and operability lints added when hardening (issue 9, items 9, 12 and 14): each is
checked through ``webserv validate-config`` as a user sees it (file:line:col, rule ID, the
source line with a caret, the hint), with a case that fires and one that does not."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from framework.cli import main

Validate = Callable[..., tuple[int, str]]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """tmp_path/www (with cgi-bin/ and an index) and tmp_path/uploads, all 0755."""
    for sub in ("www/cgi-bin", "uploads"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "www" / "index.html").write_text("hi")
    for path in (tmp_path / "www", tmp_path / "www" / "cgi-bin", tmp_path / "uploads"):
        path.chmod(0o755)
    return tmp_path


@pytest.fixture
def validate(site: Path, capsys: pytest.CaptureFixture[str]) -> Validate:
    """``validate(text, *options)`` runs ``webserv validate-config`` on ``text`` saved as
    site/site.conf; returns (exit code, the text output)."""

    def run(text: str, *options: str) -> tuple[int, str]:
        config = site / "site.conf"
        config.write_text(text)
        code = main(["validate-config", str(config), *options])
        return code, capsys.readouterr().out

    return run


def findings(out: str, rule: str) -> list[tuple[int, int, str]]:
    """(line, col, message) of every ``rule`` diagnostic in the text output."""
    pattern = rf"^\S*site\.conf:(\d+):(\d+): \w+\[{re.escape(rule)}\]: (.*)$"
    return [(int(m[1]), int(m[2]), m[3]) for m in re.finditer(pattern, out, re.M)]


def block(out: str, line: int, col: int, rule: str) -> str:
    """The whole rendered ``rule`` diagnostic (caret and hint lines) at line:col."""
    start = out.index(f"site.conf:{line}:{col}: ")
    while f"[{rule}]" not in out[start : out.index("\n", start)]:
        start = out.index(f"site.conf:{line}:{col}: ", start + 1)
    end = out.find("\n\n", start)
    return out[start : end if end != -1 else None]


# -- item 12: an upload store where any server's CGI runs files ------------------------------


def test_a_store_in_one_server_that_another_server_runs_as_cgi_is_flagged(validate):
    code, out = validate(
        "server {\n"
        "    listen 127.0.0.1:8081;\n"
        "    root www;\n"
        "    location /up/ { upload_store www/cgi-bin; allow_methods PUT; }\n"
        "}\n"
        "server {\n"
        "    listen 127.0.0.1:8082;\n"
        "    root www;\n"
        "    location /cgi-bin/ { cgi .py /usr/bin/python3; }\n"
        "}\n"
    )
    ((line, col, message),) = findings(out, "upload-into-cgi-dir")
    assert (line, col) == (4, 34) and code == 0
    assert "cgi-bin" in message and '"cgi .py" at ' in message and "site.conf:9:" in message
    text = block(out, line, col, "upload-into-cgi-dir")
    assert "^^^^^^^^^^^" in text and "every server" in text


def test_a_store_that_is_a_symlink_to_the_cgi_directory_is_flagged(validate, site):
    (site / "drop").symlink_to(site / "www" / "cgi-bin")
    text = (
        "server {\n    listen 127.0.0.1:8081;\n    location /up/ { upload_store drop; }\n}\n"
        "server {\n    listen 127.0.0.1:8082;\n    root www;\n"
        "    location /cgi-bin/ { cgi .py /usr/bin/python3; }\n}\n"
    )
    _, out = validate(text)
    ((line, col, message),) = findings(out, "upload-into-cgi-dir")
    assert (line, col) == (3, 34) and str(site / "www" / "cgi-bin") in message
    # --no-fs compares lexically: the link is not followed
    _, out = validate(text, "--no-fs")
    assert findings(out, "upload-into-cgi-dir") == []


@pytest.mark.parametrize(
    ("store", "relation"), [("www", "holds"), ("www/cgi-bin/in", "is inside"), (".", "holds")]
)
def test_a_store_above_at_or_below_a_cgi_directory_is_flagged(validate, store, relation):
    _, out = validate(
        "server {\n    listen 127.0.0.1:8081;\n    root www;\n"
        f"    location /up/ {{ upload_store {store}; alias uploads/; }}\n"
        "    location /cgi-bin/ { cgi .sh; }\n}\n"
    )
    ((line, _col, message),) = findings(out, "upload-into-cgi-dir")
    assert line == 4 and f" {relation} " in message


def test_a_regex_cgi_location_executes_under_its_whole_root(validate):
    _, out = validate(
        "server {\n    listen 127.0.0.1:8081;\n    root www;\n"
        "    location ~ \\.py$ { cgi .py /usr/bin/python3; }\n}\n"
        "server {\n    listen 127.0.0.1:8082;\n    root uploads;\n"
        "    location /files/ { upload_store www/files; }\n}\n"
    )
    assert [f[:1] for f in findings(out, "upload-into-cgi-dir")] == [(9,)]


def test_a_store_beside_the_cgi_directory_is_fine(validate):
    _, out = validate(
        "server {\n    listen 127.0.0.1:8081;\n    root www;\n"
        "    location /cgi-bin/ { cgi .py /usr/bin/python3; }\n}\n"
        "server {\n    listen 127.0.0.1:8082;\n"
        "    location /up/ { upload_store uploads; alias uploads/; }\n}\n"
    )
    assert findings(out, "upload-into-cgi-dir") == []


# -- item 12: serving the whole filesystem, or the config's own directory ----------------------


@pytest.mark.parametrize(
    ("directive", "col"),
    [("root /;", 10), ("root /srv/..;", 10), ("location /x/ { alias /; }", 26)],
)
def test_root_or_alias_of_the_filesystem_root_warns(validate, directive, col):
    _, out = validate(f"server {{\n    listen 127.0.0.1:8081;\n    {directive}\n}}\n")
    ((line, c, message),) = findings(out, "serves-filesystem-root")
    assert (line, c) == (3, col) and "whole filesystem" in message
    text = block(out, line, c, "serves-filesystem-root")
    assert "^" in text and "hint: point" in text
    assert findings(out, "serves-config-dir") == []  # one finding for one problem


def test_a_site_root_is_not_the_filesystem_root(validate):
    _, out = validate("server {\n    listen 127.0.0.1:8081;\n    root www;\n}\n")
    assert findings(out, "serves-filesystem-root") == []


def test_a_root_at_the_config_directory_serves_the_config_and_warns(validate, site):
    code, out = validate("server {\n    listen 127.0.0.1:8081;\n    root .;\n}\n")
    ((line, col, message),) = findings(out, "serves-config-dir")
    assert (line, col) == (3, 10) and code == 0
    assert "GET /site.conf" in message and str(site / "site.conf") in message
    assert 'hint: serve a directory of its own (e.g. "root www;")' in block(
        out, line, col, "serves-config-dir"
    )


def test_a_root_above_the_config_directory_or_an_alias_to_it_warns(validate, site):
    _, out = validate(
        "server {\n    listen 127.0.0.1:8081;\n    root www;\n"
        "    location /conf/ { alias ./; }\n}\n"
        f"server {{\n    listen 127.0.0.1:8082;\n    root {site.parent};\n}}\n"
    )
    found = findings(out, "serves-config-dir")
    assert [(line, col) for line, col, _ in found] == [(4, 29), (8, 10)]
    assert "GET /conf/site.conf" in found[0][2]
    assert f"GET /{site.name}/site.conf" in found[1][2]


@pytest.mark.parametrize(
    "location",
    [
        "location / { root www; }",  # another directory answers every URI
        "location / { root .; return 403; }",
        "location / { root .; allow_methods POST; }",
        "location /static/ { root .; }\n    location / { root www; }",  # /static/site.conf
        "location ~ \\.css$ { root .; }\n    location / { }",  # regex cannot match it
    ],
)
def test_locations_that_cannot_return_the_config_do_not_warn(validate, location):
    _, out = validate(f"server {{\n    listen 127.0.0.1:8081;\n    root www;\n    {location}\n}}\n")
    assert findings(out, "serves-config-dir") == [], out


def test_the_server_root_is_reported_once_where_it_is_written(validate):
    _, out = validate(
        "server {\n    listen 127.0.0.1:8081;\n    root .;\n"
        "    location / { }\n    location /a/ { autoindex on; }\n}\n"
    )
    assert [(line, col) for line, col, _ in findings(out, "serves-config-dir")] == [(3, 10)]


# -- item 12: alias and prefix location with different trailing slashes ------------------------


@pytest.mark.parametrize(
    ("location", "col", "words", "hint"),
    [
        ("location /img { alias /srv/img/; }", 27, '"/img../" reaches the parent directory',
         'write "location /img/"'),
        ("location /img { alias /srv/img; }", 27, 'nginx maps it to "/srv/img-x"',
         'write "location /img/" with "alias /srv/img/"'),
        ("location /img/ { alias /srv/img; }", 28, 'maps "/img/x" to "/srv/imgx"',
         'write "alias /srv/img/"'),
    ],
)  # fmt: skip
def test_alias_and_location_without_matching_trailing_slashes_warn(
    validate, location, col, words, hint
):
    _, out = validate(f"server {{\n    listen 127.0.0.1:8081;\n    {location}\n}}\n")
    ((line, c, message),) = findings(out, "alias-traversal")
    assert (line, c) == (3, col) and words in message
    text = block(out, line, c, "alias-traversal")
    assert "^^^^^^^^" in text and f"hint: {hint}" in text


@pytest.mark.parametrize(
    "location",
    [
        "location /img/ { alias /srv/img/; }",
        "location = /favicon.ico { alias /srv/favicon.ico; }",
        "location ~ ^/img/(.*)$ { alias /srv/img; }",
    ],
)
def test_matching_slashes_exact_and_regex_aliases_do_not_warn(validate, location):
    _, out = validate(f"server {{\n    listen 127.0.0.1:8081;\n    {location}\n}}\n", "--no-fs")
    assert findings(out, "alias-traversal") == []


# -- item 14: an upload store its own location cannot serve back -------------------------------


def test_the_old_readme_upload_example_is_flagged(validate, site):
    _, out = validate(
        "server {\n    listen 127.0.0.1:8081;\n    root www;\n"
        "    location /upload { upload_store uploads; allow_methods GET POST PUT DELETE; }\n}\n"
    )
    ((line, col, message),) = findings(out, "upload-not-served")
    assert (line, col) == (4, 37)
    assert f'uploads go to "{site / "uploads"}"' in message
    assert f'GET /upload/NAME reads "{site / "www" / "upload"}/NAME"' in message
    hint = 'hint: serve the store back with "alias uploads/;" in "location /upload/"'
    assert hint in block(out, line, col, "upload-not-served")


@pytest.mark.parametrize(
    "location",
    [
        "location /upload { upload_store www/upload; }",  # root + prefix is the store
        "location /upload/ { upload_store www/upload/; }",
        "location /files/ { upload_store uploads; alias uploads/; }",
        "location /drop/ { upload_store uploads; allow_methods POST PUT; }",  # no GET
        "location ~ ^/up { upload_store uploads; }",  # regex: not mapped by prefix
    ],
)
def test_a_store_its_location_serves_back_or_never_reads_is_fine(validate, location):
    _, out = validate(f"server {{\n    listen 127.0.0.1:8081;\n    root www;\n    {location}\n}}\n")
    assert findings(out, "upload-not-served") == []


def test_the_readme_and_example_upload_configs_serve_back_what_they_store(validate):
    """The location the README's Uploads section shows, and examples/upload, pass
    ``--strict``; the section no longer promises one Location per file."""
    repo = Path(__file__).resolve().parents[3]
    readme = (repo / "README.md").read_text()
    section = readme[readme.index("## Uploads") : readme.index("## Plugins")]
    start = section.index("```nginx\n") + len("```nginx\n")
    snippet = section[start : section.index("```", start)]
    assert "upload_store" in snippet
    code, out = validate(f"server {{\n    listen 127.0.0.1:8081;\n    root www;\n{snippet}}}\n",
                         "--strict")  # fmt: skip
    assert code == 0, out
    example = repo / "examples" / "upload" / "upload.conf"
    assert main(["validate-config", "--strict", str(example)]) == 0
    assert "a Location for the first file" in section and "one Location per file" not in section


# -- item 9: pid and error_log where they cannot be written --------------------------------------


@pytest.mark.parametrize(
    ("directive", "col", "what"),
    [
        ("pid run/webserv.pid;", 5, "pid file"),
        ("error_log logs/error.log warn;", 11, "error log"),
    ],
)
def test_pid_or_error_log_in_a_missing_directory_is_an_error(validate, site, directive, col, what):
    code, out = validate(f"{directive}\nserver {{\n    listen 127.0.0.1:8081;\n    root www;\n}}\n")
    ((line, c, message),) = findings(out, "unwritable-path")
    assert (line, c) == (1, col) and code == 1
    missing = site / directive.split()[1].split("/")[0]
    assert f"cannot write the {what}" in message and f'"{missing}" does not exist' in message
    assert "error[unwritable-path]" in out and "hint: create it (mkdir -p" in block(
        out, 1, c, "unwritable-path"
    )
    code, out = validate(
        f"{directive}\nserver {{\n    listen 127.0.0.1:8081;\n    root www;\n}}\n", "--no-fs"
    )
    assert code == 0 and findings(out, "unwritable-path") == []


def test_pid_that_is_a_directory_or_under_a_file_is_an_error(validate, site):
    (site / "afile").write_text("")
    code, out = validate("pid www;\nerror_log afile/e.log;\nserver {\n    listen 8081;\n}\n")
    found = findings(out, "unwritable-path")
    assert [(line, col) for line, col, _ in found] == [(1, 5), (2, 11)] and code == 1
    assert "it is a directory" in found[0][2] and "is not a directory" in found[1][2]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_pid_in_a_read_only_directory_is_an_error(validate, site):
    (site / "ro").mkdir(mode=0o555)
    code, out = validate("pid ro/webserv.pid;\nserver {\n    listen 8081;\n}\n")
    ((_, _, message),) = findings(out, "unwritable-path")
    assert code == 1 and "is not writable" in message


def test_pid_and_error_log_in_existing_directories_are_fine(validate, site):
    (site / "run").mkdir()
    code, out = validate(
        "pid run/webserv.pid;\nerror_log run/error.log;\nserver {\n    listen 8081;\n"
        "    root www;\n}\n"
    )
    assert code == 0 and findings(out, "unwritable-path") == []
