"""The opening handshake, sans I/O: RFC 6455's sample key, 426/400 answers, subprotocol
and permessage-deflate negotiation, and the 101 headers."""

from __future__ import annotations

import pytest

from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.websocket import (
    check_handshake,
    is_websocket_request,
    negotiate_deflate,
    offered_subprotocols,
    response_headers,
)

SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 1.3


def handshake(**changes: str | None) -> Request:
    fields: dict[str, str | None] = {
        "Host": "example.com",
        "Upgrade": "websocket",
        "Connection": "keep-alive, Upgrade",
        "Sec-WebSocket-Key": SAMPLE_KEY,
        "Sec-WebSocket-Version": "13",
    }
    fields.update(changes)
    headers = Headers([(k.replace("_", "-"), v) for k, v in fields.items() if v is not None])
    return Request("GET", "/chat", "/chat", headers=headers)


def test_rfc_sample_key_gives_the_rfc_accept_value() -> None:
    checked = check_handshake(handshake())
    headers = response_headers(checked, None, None, None)
    assert headers["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert (headers["Upgrade"], headers["Connection"]) == ("websocket", "Upgrade")


def test_tokens_are_case_insensitive() -> None:
    assert is_websocket_request(handshake(Upgrade="WebSocket", Connection="UPGRADE"))


@pytest.mark.parametrize(
    ("changes", "status", "header"),
    [
        ({"Upgrade": None}, 426, ("upgrade", "websocket")),
        ({"Connection": "keep-alive"}, 426, ("upgrade", "websocket")),
        ({"Sec-WebSocket-Version": "8"}, 426, ("sec-websocket-version", "13")),
        ({"Sec-WebSocket-Version": None}, 426, ("sec-websocket-version", "13")),
        ({"Sec-WebSocket-Version": "13, 8"}, 426, ("sec-websocket-version", "13")),
        ({"Sec-WebSocket-Key": None}, 400, None),
        ({"Sec-WebSocket-Key": "c2hvcnQ="}, 400, None),
        ({"Sec-WebSocket-Key": "not base64!!"}, 400, None),
    ],
)
def test_refused_handshakes(changes, status, header) -> None:
    with pytest.raises(HTTPError) as info:
        check_handshake(handshake(**changes))
    assert info.value.status == status
    if header is not None:
        assert info.value.headers.get(header[0]) == header[1]


def test_method_and_version() -> None:
    post = handshake()
    post.method = "POST"
    old = handshake()
    old.http_version = "1.0"
    for request in (post, old):
        with pytest.raises(HTTPError) as info:
            check_handshake(request)
        assert info.value.status == 400


def test_subprotocols_offered_in_order_and_only_offered_ones_accepted() -> None:
    request = handshake(**{"Sec-WebSocket-Protocol": "chat.v2, chat.v1"})
    assert offered_subprotocols(request) == ["chat.v2", "chat.v1"]
    checked = check_handshake(request)
    assert response_headers(checked, "chat.v1", None, None)["Sec-WebSocket-Protocol"] == "chat.v1"
    with pytest.raises(ValueError, match="not offered"):
        response_headers(checked, "other", None, None)


def test_permessage_deflate_negotiation() -> None:
    assert negotiate_deflate(()) is None
    assert negotiate_deflate(("x-webkit-deflate-frame",)) is None
    negotiated = negotiate_deflate(("permessage-deflate; client_max_window_bits",))
    assert negotiated is not None
    assert negotiated[1].startswith("permessage-deflate")
    bad = negotiate_deflate(("permessage-deflate; server_max_window_bits=7",))
    assert bad is None  # 7 is outside 8..15: declined, the session goes on uncompressed


def test_extra_headers_are_added() -> None:
    checked = check_handshake(handshake())
    headers = response_headers(checked, None, None, [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    assert headers.get_all("set-cookie") == ["a=1", "b=2"]
