"""The WSGI bridge driven in-process over ASGI ``receive``/``send``: messages it produces, the
bounded daemon pool, and a request that ends while its app is still running."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import pytest

from handlers.wsgi_bridge import BoundedWSGIMiddleware, ClientGone, DaemonThreadPool

SCOPE: dict[str, Any] = {
    "type": "http",
    "method": "POST",
    "path": "/app/x",
    "root_path": "/app",
    "query_string": b"a=1",
    "headers": [(b"host", b"example.test"), (b"content-type", b"text/plain")],
    "http_version": "1.1",
    "scheme": "https",
    "server": ("127.0.0.1", 8443),
    "client": ("203.0.113.9", 5555),
}


def serve(
    app: Any,
    body: list[bytes] | None = None,
    send_fails: bool = False,
    scope: dict[str, Any] | None = None,
) -> list[Any]:
    """Run ``app`` for one request; the ASGI messages it sent (or the exception raised)."""
    chunks = list(body or [b""])
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        if send_fails and message["type"] == "http.response.body":
            raise ConnectionResetError("client gone")
        sent.append(message)

    async def main() -> None:
        bridge = BoundedWSGIMiddleware(app, 2, name="wsgi test")
        try:
            await bridge(dict(scope or SCOPE), receive, send)
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            sent.append(exc)
        finally:
            bridge.close()

    asyncio.run(main())
    return sent


def test_a_response_with_content_length_is_one_final_body_message():
    def app(environ, start_response):
        start_response("201 Created", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"hello"]

    start, body = serve(app)
    assert start == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
    }
    assert body == {"type": "http.response.body", "body": b"hello", "more_body": False}


def test_the_environ_follows_pep_3333_and_the_body_is_read_in_pieces():
    seen: dict[str, Any] = {}

    def app(environ, start_response):
        seen.update(environ)
        seen["read"] = [environ["wsgi.input"].read(3), environ["wsgi.input"].read()]
        start_response("200 OK", [])
        return []

    serve(app, [b"abcd", b"efgh"])
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"], seen["QUERY_STRING"]) == ("/app", "/x", "a=1")
    assert seen["wsgi.url_scheme"] == "https" and seen["REMOTE_ADDR"] == "203.0.113.9"
    assert seen["CONTENT_TYPE"] == "text/plain" and seen["HTTP_HOST"] == "example.test"
    assert seen["wsgi.input_terminated"] is True
    assert seen["read"] == [b"abc", b"defgh"]


def test_headers_wait_for_the_first_chunk_so_an_error_can_replace_them():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return [b"sorry"]

    start, *_ = serve(app)
    assert start["status"] == 500 and start["headers"] == []


def test_an_app_raising_before_any_output_raises_in_the_request():
    def app(environ, start_response):
        raise KeyError("boom")

    (error,) = serve(app)
    assert isinstance(error, KeyError)


def test_a_client_that_leaves_closes_the_apps_iterable_and_frees_its_thread():
    closed = threading.Event()

    def app(environ, start_response):
        start_response("200 OK", [])

        def chunks():
            try:
                while True:
                    yield b"x" * 1024
            finally:
                closed.set()

        return chunks()

    sent = serve(app, send_fails=True)
    assert isinstance(sent[-1], ConnectionResetError)
    assert closed.wait(10)


def test_the_pool_never_runs_more_threads_than_its_size_and_they_are_daemons():
    pool = DaemonThreadPool(2, name="bounded")
    gate = threading.Event()
    jobs = [pool.submit(gate.wait, 10) for _ in range(5)]
    threads = [t for t in threading.enumerate() if t.name.startswith("bounded-")]
    assert len(threads) == 2 and all(t.daemon for t in threads)
    gate.set()
    assert [job.result(10) for job in jobs] == [True] * 5
    pool.shutdown()


def test_stopping_the_pool_cancels_what_has_not_started():
    pool = DaemonThreadPool(1, name="stopping")
    gate = threading.Event()
    running = pool.submit(gate.wait, 10)
    queued = pool.submit(int)
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    with pytest.raises(RuntimeError):
        pool.submit(int)
    gate.set()
    assert running.result(10) is True


def test_client_gone_is_a_connection_error():
    assert issubclass(ClientGone, ConnectionError)


def test_the_write_callable_and_the_iterable_stream_in_order():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"first ")
        return iter([b"second ", b"", b"third"])

    start, *bodies = serve(app)
    assert start["status"] == 200
    assert b"".join(m["body"] for m in bodies) == b"first second third"
    assert [m["more_body"] for m in bodies][-1] is False


async def _until(condition: Any) -> None:
    """Let the loop turn until ``condition()`` holds (10 s deadline)."""
    deadline = asyncio.get_running_loop().time() + 10.0
    while not condition():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)


def _quiet_send() -> tuple[list[Any], Any]:
    sent: list[Any] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return sent, send


async def _empty_receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_a_request_cancelled_while_waiting_for_a_thread_never_runs():
    gate = threading.Event()
    ran: list[str] = []

    def app(environ, start_response):
        ran.append(environ["PATH_INFO"])
        if environ["PATH_INFO"] == "/hold":
            gate.wait(10)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    async def main() -> None:
        bridge = BoundedWSGIMiddleware(app, 1, name="wsgi wait")
        sent, send = _quiet_send()
        try:
            holder = asyncio.ensure_future(
                bridge(dict(SCOPE, path="/app/hold"), _empty_receive, send)
            )
            await _until(lambda: ran == ["/hold"])
            waiter = asyncio.ensure_future(
                bridge(dict(SCOPE, path="/app/gone"), _empty_receive, send)
            )
            await _until(lambda: bridge.waiting == 1)
            waiter.cancel()
            await _until(lambda: bridge.waiting == 0)
            gate.set()
            await holder
            await bridge(dict(SCOPE, path="/app/next"), _empty_receive, send)
            await _until(lambda: not bridge.slots.locked())  # the slot came back
        finally:
            bridge.close()

    asyncio.run(main())
    assert ran == ["/hold", "/next"]


def test_past_the_backlog_a_request_is_answered_503_at_once():
    gate = threading.Event()

    def app(environ, start_response):
        gate.wait(10)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    async def main() -> list[Any]:
        bridge = BoundedWSGIMiddleware(app, 1, name="wsgi busy", backlog=0)
        sent, send = _quiet_send()
        try:
            holder = asyncio.ensure_future(bridge(dict(SCOPE), _empty_receive, send))
            await _until(bridge.slots.locked)
            busy, busy_send = _quiet_send()
            await bridge(dict(SCOPE), _empty_receive, busy_send)
            gate.set()
            await holder
            return busy
        finally:
            bridge.close()

    start, body = asyncio.run(main())
    assert start["status"] == 503
    assert (b"retry-after", b"1") in start["headers"]
    assert body["more_body"] is False


def test_output_past_content_length_is_cut_there():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "5")])
        return [b"helloHTTP/1.1 200 OK", b"more"]

    start, body = serve(app)
    assert body == {"type": "http.response.body", "body": b"hello", "more_body": False}
    assert start["headers"] == [(b"content-length", b"5")]


def test_output_short_of_content_length_is_streamed_so_the_engine_closes():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])
        return [b"hello"]

    start, *bodies = serve(app)
    assert b"".join(m["body"] for m in bodies) == b"hello"
    assert [m["more_body"] for m in bodies] == [True] * (len(bodies) - 1) + [False]
    assert len(bodies) >= 2  # never one final message: it would be sent with length 5


@pytest.mark.parametrize("values", [["5", "10"], ["abc"], ["-1"], ["+5"], ["5, 6"]])
def test_a_malformed_or_conflicting_content_length_is_an_error(values):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", v) for v in values])
        return [b"0123456789"]

    (error,) = serve(app)
    assert isinstance(error, ValueError)


def test_the_environ_drops_underscore_names_and_joins_cookies_with_semicolons():
    seen: dict[str, Any] = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return []

    headers = [
        (b"x-user", b"alice"),
        (b"x_user", b"admin"),
        (b"cookie", b"a=1"),
        (b"cookie", b"b=2"),
        (b"content-type", b"text/plain"),
    ]
    serve(app, scope=dict(SCOPE, headers=headers))
    assert seen["HTTP_X_USER"] == "alice"
    assert seen["HTTP_COOKIE"] == "a=1; b=2"
    assert seen["CONTENT_TYPE"] == "text/plain" and "HTTP_CONTENT_TYPE" not in seen


def test_head_ends_the_exchange_after_the_first_chunk_and_closes_the_iterable():
    closed = threading.Event()

    def app(environ, start_response):
        start_response("200 OK", [])

        def chunks():
            try:
                while True:
                    yield b"x" * 1024
            finally:
                closed.set()

        return chunks()

    start, first, last = serve(app, scope=dict(SCOPE, method="HEAD"))
    assert first["more_body"] is True
    assert last == {"type": "http.response.body", "body": b"", "more_body": False}
    assert closed.wait(10)
