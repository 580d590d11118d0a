"""``webserv lsp`` over stdio: what one buffer's validation may and may not see of another
(plugins, includers), bursts of edits, and requests the server must answer rather than drop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp_client import LspClient

from framework.lsp.diagnostics import validate_buffer
from framework.lsp.plugins import RegistryFactory

PLUGIN = """from framework import Handler, HandlerSettings


class S(HandlerSettings):
    greeting: str = "hi"


class Greet(Handler[S]):
    name = "greet"

    @classmethod
    def check(cls, settings, ctx):
        if settings.greeting == "bad":
            yield ctx.error("greeting", "greeting is bad")
"""

USES_GREET = """server {
    listen 8080;
    location / {
        handler greet { greeting bad; }
    }
}
"""


@pytest.fixture
def lsp(tmp_path: Path) -> Iterator[LspClient]:
    """A server of its own: imported plugin modules live as long as its process."""
    client = LspClient(tmp_path)
    client.initialize(tmp_path)
    yield client
    client.kill()


def _codes(published: dict[str, Any]) -> list[str]:
    return [d["code"] for d in published["diagnostics"]]


def _diagnostics(lsp: LspClient, uri: str, version: int) -> dict[str, Any]:
    """The diagnostics published for ``version`` of ``uri`` (earlier ones are skipped)."""
    while (published := lsp.notification("textDocument/publishDiagnostics", uri))[
        "version"
    ] != version:
        assert published["version"] < version
    return published


def _at(uri: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


# -- plugins -------------------------------------------------------------------------------------


def test_a_plugin_is_known_only_in_the_buffer_that_loads_it_and_only_while_it_does(
    lsp: LspClient, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plugin = tmp_path / "a" / "greetplug.py"
    plugin.write_text(PLUGIN)
    loads = "load_module greetplug;\n" + USES_GREET
    b = lsp.open(tmp_path / "b" / "webserv.conf", USES_GREET)
    assert _codes(_diagnostics(lsp, b, 1)) == ["unknown-handler"]
    a = lsp.open(tmp_path / "a" / "webserv.conf", loads)
    assert _codes(_diagnostics(lsp, a, 1)) == ["handler-check"]

    lsp.change(b, 2, USES_GREET + "\n")  # b does not see a's plugin
    assert _codes(_diagnostics(lsp, b, 2)) == ["unknown-handler"]
    lsp.change(a, 2, USES_GREET)  # nor does a, once its load_module line is gone
    assert _codes(_diagnostics(lsp, a, 2)) == ["unknown-handler"]

    # the plugin edited on disk is imported again (a later mtime, not a sleep)
    plugin.write_text(PLUGIN.replace('"bad"', '"worse"'))
    later = os.stat(plugin).st_mtime + 10
    os.utime(plugin, (later, later))
    lsp.change(a, 3, loads)
    assert _diagnostics(lsp, a, 3)["diagnostics"] == []


def test_typing_a_load_module_line_imports_no_module_named_by_a_prefix(
    lsp: LspClient, tmp_path: Path
) -> None:
    marker = "import pathlib\npathlib.Path(__file__).with_suffix('.imported').write_text('')\n"
    for name in ("g", "gr", "gree"):  # prefixes of "greetplug" that are modules too
        (tmp_path / f"{name}.py").write_text(marker)
    (tmp_path / "greetplug.py").write_text(marker + PLUGIN)
    line = "load_module greetplug;"
    uri = lsp.open(tmp_path / "webserv.conf", "\n" + USES_GREET)
    _diagnostics(lsp, uri, 1)
    for end in range(len("load_module "), len(line) + 1):
        version = end + 2
        lsp.change(uri, version, line[:end] + "\n" + USES_GREET)
        published = _diagnostics(lsp, uri, version)
    assert _codes(published) == ["handler-check"]
    assert sorted(p.name for p in tmp_path.glob("*.imported")) == ["greetplug.imported"]


def test_a_plugin_that_fails_to_import_is_reported_each_time_but_run_again_only_when_changed(
    lsp: LspClient, tmp_path: Path
) -> None:
    plugin = tmp_path / "brokenplug.py"
    runs = tmp_path / "runs.txt"
    plugin.write_text(
        "import pathlib\n"
        "with (pathlib.Path(__file__).parent / 'runs.txt').open('a') as f:\n"
        "    f.write('run\\n')\n"
        "raise RuntimeError('no config for you')\n"
    )
    text = "load_module brokenplug;\n"
    uri = lsp.open(tmp_path / "webserv.conf", text)
    for version in (1, 2, 3):
        if version == 3:  # the file changed: worth importing again
            later = os.stat(plugin).st_mtime + 10
            os.utime(plugin, (later, later))
        if version > 1:
            lsp.change(uri, version, text + "\n" * version)
        [found] = _diagnostics(lsp, uri, version)["diagnostics"]
        assert found["code"] == "load-module-failed"
        assert "no config for you" in found["message"]
        assert runs.read_text().count("run") == (1 if version < 3 else 2)


def test_every_prefix_of_a_config_validates_without_an_internal_error(tmp_path: Path) -> None:
    # the server debounces edits, so this checks what it runs on each of them, in process
    (tmp_path / "html").mkdir()
    text = (
        "load_module nosuchplug;\nserver {\n    listen 8080; root html;\n"
        '    location ~ "^/x{2,3}$" { handler static { } return 204; }\n}\n'
    )
    factory = RegistryFactory()
    for end in range(len(text) + 1):
        placed = validate_buffer(text[:end], str(tmp_path / "w.conf"), tmp_path, factory.new())
        assert all(p.diagnostic.rule != "internal-error" for p in placed), text[:end]


# -- bursts of edits -----------------------------------------------------------------------------


def test_a_burst_of_edits_is_published_at_its_last_version_and_completion_answers_meanwhile(
    lsp: LspClient, tmp_path: Path
) -> None:
    (tmp_path / "html").mkdir()
    body = "".join(f"    location /p{i}/ {{ autoindex on; }}\n" for i in range(300))
    text = "server {\n    listen 8080;\n    root html;\n" + body + "}\n"
    uri = lsp.open(tmp_path / "webserv.conf", text)
    _diagnostics(lsp, uri, 1)
    last = 41
    for version in range(2, last + 1):  # each version misspells a different location
        mistake = f"location /p{version}/ {{ autoindx on; }}"
        lsp.change(
            uri, version, text.replace(f"location /p{version}/ {{ autoindex on; }}", mistake)
        )
    labels = {i["label"] for i in lsp.request("textDocument/completion", _at(uri, 3, 4))["items"]}
    assert {"location", "root", "listen", "server_name"} <= labels

    versions = []
    while not versions or versions[-1] != last:
        published = lsp.notification("textDocument/publishDiagnostics", uri)
        versions.append(published["version"])
    assert versions == sorted(set(versions))  # never an older version after a newer one
    [found] = published["diagnostics"]
    assert found["code"] == "unknown-directive"
    assert found["range"]["start"]["line"] == 3 + last  # the line of /p41/


# -- fragments -----------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "html").mkdir()
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.conf").write_text("location /inc/ { autoindex on; }\n")
    (tmp_path / "webserv.conf").write_text(
        "server {\n    listen 8080;\n    root html;\n    include conf.d/*.conf;\n}\n"
    )
    return tmp_path


def test_a_fragment_is_validated_in_the_block_its_includer_puts_it_in(
    lsp: LspClient, site: Path
) -> None:
    fragment = site / "conf.d" / "a.conf"
    uri = lsp.open(fragment, fragment.read_text())
    assert _diagnostics(lsp, uri, 1)["diagnostics"] == []  # no "location" not allowed here
    # the unsaved buffer is what is checked, inside the includer's server
    lsp.change(uri, 2, "location /inc/ {\n    autoindx on;\n    listen 8081;\n}\n")
    found = _diagnostics(lsp, uri, 2)["diagnostics"]
    assert [(d["code"], d["range"]["start"]) for d in found] == [
        ("unknown-directive", {"line": 1, "character": 4}),
        ("not-allowed-here", {"line": 2, "character": 4}),  # listen in a location
    ]


def test_a_fragment_of_server_blocks_is_checked_with_its_includer_open_and_unsaved(
    lsp: LspClient, site: Path
) -> None:
    main = lsp.open(site / "webserv.conf", "include sites/*.conf;\n")  # not saved yet
    _diagnostics(lsp, main, 1)
    (site / "sites").mkdir()
    fragment = site / "sites" / "one.conf"
    fragment.write_text("server {\n    listen 8080;\n    root html;\n    autoindx on;\n}\n")
    uri = lsp.open(fragment, fragment.read_text())
    [found] = _diagnostics(lsp, uri, 1)["diagnostics"]
    assert found["code"] == "unknown-directive"
    assert found["range"]["start"] == {"line": 3, "character": 4}


def test_a_fragment_nothing_includes_says_how_to_get_it_checked_in_context(
    lsp: LspClient, tmp_path: Path
) -> None:
    lone = tmp_path / "deep" / "er" / "still"
    lone.mkdir(parents=True)
    uri = lsp.open(lone / "a.conf", "location /x/ { autoindex on; }\n")
    [found] = _diagnostics(lsp, uri, 1)["diagnostics"]
    assert found["code"] == "not-allowed-here"
    assert "open that file too" in found["message"]


# -- positions, open documents, hover ------------------------------------------------------------


def test_related_information_is_in_client_units_when_the_included_file_is_open(
    lsp: LspClient, site: Path
) -> None:
    included = site / "conf.d" / "a.conf"
    included.write_text('location /a/ { add_header X-A "😀"; autoindx on; }\n')
    main = site / "webserv.conf"
    uri = lsp.open(main, main.read_text())
    [found] = _diagnostics(lsp, uri, 1)["diagnostics"]
    column = included.read_text().index("autoindx")
    assert found["relatedInformation"][0]["location"]["range"]["start"]["character"] == column

    lsp.open(included, included.read_text())
    lsp.change(uri, 2, main.read_text() + "\n")
    [found] = _diagnostics(lsp, uri, 2)["diagnostics"]
    start = found["relatedInformation"][0]["location"]["range"]["start"]
    assert start == {"line": 0, "character": column + 1}  # the emoji is two UTF-16 units


def test_requests_on_a_document_that_is_not_open_answer_null(
    lsp: LspClient, tmp_path: Path
) -> None:
    (tmp_path / "webserv.conf").write_text("server { listen 8080; }\n")
    params = _at((tmp_path / "webserv.conf").as_uri(), 0, 10)
    assert lsp.request("textDocument/hover", params) is None
    assert lsp.request("textDocument/definition", params) is None
    assert lsp.request("textDocument/completion", params)["items"] == []
    formatting = {"textDocument": params["textDocument"], "options": {"tabSize": 4}}
    formatting["options"]["insertSpaces"] = True
    assert lsp.request("textDocument/formatting", formatting) is None


def test_a_negative_position_gets_an_invalid_params_error(lsp: LspClient, tmp_path: Path) -> None:
    uri = lsp.open(tmp_path / "webserv.conf", "server { listen 8080; }\n")
    for method in ("textDocument/completion", "textDocument/hover"):
        request_id = lsp.next_id
        lsp.next_id += 1
        lsp.send({"id": request_id, "method": method, "params": _at(uri, 0, -1)})
        reply = lsp._wait(lambda m, i=request_id: m.get("id") == i and "method" not in m)
        assert reply["error"]["code"] == -32602  # InvalidParams
    assert lsp.request("textDocument/hover", _at(uri, 0, 11)) is not None  # still serving


def test_hover_on_a_quoted_directive_name(lsp: LspClient, tmp_path: Path) -> None:
    uri = lsp.open(tmp_path / "webserv.conf", 'server { "listen" 8080; }\n')
    found = lsp.request("textDocument/hover", _at(uri, 0, 11))
    assert "**listen**" in found["contents"]["value"]
    assert found["range"] == {
        "start": {"line": 0, "character": 9},
        "end": {"line": 0, "character": 17},
    }


def test_completion_follows_each_new_version_of_the_buffer(lsp: LspClient, tmp_path: Path) -> None:
    # the tokens are cached per document version: a change must not be answered from the
    # previous version's tokens
    uri = lsp.open(tmp_path / "webserv.conf", "server {\n    location / {\n        \n")
    labels = {i["label"] for i in lsp.request("textDocument/completion", _at(uri, 2, 8))["items"]}
    assert "listen" not in labels
    lsp.change(uri, 2, "server {\n    location / { }\n        \n")
    labels = {i["label"] for i in lsp.request("textDocument/completion", _at(uri, 2, 8))["items"]}
    assert "listen" in labels
