"""nginx's rules for the URI a proxied request carries (the e2e differential test checks
the same against real nginx) and the upstream request head."""

from __future__ import annotations

from framework.config.directives_proxy import ProxyPass
from framework.config.models import LocationConfig
from framework.http.headers import Headers
from framework.http.request import Request
from handlers.proxy_headers import request_head, response_headers
from handlers.proxy_uri import escape_uri, upstream_uri


def request(target: str, path: str, query: str = "", **headers: str) -> Request:
    return Request("GET", target, path, query, Headers(list(headers.items())))


def test_escape_uri_as_nginx() -> None:
    assert escape_uri("/a b/%/#/?/~/é") == "/a%20b/%25/%23/%3F/~/%C3%A9"
    assert escape_uri("/plain") == "/plain"


def test_without_uri_part_the_raw_target_goes() -> None:
    loc = LocationConfig(pattern="/p/")
    proxy = ProxyPass(url="http://b", host="b")
    assert upstream_uri(request("/p/a/../b%20?x=%41", "/p/b ", "x=%41"), loc, proxy) == (
        "/p/a/../b%20?x=%41"
    )


def test_with_uri_part_the_prefix_is_replaced() -> None:
    loc = LocationConfig(pattern="/p/")
    proxy = ProxyPass(url="http://b/new/", host="b", uri="/new/")
    assert upstream_uri(request("/p/x/y?q=1", "/p/x/y", "q=1"), loc, proxy) == "/new/x/y?q=1"
    assert upstream_uri(request("/p/a%20b", "/p/a b"), loc, proxy) == "/new/a%20b"


def test_after_an_internal_redirect_the_current_uri_goes() -> None:
    loc = LocationConfig(pattern="/p/")
    proxy = ProxyPass(url="http://b", host="b")
    req = request("/old", "/p/new page")
    req.redirects = 1
    assert upstream_uri(req, loc, proxy) == "/p/new%20page"


def test_request_head_order_and_hop_by_hop() -> None:
    loc = LocationConfig(proxy_set_header=[("X-Real-IP", "$remote_addr"), ("Accept", "")])
    req = Request(
        "GET", "/x", "/x", "",
        Headers([("Host", "h"), ("Accept", "*/*"), ("Connection", "close, X-Gone"),
                 ("X-Gone", "1"), ("Proxy-Connection", "k"), ("X-Kept", "2")]),
        client=("192.0.2.1", 5000),
    )  # fmt: skip
    req.state["proxy_host"] = "backend"
    head = request_head(req, loc, "GET", "/x", "Content-Length: 0\r\n").decode()
    assert head == (
        "GET /x HTTP/1.0\r\nX-Real-IP: 192.0.2.1\r\nHost: backend\r\nConnection: close\r\n"
        "Content-Length: 0\r\nX-Kept: 2\r\n\r\n"
    )


def test_response_headers_drop_hop_by_hop_but_keep_upgrade_on_101() -> None:
    items = [("Connection", "keep-alive, X-Gone"), ("X-Gone", "1"), ("Keep-Alive", "t=5"),
             ("Server", "up"), ("Date", "x"), ("Transfer-Encoding", "chunked"),
             ("Content-Length", "3"), ("X-Kept", "1")]  # fmt: skip
    triples = [(name.lower(), name, value) for name, value in items]
    assert response_headers(triples, 200).items() == [("Content-Length", "3"), ("X-Kept", "1")]
    upgrade = [("upgrade", "Upgrade", "websocket"), ("connection", "Connection", "Upgrade")]
    upgraded = response_headers(upgrade, 101)
    assert upgraded.get("upgrade") == "websocket"
