"""Each lint rule with a case that fires and one that does not."""

from __future__ import annotations

import os

import pytest


def warnings(result, rule: str):
    return [d for d in result.diagnostics if d.rule == rule and d.severity == "warning"]


@pytest.fixture
def site(tmp_path):
    """tmp_path/www with an index and an error page, tmp_path/data."""
    www = tmp_path / "www"
    (www / "errors").mkdir(parents=True)
    (www / "index.html").write_text("hi")
    (www / "errors" / "404.html").write_text("nope")
    (tmp_path / "data").mkdir()
    for path in (www, www / "errors", tmp_path / "data"):
        path.chmod(0o755)
    return tmp_path


def test_an_include_glob_into_a_missing_directory_is_noted_unless_no_fs(load):
    result = load("include conf.d/*.conf;\nserver { }\n", check_fs=True)
    (diag,) = [d for d in result.diagnostics if d.rule == "include-empty-glob"]
    assert result.config is not None and (diag.severity, diag.span.line) == ("info", 1)
    result = load("include conf.d/*.conf;\nserver { }\n", check_fs=False)
    assert result.diagnostics == [] and result.config is not None


def test_a_missing_root_directory_warns(load, site):
    result = load("server {\n  root nowhere;\n}\n", check_fs=True)
    (diag,) = warnings(result, "missing-root")
    assert (diag.span.line, diag.span.col) == (2, 8)
    assert str(site / "nowhere") in diag.message
    assert warnings(load("server {\n  root www;\n}\n", check_fs=True), "missing-root") == []


def test_a_missing_alias_target_warns(load, site):
    result = load("server {\n  location /d/ { alias gone/; }\n}\n", check_fs=True)
    assert len(warnings(result, "missing-root")) == 1
    result = load("server {\n  location /d/ { alias data/; }\n}\n", check_fs=True)
    assert warnings(result, "missing-root") == []


def test_no_fs_skips_filesystem_lints(load, site):
    result = load("server {\n  root nowhere;\n  index nothing.html;\n}\n", check_fs=False)
    assert result.diagnostics == []


def test_an_index_that_exists_nowhere_warns(load, site):
    result = load("server {\n  root www;\n  index main.html;\n}\n", check_fs=True)
    (diag,) = warnings(result, "missing-index")
    assert diag.span.line == 3
    assert warnings(load("server {\n  root www;\n  index main.html index.html;\n}\n",
                         check_fs=True), "missing-index") == []  # fmt: skip


def test_a_missing_index_with_autoindex_on_is_fine(load, site):
    result = load("server {\n  root www;\n  index main.html;\n  autoindex on;\n}\n", check_fs=True)
    assert warnings(result, "missing-index") == []


def test_a_missing_error_page_target_warns(load, site):
    result = load("server {\n  root www;\n  error_page 500 /errors/500.html;\n}\n", check_fs=True)
    (diag,) = warnings(result, "missing-error-page")
    assert diag.span.line == 3 and "/errors/500.html" in diag.message
    ok = load("server {\n  root www;\n  error_page 404 /errors/404.html;\n}\n", check_fs=True)
    assert warnings(ok, "missing-error-page") == []


def test_an_error_page_served_through_a_location_alias_is_found(load, site):
    text = (
        "server {\n  root www;\n  error_page 404 /e/404.html;\n"
        "  location /e/ { alias www/errors/; }\n}\n"
    )
    assert warnings(load(text, check_fs=True), "missing-error-page") == []


def test_a_regex_behind_a_caret_tilde_prefix_can_never_match(load):
    result = load(
        "server {\n  location ^~ /static/ { }\n  location ~ ^/static/.*\\.php$ { }\n"
        "  location ~ ^/other/ { }\n}\n"
    )
    (diag,) = warnings(result, "unreachable-location")
    assert diag.span.line == 3
    assert "^~ /static/" in diag.message


def test_a_regex_is_reachable_when_a_longer_plain_prefix_exists(load):
    result = load(
        "server {\n  location ^~ /static/ { }\n  location /static/img/ { }\n"
        "  location ~ ^/static/img/x { }\n  location ~* ^/static/ { }\n}\n"
    )
    # the plain prefix itself is shadowed by "~* ^/static/"; the regexes are reachable
    (diag,) = warnings(result, "unreachable-location")
    assert diag.message.startswith('location "/static/img/" is never used')


def test_a_regex_identical_to_an_earlier_one_can_never_match(load):
    result = load(
        "server {\n  location ~ \\.py$ { }\n  location ~ \\.py$ { }\n  location ~* \\.py$ { }\n}\n"
    )
    (diag,) = warnings(result, "unreachable-location")
    assert diag.span.line == 3 and "defined earlier" in diag.message


