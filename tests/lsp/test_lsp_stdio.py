"""``webserv lsp`` end to end: the real server as a subprocess, driven over stdin/stdout with
Content-Length framed JSON-RPC, as an editor drives it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp_client import LspClient

from config_grammar.fmt import format_text
from framework.config.rules import rule_catalog

VALID = """server {
    listen 8080;
    root html;
    location /static/ {
        autoindex on;
    }
}
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "html").mkdir()
    (tmp_path / "webserv.conf").write_text(VALID)
    return tmp_path


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LspClient]:
    """One server for the feature tests (each test opens its own document in its own
    directory); the tests of the process itself start their own."""
    root = tmp_path_factory.mktemp("lsp")
    client = LspClient(root)
    client.initialize(root)
    yield client
    assert client.close() == 0
    assert "Traceback" not in client.stderr


@pytest.fixture
def lsp(shared: LspClient) -> LspClient:
    return shared


@pytest.fixture
def own_lsp(site: Path) -> Iterator[LspClient]:
    client = LspClient(site)
    client.initialize(site)
    yield client
    client.kill()


def _doc(uri: str) -> dict[str, str]:
    return {"uri": uri}


def _at(uri: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": _doc(uri), "position": {"line": line, "character": character}}


def _labels(result: Any) -> set[str]:
    items = result["items"] if isinstance(result, dict) else result
    return {item["label"] for item in items}


def _rng(line: int, start: int, end: int) -> dict[str, dict[str, int]]:
    return {"start": {"line": line, "character": start}, "end": {"line": line, "character": end}}


# -- diagnostics ---------------------------------------------------------------------------------


def test_a_mistake_in_the_buffer_is_published_with_its_range_and_rule_then_cleared(
    lsp: LspClient, site: Path
) -> None:
    # the file on disk is valid: the server must check the buffer, not the file
    buffer = VALID.replace("autoindex on;", "autoindx on;")
    uri = lsp.open(site / "webserv.conf", buffer)
    published = lsp.notification("textDocument/publishDiagnostics", uri)
    assert published["version"] == 1
    [found] = published["diagnostics"]
    assert found["range"] == _rng(4, 8, 16)
    assert found["code"] == "unknown-directive"
    assert found["severity"] == 1  # Error
    assert 'unknown directive "autoindx"' in found["message"]
    assert 'did you mean "autoindex"?' in found["message"]
    help_uri = rule_catalog()["unknown-directive"].help_uri
    assert found.get("codeDescription") == ({"href": help_uri} if help_uri else None)

    lsp.change(uri, 2, VALID)
    fixed = lsp.notification("textDocument/publishDiagnostics", uri)
    assert fixed == {"uri": uri, "version": 2, "diagnostics": []}


def test_warnings_keep_their_severity_and_filesystem_checks_see_the_document_directory(
    lsp: LspClient, site: Path
) -> None:
    uri = lsp.open(site / "webserv.conf", VALID.replace("root html;", "root missing;"))
    [found] = lsp.notification("textDocument/publishDiagnostics", uri)["diagnostics"]
    assert found["code"] == "missing-root"
    assert found["severity"] == 2  # Warning
    assert found["range"] == _rng(2, 9, 16)
    assert str(site / "missing") in found["message"]


def test_columns_are_utf16_code_units_as_lsp_requires(lsp: LspClient, site: Path) -> None:
    # "😀" is one code point but two UTF-16 units: the mistake starts 1 unit later than in
    # code points
    line = '    return 200 "😀"; autoindx on;'
    text = VALID.replace("    autoindex on;\n    }", "    }").replace("    root html;", line)
    uri = lsp.open(site / "webserv.conf", text)
    diagnostics = lsp.notification("textDocument/publishDiagnostics", uri)["diagnostics"]
    [found] = [d for d in diagnostics if d["code"] == "unknown-directive"]
    start = line.index("autoindx") + 1
    assert found["range"] == _rng(2, start, start + len("autoindx"))


def test_a_problem_in_an_included_file_is_shown_on_the_include_line(
    lsp: LspClient, site: Path
) -> None:
    (site / "conf.d").mkdir()
    (site / "conf.d" / "a.conf").write_text("location /a/ {\n    autoindex maybe;\n}\n")
    text = VALID.replace("    root html;\n", "    root html;\n    include conf.d/*.conf;\n")
    uri = lsp.open(site / "webserv.conf", text)
    [found] = lsp.notification("textDocument/publishDiagnostics", uri)["diagnostics"]
    assert found["range"]["start"] == {"line": 3, "character": 4}
    assert found["range"]["end"]["line"] == 3
    assert "conf.d/a.conf:2:" in found["message"]
    assert "maybe" in found["message"]
    [related] = found["relatedInformation"]
    assert related["location"]["uri"] == (site / "conf.d" / "a.conf").as_uri()
    assert related["location"]["range"]["start"]["line"] == 1


def test_a_config_typed_character_by_character_ends_with_the_diagnostics_of_the_whole_text(
    lsp: LspClient, site: Path
) -> None:
    text = VALID + 'server {\n    listen "8081";\n    location ~ "^/x{2,3}$" { return 204; }\n}\n'
    uri = lsp.open(site / "webserv.conf", "")
    lsp.notification("textDocument/publishDiagnostics", uri)
    for end in range(1, len(text) + 1):
        lsp.change(uri, end + 1, text[:end])
    # edits are debounced: some versions are skipped, never published out of order, and the
    # last one is for the whole text (every prefix: test_lsp_buffers.py, in process)
    while (published := lsp.notification("textDocument/publishDiagnostics", uri))["version"] < (
        len(text) + 1
    ):
        assert all(d["code"] != "internal-error" for d in published["diagnostics"])
    assert published["diagnostics"] == []
    assert "Traceback" not in lsp.stderr


def test_an_unsaved_buffer_and_a_self_include_get_diagnostics_too(
    lsp: LspClient, site: Path
) -> None:
    uri = "untitled:Untitled-1"
    lsp.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": uri,
                "languageId": "webserv",
                "version": 1,
                "text": "wrkers 2;\n",
            }
        },
    )
    [found] = lsp.notification("textDocument/publishDiagnostics", uri)["diagnostics"]
    assert found["code"] == "unknown-directive"
    assert found["range"] == _rng(0, 0, 6)

    cyclic = lsp.open(site / "webserv.conf", "include webserv.conf;\n" + VALID)
    [cycle] = lsp.notification("textDocument/publishDiagnostics", cyclic)["diagnostics"]
    assert cycle["code"] == "include-cycle"
    assert cycle["range"]["start"]["line"] == 0


