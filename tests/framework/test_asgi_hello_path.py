"""The one-go ASGI answer (start + a single body) builds the engine's ``Response`` and
``Headers`` without their constructors: every slot must still be set as the constructor
would set it, and a header value with CR/LF/NUL is still dropped when written."""

from __future__ import annotations

import asyncio
from typing import Any

from framework.asgi.http import HttpCycle
from framework.http import wire
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response


def answer(headers: list[tuple[bytes, bytes]]) -> Response:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello"})

    async def main() -> Response:
        ready: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        cycle = HttpCycle(Request("GET", "/", "/", "", Headers()), ready, set())
        await app({}, cycle.receive, cycle.send)
        return ready.result()

    return asyncio.run(main())


def test_every_response_slot_is_set_as_the_constructor_sets_it() -> None:
    pairs = [(b"content-type", b"text/plain"), (b"X-Thing", b"1")]
    for _ in range(2):  # the second time from the header-set cache
        fast = answer(pairs)
        slow = Response(201, b"hello", Headers([("content-type", "text/plain"), ("X-Thing", "1")]))
        for name in Response.__slots__:
            if name != "headers":
                assert getattr(fast, name) == getattr(slow, name), name
        for name in Headers.__slots__:
            getattr(fast.headers, name)
        assert list(fast.headers.items()) == list(slow.headers.items())
        assert wire.header_block(fast.headers) == wire.header_block(slow.headers)


def test_a_header_with_cr_lf_or_nul_is_not_written() -> None:
    for bad in (b"a\r\nSet-Cookie: x=1", b"a\nb", b"a\x00b"):
        for _ in range(2):
            block = wire.header_block(answer([(b"x-bad", bad), (b"x-good", b"1")]).headers)
            assert block == "x-good: 1\r\n"
