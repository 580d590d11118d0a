"""Variables end to end: ``return`` with numbered and named captures of the location regex,
the common variables, an ``error_page`` URI with variables, and a Location that variables
cannot split -- differential against real nginx where both answer the same."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from nginx_reference import NGINX, nginx_reference

from framework.testing import HTTPResult, ServerProcess, parse_response, read_until_close

LOCATIONS = r"""
    location ~ ^/user/(?<name>[a-z]+)/(\d+)$ { return 200 "name=$name id=$2 first=$1"; }
    location ~ ^/old/(.*)$ { return 301 /new/$1$is_args$args; }
    location = /vars {
        return 200 "VARS";
    }
    location /pages/ { error_page 404 /show$uri; }
    location /show/ { return 200 "missing: $uri"; }
    location /split { return 302 /to$uri; }
""".replace(
    "VARS",
    "uri=$uri request_uri=$request_uri args=$args arg_b=$arg_b is_args=$is_args host=$host "
    "method=$request_method scheme=$scheme addr=$remote_addr ua=$http_user_agent",
)


@pytest.fixture(scope="module")
def ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int | None]]:
    base = tmp_path_factory.mktemp("variables")
    (base / "www").mkdir()
    ours = ServerProcess(
        "server { listen 127.0.0.1:{port}; root www;\n" + LOCATIONS + "}\n", cwd=base
    )
    with ours:
        if NGINX is None:
            yield ours.port, None
        else:
            nginx = f"server {{ listen 127.0.0.1:PORT; root {base / 'www'};\n{LOCATIONS}}}\n"
            with nginx_reference(base, nginx) as nginx_port:
                yield ours.port, nginx_port


def ask(port: int, target: str, headers: str = "") -> HTTPResult:
    raw = (
        f"GET {target} HTTP/1.1\r\nHost: site.test\r\nUser-Agent: t/1\r\n{headers}"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw.encode("latin-1"))
        return parse_response(read_until_close(sock))[0]


def test_return_with_numbered_and_named_captures(ports) -> None:
    result = ask(ports[0], "/user/bob/42")
    assert (result.status, result.body) == (200, b"name=bob id=42 first=bob")


def test_a_capture_in_a_redirect(ports) -> None:
    port = ports[0]
    result = ask(port, "/old/a/b.html?x=1")
    assert result.status == 301
    assert result.header("Location") == f"http://site.test:{port}/new/a/b.html?x=1"


def test_common_variables(ports) -> None:
    result = ask(ports[0], "/vars?a=1&b=%20two")
    assert result.text == (
        "uri=/vars request_uri=/vars?a=1&b=%20two args=a=1&b=%20two arg_b=%20two is_args=? "
        "host=site.test method=GET scheme=http addr=127.0.0.1 ua=t/1"
    )


def test_error_page_uri_with_variables(ports) -> None:
    result = ask(ports[0], "/pages/none.html")
    assert (result.status, result.text) == (404, "missing: /show/pages/none.html")


def test_a_decoded_uri_cannot_split_the_location_header(ports) -> None:
    result = ask(ports[0], "/split/%20x%E2%82%AC")
    location = result.header("Location") or ""
    assert result.status == 302 and "\r" not in location and " " not in location
    assert location.endswith("/to/split/%20x%E2%82%AC")
    assert ask(ports[0], "/split/%0d%0aX:%20y").status == 400  # refused before routing


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
@pytest.mark.parametrize(
    "target",
    [
        "/user/bob/42",
        "/user/Bob/42",
        "/vars?a=1&b=%20two",
        "/vars",
        "/pages/none.html",
        "/pages/a%20b",
        "/old/a/b.html?x=1",
        "/old/",
    ],
)
def test_same_answer_as_nginx(ports, target: str) -> None:
    ours, theirs = ask(ports[0], target), ask(ports[1], target)
    assert ours.status == theirs.status
    if ours.status == 200:
        assert ours.body == theirs.body
    location = theirs.header("Location")
    if location is not None:
        location = location.replace(f":{ports[1]}", f":{ports[0]}")
    assert ours.header("Location") == location
