"""Autoindex: nginx's HTML layout (golden), escaping, ordering, JSON, and the handler."""

import asyncio
import json
import os
from pathlib import Path

import pytest

from framework.config.models import LocationConfig
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from handlers.autoindex import AutoindexHandler, Entry, read_entries, render_html, render_json

T = 1_700_000_000  # 14-Nov-2023 22:13:20 UTC


def test_html_matches_nginx_layout_exactly():
    entries = [Entry("sub", True, T, 0), Entry("a.txt", False, T + 60, 1234)]
    expected = (
        "<html>\r\n<head><title>Index of /x/</title></head>\r\n<body>\r\n"
        '<h1>Index of /x/</h1><hr><pre><a href="../">../</a>\r\n'
        '<a href="sub/">sub/</a>' + " " * 46 + " 14-Nov-2023 22:13 " + " " * 18 + "-\r\n"
        '<a href="a.txt">a.txt</a>' + " " * 45 + " 14-Nov-2023 22:14 " + " " * 15 + "1234\r\n"
        "</pre><hr></body>\r\n</html>\r\n"
    )
    assert render_html("/x/", entries).decode() == expected


def test_names_are_html_escaped_and_hrefs_url_encoded():
    page = render_html("/<t>/", [Entry('<img src=x onerror="a">&.txt', False, T, 1)]).decode()
    assert "<img" not in page
    assert "Index of /&lt;t&gt;/" in page
    assert '<a href="%3Cimg%20src%3Dx%20onerror%3D%22a%22%3E%26.txt">' in page
    assert "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;.txt</a>" in page


def test_long_names_are_cut_at_50_columns_like_nginx():
    name = "n" * 60
    line = render_html("/", [Entry(name, False, T, 1)]).decode().split("\r\n")[4]
    assert line.startswith(f'<a href="{name}">{"n" * 47}..&gt;</a> 14-Nov-2023')


def test_non_utf8_names_are_linked_by_their_bytes():
    name = b"caf\xe9".decode("utf-8", "surrogateescape")
    page = render_html("/", [Entry(name, False, T, 1)])
    assert b'href="caf%E9"' in page


def test_entries_hide_dotfiles_and_list_directories_first_then_bytewise(tmp_path: Path):
    for name in ("b.txt", "A.txt", ".hidden", "a.txt"):
        (tmp_path / name).write_text("x")
    for name in ("zdir", ".git", "Bdir"):
        (tmp_path / name).mkdir()
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    names = [(e.name, e.is_dir) for e in read_entries(str(tmp_path))]
    assert names == [
        ("Bdir", True),
        ("zdir", True),
        ("A.txt", False),
        ("a.txt", False),
        ("b.txt", False),
    ]


def test_json_lists_name_type_mtime_and_file_sizes():
    data = json.loads(render_json([Entry("d", True, T, 0), Entry("f", False, T, 7)]))
    assert data == [
        {"name": "d", "type": "directory", "mtime": "Tue, 14 Nov 2023 22:13:20 GMT"},
        {"name": "f", "type": "file", "mtime": "Tue, 14 Nov 2023 22:13:20 GMT", "size": 7},
    ]


def _run(loc: LocationConfig, path: str, method: str = "GET") -> Response:
    async def passed_on(request: Request) -> Response:
        return Response(599)

    request = Request(method, path, path, "", Headers())
    return asyncio.run(AutoindexHandler.from_location(loc).handle(request, passed_on))


def test_handler_is_only_enabled_with_autoindex_on(tmp_path: Path):
    assert AutoindexHandler.from_location(LocationConfig(root=tmp_path)) is None


def test_handler_lists_a_directory_ending_in_slash(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.txt").write_text("x")
    response = _run(LocationConfig(root=tmp_path, autoindex=True), "/sub/")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert b'<a href="f.txt">f.txt</a>' in response.body


def test_handler_json_format(tmp_path: Path):
    (tmp_path / "f").write_text("abc")
    loc = LocationConfig(root=tmp_path, autoindex=True, autoindex_format="json")
    response = _run(loc, "/")
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body)[0]["size"] == 3


def test_handler_passes_on_uris_without_slash_and_other_methods(tmp_path: Path):
    loc = LocationConfig(root=tmp_path, autoindex=True)
    assert _run(loc, "/file").status == 599
    assert _run(loc, "/", method="POST").status == 599


def test_handler_refuses_a_symlinked_directory_outside_the_root(tmp_path: Path):
    from framework.http.errors import HTTPError

    (tmp_path / "www").mkdir()
    (tmp_path / "private").mkdir()
    os.symlink(tmp_path / "private", tmp_path / "www" / "out")
    with pytest.raises(HTTPError) as info:
        _run(LocationConfig(root=tmp_path / "www", autoindex=True), "/out/")
    assert info.value.status == 404