def test_alias_with_a_slash_under_a_prefix_without_one_is_traversal(load):
    result = load("server {\n  location /files { alias /srv/files/; }\n}\n")
    (diag,) = warnings(result, "alias-traversal")
    assert (diag.span.line, diag.span.col) == (2, 27)
    assert "location /files/" in diag.hint
    for safe in ("location /files/ { alias /srv/files/; }", "location = /files { alias /srv/f; }"):
        assert warnings(load(f"server {{\n  {safe}\n}}\n"), "alias-traversal") == []


def test_uploads_into_a_directory_where_cgi_runs_is_flagged(load):
    result = load(
        "server {\n  root www;\n  location ~ \\.py$ { cgi .py /usr/bin/python3; }\n"
        "  location /up/ { upload_store www/uploads; }\n}\n"
    )
    (diag,) = warnings(result, "upload-into-cgi-dir")
    assert diag.span.line == 4 and ".py" in diag.message


def test_uploads_outside_cgi_directories_are_fine(load):
    result = load(
        "server {\n  root www;\n  location /cgi-bin/ { cgi .py /usr/bin/python3; }\n"
        "  location /up/ { upload_store www/uploads; }\n}\n"
    )
    assert warnings(result, "upload-into-cgi-dir") == []


def test_world_writable_roots_upload_dirs_and_cgi_scripts_warn(load, site):
    (site / "up").mkdir()
    (site / "www" / "cgi").mkdir()
    script = site / "www" / "cgi" / "run.sh"
    script.write_text("#!/bin/sh\n")
    for path in (site / "data", site / "up", script):
        os.chmod(path, 0o777)
    result = load(
        "server {\n  root data;\n  location /up/ { upload_store up; }\n"
        "  location /cgi/ { root www; cgi .sh; }\n}\n",
        check_fs=True,
    )
    found = warnings(result, "world-writable")
    assert [d.span.line for d in found] == [2, 3, 4]
    assert "run.sh" in found[2].message


def test_private_directories_are_not_world_writable(load, site):
    (site / "www" / "cgi").mkdir(mode=0o755)
    (site / "www" / "cgi" / "ok.sh").write_text("#!/bin/sh\n")
    (site / "www" / "cgi" / "ok.sh").chmod(0o755)
    result = load("server {\n  root www;\n  location /cgi/ { cgi .sh; }\n}\n", check_fs=True)
    assert warnings(result, "world-writable") == []


def test_a_missing_cgi_interpreter_warns(load, site):
    result = load("server {\n  root www;\n  cgi .x /no/such/interp;\n  cgi .sh /bin/sh;\n}\n",
                  check_fs=True)  # fmt: skip
    (diag,) = warnings(result, "cgi-interpreter-not-found")
    assert (diag.span.line, diag.span.col) == (3, 10)


def test_warnings_do_not_stop_the_config_from_loading(load):
    result = load("server {\n  location /files { alias /srv/files/; }\n}\n")
    assert result.config is not None and result.warnings and not result.errors


def test_top_level_roots_are_checked_too(load, site):
    (site / "open").mkdir()
    os.chmod(site / "open", 0o777)
    assert len(warnings(load("root nowhere;\n", check_fs=True), "missing-root")) == 1
    assert len(warnings(load("http {\n  root open;\n}\n", check_fs=True), "world-writable")) == 1
    assert load("root www;\n", check_fs=True).diagnostics == []


def test_an_include_glob_that_matches_files_does_not_warn(load, tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.conf").write_text("server { listen 81; }\n")
    result = load("include conf.d/*.conf;\n")
    assert warnings(result, "include-empty-glob") == [] and result.config is not None


def test_a_rejected_directive_gets_its_error_and_no_lint_noise(load, site):
    result = load('server {\n  root "";\n  location / { cgi .py ""; index; }\n}\n', check_fs=True)
    assert [d.severity for d in result.diagnostics] == ["error", "error", "error"]


def test_every_lint_rule_has_an_id_a_summary_and_a_unique_name():
    from framework.config.lint import RULES

    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert all(rule.summary and rule.id == rule.id.lower() for rule in RULES)


def test_a_prefix_or_exact_location_without_a_leading_slash_can_never_match(load):
    result = load("server {\n  location static/ { }\n  location = ping { }\n}\n")
    found = warnings(result, "unreachable-location")
    assert [(d.span.line, d.span.col, d.hint) for d in found] == [
        (2, 12, 'write "/static/"'),
        (3, 14, 'write "/ping"'),
    ]
    ok = load("server {\n  location /static/ { }\n  location ~ ping { }\n}\n")
    assert warnings(ok, "unreachable-location") == []
