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


def serve(app: Any, body: list[bytes] | None = None, send_fails: bool = False) -> list[Any]:
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
            await bridge(dict(SCOPE), receive, send)
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
