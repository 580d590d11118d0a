"""Each ASGI request runs its app in a task of its own (as uvicorn does): the app's own
timeout while its body streams ends the body as the app says (not the connection); work
after the response (a Starlette background task) neither holds the connection nor is
cancelled; state keyed on the current task and context variables do not leak from one
request of a connection to the next; awaiting another loop's future fails at once in the
app; an invalid response start is a logged 500. On asyncio and uvloop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.asgi.http import ABANDON_GRACE
from framework.testing import ServerProcess, read_response, wait_until

APPS = Path(__file__).resolve().parent.parent / "apps"

CONFIG = f"""
error_log stderr info;
server {{
    listen 127.0.0.1:{{port}};
    asgi_app_dir {APPS};
    location /stream {{ asgi asgi_task_apps:timed_stream; }}
    location /bg/ {{ asgi asgi_task_apps:background_app; }}
    location /who {{ asgi asgi_task_apps:task_scoped; }}
    location /foreign {{ asgi asgi_task_apps:foreign_future; }}
    location /invalid/ {{ asgi asgi_task_apps:invalid_start; }}
}}
"""


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def srv(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    base = tmp_path_factory.mktemp("asgi-tasks")
    with ServerProcess(f"event_loop {request.param};\n{CONFIG}", cwd=base) as server:
        yield server


@pytest.mark.parametrize("kind", ["asyncio", "anyio"])
def test_the_apps_own_timeout_while_streaming_ends_the_body_as_the_app_says(
    srv: ServerProcess, kind: str
) -> None:
    with srv.client() as client:
        for _ in range(2):
            result = client.get(f"/stream?{kind}")
            assert result.status == 200
            assert result.body.endswith(b"END") and len(result.body) > 3
        assert client.connections == 1  # the connection was not cut
    assert not srv.wait_for_log("client left", timeout=0.1)


def test_background_work_neither_holds_the_connection_nor_is_cancelled(
    srv: ServerProcess,
) -> None:
    if (srv.config or "").startswith("event_loop uvloop"):
        pytest.skip("outlives the grace period: once (on asyncio) is enough")

    def events() -> str:
        return srv.get("/bg/events").text

    tag = f"t{srv.port}"
    with srv.client() as client:
        assert client.get(f"/bg/start?tag={tag}").text == "accepted"
        # the next request on the connection is answered while the background work waits
        assert f"bg {tag} started" in client.get("/bg/events").text
        assert client.connections == 1
    assert f"bg {tag} done" not in events()
    # still running past the grace an abandoned app gets
    assert wait_until(
        lambda: float(srv.get(f"/bg/age?tag={tag}").text) > ABANDON_GRACE + 0.5, timeout=30
    )
    assert "killed" not in events()
    assert srv.get(f"/bg/release?tag={tag}").text == "released"
    assert wait_until(lambda: f"bg {tag} done" in events())
    assert "killed" not in events()


def test_task_keyed_state_and_context_do_not_leak_between_requests(srv: ServerProcess) -> None:
    with srv.connect() as sock:  # one connection, two requests (pipelined)
        sock.sendall(
            b"GET /who HTTP/1.1\r\nHost: t\r\nX-User: alice\r\n\r\n"
            b"GET /who HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        first, second = read_response(sock), read_response(sock)
    assert first.body == b"alice 0"
    assert second.body == b"anonymous 0"  # a task (and a context) of its own


def test_awaiting_a_future_of_another_loop_fails_at_once_in_the_app(srv: ServerProcess) -> None:
    result = srv.get("/foreign")
    assert result.status == 200
    assert result.text.startswith("RuntimeError: ") and "different loop" in result.text


@pytest.mark.parametrize(
    ("kind", "logged"),
    [
        ("status-600", "status 600 is outside 100..599"),
        ("status-99", "status 99 is outside 100..599"),
        ("name-space", "header name b'x bad' is not a token"),
        ("name-crlf", "header name b'x-a\\r\\nSet-Cookie: evil' is not a token"),
    ],
)
def test_an_invalid_response_start_is_a_logged_500(
    srv: ServerProcess, kind: str, logged: str
) -> None:
    result = srv.get(f"/invalid/{kind}")
    assert result.status == 500
    assert b"app body" not in result.body
    assert srv.wait_for_log(re.escape(f"invalid ASGI http.response.start: {logged}"))
    with srv.client() as client:  # the worker is fine
        assert client.get("/invalid/ok").text == "app body"


def test_control_characters_in_a_header_value_are_dropped(srv: ServerProcess) -> None:
    data = srv.raw(b"GET /invalid/value-crlf HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head = data.partition(b"\r\n\r\n")[0].lower()
    assert data.startswith(b"HTTP/1.1 200") and b"set-cookie" not in head