# -- completion ----------------------------------------------------------------------------------


def test_completion_in_a_location_block_offers_location_directives_only(
    lsp: LspClient, site: Path
) -> None:
    text = "server {\n    listen 8080;\n    location / {\n        \n    }\n}\n"
    uri = lsp.open(site / "webserv.conf", text)
    labels = _labels(lsp.request("textDocument/completion", _at(uri, 3, 8)))
    assert {"root", "alias", "autoindex", "return", "location", "handler"} <= labels
    assert not labels & {"server_name", "listen", "server", "workers", "http"}


def test_completion_follows_the_block_even_while_it_is_half_typed(
    lsp: LspClient, site: Path
) -> None:
    text = "workers 2;\nserver {\n    ser"  # no closing brace, a word being typed
    uri = lsp.open(site / "webserv.conf", text)
    in_server = _labels(lsp.request("textDocument/completion", _at(uri, 2, 7)))
    assert {"server_name", "listen", "location", "root"} <= in_server
    assert not in_server & {"server", "workers", "alias"}
    top = _labels(lsp.request("textDocument/completion", _at(uri, 0, 0)))
    assert {"server", "workers", "http", "load_module"} <= top
    assert not top & {"listen", "alias"}


def test_completion_of_argument_values_comes_from_the_directive_table(
    lsp: LspClient, site: Path
) -> None:
    text = (
        "server {\n    location / {\n        autoindex_format ;\n        autoindex ;\n"
        "        handler ;\n        root ;\n    }\n}\n"
    )
    uri = lsp.open(site / "webserv.conf", text)
    assert _labels(lsp.request("textDocument/completion", _at(uri, 2, 25))) == {"html", "json"}
    assert _labels(lsp.request("textDocument/completion", _at(uri, 3, 18))) == {"on", "off"}
    handlers = _labels(lsp.request("textDocument/completion", _at(uri, 4, 16)))
    assert {"static", "autoindex", "cgi"} <= handlers
    assert _labels(lsp.request("textDocument/completion", _at(uri, 5, 13))) == set()


def test_no_completion_inside_a_comment(lsp: LspClient, site: Path) -> None:
    uri = lsp.open(site / "webserv.conf", "# a comment about \nserver {}\n")
    assert _labels(lsp.request("textDocument/completion", _at(uri, 0, 19))) == set()


# -- hover ---------------------------------------------------------------------------------------


