"""validate-config on ``$variables``: ``variable-not-expanded`` (warning) where webserv takes
the text literally, ``unknown-variable`` (error, as nginx's ``[emerg] unknown "x" variable``)
where it expands them."""

from __future__ import annotations

from pathlib import Path


def found(result, rule: str):
    return [d for d in result.diagnostics if d.rule == rule]


def test_variables_in_root_and_index_are_warned_at_the_variable(load):
    result = load("server {\n  root /srv/$host;\n  index $x.html;\n}\n")
    assert result.config is not None  # a warning: the config still runs
    root, index = found(result, "variable-not-expanded")
    assert root.severity == "warning"
    assert root.message == (
        'webserv does not expand variables in "root" (nginx does): "$host" is taken literally'
    )
    assert (root.span.line, root.span.col, root.span.end_col) == (2, 13, 18)
    assert index.message == (
        'webserv does not expand variables in "index" (nginx does): "$x" is taken literally'
    )
    assert "try_files" in root.hint


def test_one_warning_per_argument(load):
    result = load("server { location / { alias /a/$1/$2/; } }")
    assert len(found(result, "variable-not-expanded")) == 1


def test_unknown_variable_where_variables_expand_is_an_error(load):
    result = load('server {\n  location / { return 200 "id=$request_idd"; }\n}\n')
    assert result.config is None
    [diag] = found(result, "unknown-variable")
    assert diag.severity == "error"
    assert diag.message == 'unknown "request_idd" variable in "return" directive'
    assert (diag.span.line, diag.span.col) == (2, 31)  # the "$", inside the quotes
    assert "$request_uri" in diag.hint


def test_nginx_variables_webserv_does_not_provide_say_so(load):
    text = (
        "server {\n  add_header X-Id $request_id;\n  add_header X-Up $upstream_http_x_a;\n"
        '  return 200 "$time_iso8601 $realpath_root $hostnam";\n}\n'
    )
    diags = found(load(text), "unknown-variable")
    assert [d.severity for d in diags] == ["error"] * 5
    by_name = {d.message.split('"')[1]: d.message for d in diags}
    for name in ("$request_id", "$upstream_http_x_a", "$time_iso8601", "$realpath_root"):
        assert "is an nginx variable webserv does not provide" in by_name[name], by_name
    # a name nginx does not know either keeps the plain wording
    assert by_name["hostnam"] == 'unknown "hostnam" variable in "return" directive'


def test_known_names_prefixes_captures_and_maps_are_fine(load):
    text = (
        "map $uri $section { ~^/(?<top>\\w+)/ $top; default none; }\n"
        "server {\n  server_name ~^(?<sub>\\w+)\\.example\\.test$;\n"
        "  location ~ ^/u/(?<user>\\w+)/(\\d+)$ {\n"
        '    return 200 "$user $1 $2 $9 $section $sub $http_x_a $arg_q $cookie_c";\n  }\n'
        "  location / {\n    try_files $uri $uri/ /index.html?$args;\n"
        "    error_page 404 /e$uri?s=$status;\n    return 301 $scheme://$host$request_uri;\n"
        "  }\n}\n"
    )
    result = load(text)
    assert found(result, "unknown-variable") == [], [d.message for d in result.diagnostics]
    assert found(result, "variable-not-expanded") == []


def test_regexes_handler_settings_and_types_are_not_templates(load):
    result = load(
        "server {\n  location ~ \\.php$ { }\n  location ~ ^/x/(.*)$ { }\n"
        "  types { text/x-dollar $weird; }\n}\n"
    )
    assert found(result, "variable-not-expanded") == []


def test_an_included_file_is_checked_too(load, tmp_path: Path):
    (tmp_path / "part.conf").write_text("root /srv/$host;\n")
    result = load("server { include part.conf; }")
    [diag] = found(result, "variable-not-expanded")
    assert diag.span.file.endswith("part.conf")
    assert diag.include_chain
