"""Each request's app runs in a task of its own, so anyio's task groups and cancel scopes
work as under uvicorn: a Starlette background task runs after the response is written, a body
streamed from a child task while the app waits for its task group, the app's own timeout,
and the pre-2.4 disconnect listener in a task group; on asyncio and uvloop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import ServerProcess, read_response, wait_until

APPS = Path(__file__).resolve().parent.parent / "apps"

CONFIG = f"""
server {{
    listen 127.0.0.1:{{port}};
    asgi_app_dir {APPS};
    location /bg/ {{ asgi asgi_anyio_apps:background_app; }}
    location /child {{ asgi asgi_anyio_apps:child_streams; }}
    location /timeout {{ asgi asgi_anyio_apps:timeout_app; }}
    location /listen {{ asgi asgi_anyio_apps:listener_stream; }}
    location /asyncio-timeout {{ asgi asgi_anyio_apps:asyncio_timeout_app; }}
}}
"""


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def srv(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    base = tmp_path_factory.mktemp("asgi-anyio")
    config = f"event_loop {request.param};\n{CONFIG}"
    with ServerProcess(config, cwd=base) as server:
        yield server


def events(srv: ServerProcess) -> list[str]:
    return srv.get("/bg/events").text.splitlines()


def test_background_task_runs_after_the_response(srv: ServerProcess) -> None:
    with srv.client() as client:
        result = client.get("/bg/run?tag=b1")
        assert result.status == 200 and result.text == "answered"
        assert result.header("content-length") == "8"
        assert client.get("/bg/run?tag=b2").text == "answered"  # same connection
    assert wait_until(lambda: {"background b1", "background b2"} <= set(events(srv)))


def test_body_streamed_by_a_child_task(srv: ServerProcess) -> None:
    with srv.client() as client:
        for _ in range(2):
            result = client.get("/child")
            assert result.status == 200
            assert result.text == ",".join(str(i) for i in range(50)) + ",end"


def test_the_apps_own_timeout(srv: ServerProcess) -> None:
    result = srv.get("/timeout")
    assert (result.status, result.text) == (504, "the app timed out")


def test_asyncio_timeout_in_the_app_keeps_the_connection_usable(srv: ServerProcess) -> None:
    with srv.client() as client:
        for _ in range(2):
            assert client.get("/asyncio-timeout").text == "asyncio timed out"
        assert client.get("/timeout").status == 504
        assert client.connections == 1


def test_disconnect_listener_in_a_task_group(srv: ServerProcess) -> None:
    with srv.connect() as sock:
        sock.sendall(b"GET /listen?l1 HTTP/1.1\r\nHost: t\r\n\r\n")
        head = read_response(sock, head_only=True)
        assert head.status == 200
        assert sock.recv(64)
    assert wait_until(lambda: "listener l1 heard disconnect" in events(srv))
    with srv.client() as client:  # the worker is fine
        assert client.get("/timeout").status == 504