def test_hover_on_a_directive_name_shows_syntax_contexts_default_and_inheritance(
    lsp: LspClient, site: Path
) -> None:
    uri = lsp.open(site / "webserv.conf", VALID)
    hover = lsp.request("textDocument/hover", _at(uri, 4, 11))
    assert hover["range"] == _rng(4, 8, 17)
    text = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    assert "autoindex on|off;" in text
    assert "Contexts: top level, server, location" in text
    assert "Default: `off`" in text
    assert "Inherited: yes" in text
    listen = lsp.request("textDocument/hover", _at(uri, 1, 5))["contents"]["value"]
    assert "Contexts: server" in listen and "Inherited: no" in listen
    assert lsp.request("textDocument/hover", _at(uri, 4, 19)) is None  # the argument "on"


# -- formatting ----------------------------------------------------------------------------------


def test_formatting_returns_the_fmt_result_as_one_whole_document_edit(
    lsp: LspClient, site: Path
) -> None:
    messy = "server{listen 8080;\n  root html;   # docs\n\n\n\nlocation /a/ {return 204;}}"
    uri = lsp.open(site / "webserv.conf", messy)
    options = {"tabSize": 4, "insertSpaces": True}
    [edit] = lsp.request("textDocument/formatting", {"textDocument": _doc(uri), "options": options})
    assert edit["newText"] == format_text(messy)
    assert edit["range"] == {
        "start": {"line": 0, "character": 0},
        "end": {"line": 5, "character": 27},  # after the last "}" (no final newline)
    }

    lsp.change(uri, 2, format_text(messy))
    assert (
        lsp.request("textDocument/formatting", {"textDocument": _doc(uri), "options": options})
        == []
    )
    lsp.change(uri, 3, "server {\n    root html\n")  # does not parse: no edit
    assert (
        lsp.request("textDocument/formatting", {"textDocument": _doc(uri), "options": options})
        is None
    )


# -- definition ----------------------------------------------------------------------------------


def test_definition_on_an_include_goes_to_every_file_its_glob_matches(
    lsp: LspClient, site: Path
) -> None:
    (site / "conf.d").mkdir()
    for name in ("b.conf", "a.conf", "notes.txt"):
        (site / "conf.d" / name).write_text("# empty\n")
    text = "server {\n    include conf.d/*.conf;\n    include 'conf.d/b.conf';\n}\n"
    uri = lsp.open(site / "webserv.conf", text)
    found = lsp.request("textDocument/definition", _at(uri, 1, 16))
    assert [loc["uri"] for loc in found] == [
        (site / "conf.d" / "a.conf").as_uri(),
        (site / "conf.d" / "b.conf").as_uri(),
    ]
    quoted = lsp.request("textDocument/definition", _at(uri, 2, 20))
    assert [loc["uri"] for loc in quoted] == [(site / "conf.d" / "b.conf").as_uri()]
    assert lsp.request("textDocument/definition", _at(uri, 1, 5)) in (None, [])  # the name


def test_definition_on_an_error_page_uri_goes_to_the_file_its_location_maps_it_to(
    lsp: LspClient, site: Path
) -> None:
    (site / "pages").mkdir()
    (site / "pages" / "404.html").write_text("not here\n")
    text = (
        "server {\n    listen 8080;\n    root html;\n    error_page 404 /errors/404.html;\n"
        "    location /errors/ {\n        alias pages/;\n    }\n}\n"
    )
    uri = lsp.open(site / "webserv.conf", text)
    found = lsp.request("textDocument/definition", _at(uri, 3, 25))
    assert [loc["uri"] for loc in found] == [(site / "pages" / "404.html").as_uri()]


# -- the process ---------------------------------------------------------------------------------


def test_shutdown_then_exit_ends_the_server_with_exit_code_0(own_lsp: LspClient) -> None:
    assert own_lsp.close() == 0


def test_exit_without_shutdown_ends_the_server_with_exit_code_1(own_lsp: LspClient) -> None:
    own_lsp.notify("exit")
    assert own_lsp.wait() == 1


def test_a_plugin_that_prints_cannot_corrupt_the_protocol_stream(
    own_lsp: LspClient, site: Path
) -> None:
    (site / "noisy_plugin.py").write_text("print('hello from a plugin')\n")
    uri = own_lsp.open(site / "webserv.conf", "load_module noisy_plugin;\n" + VALID)
    published = own_lsp.notification("textDocument/publishDiagnostics", uri)
    assert published["diagnostics"] == []
    assert own_lsp.close() == 0
    assert "hello from a plugin" in own_lsp.stderr
