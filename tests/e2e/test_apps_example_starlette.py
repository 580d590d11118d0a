"""examples/apps/starlette: the Starlette app, the static page and the upload store answer
from one server as its README says."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from framework.testing import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "apps" / "starlette"


def start(serve: Callable[..., ServerProcess], tmp_path: Path) -> ServerProcess:
    site = tmp_path / "starlette"
    shutil.copytree(EXAMPLE, site, ignore=shutil.ignore_patterns("__pycache__"))
    conf = site / "webserv.conf"
    text = conf.read_text().replace("127.0.0.1:8080", "127.0.0.1:{port}")
    return serve(text, cwd=site, startup_timeout=30)  # imports the app twice: check, worker


def test_the_app_static_files_and_uploads_share_one_server(serve, tmp_path):
    srv = start(serve, tmp_path)

    page = srv.get("/")
    assert page.status == 200 and b'fetch("/api/hello")' in page.body

    hello = srv.get("/api/hello")
    assert hello.status == 200 and hello.header("Content-Type") == "application/json"
    assert json.loads(hello.body) == {
        "hello": "world",
        "path": "/api/hello",
        "root_path": "/api",
        "ready": True,  # the lifespan ran before the first request
    }

    created = srv.request("POST", "/api/notes", '{"text": "buy milk"}')
    assert created.status == 201 and json.loads(created.body) == {"id": 1}
    assert json.loads(srv.get("/api/notes").body) == ["buy milk"]

    ticks = srv.get("/api/ticks?n=3")
    assert ticks.header("Content-Type", "").startswith("text/event-stream")
    assert ticks.body == b"data: tick 0\n\ndata: tick 1\n\ndata: tick 2\n\n"

    upper = srv.request("POST", "/api/upper", b"streamed both ways " * 10000)
    assert upper.body == b"STREAMED BOTH WAYS " * 10000

    boundary = "exampleBoundary"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nuploaded beside the app\r\n--{boundary}--\r\n"
    )
    stored = srv.request(
        "POST", "/uploads/", form, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert stored.status == 201, stored.body
    assert srv.get("/uploads/notes.txt").body == b"uploaded beside the app"
    assert b"notes.txt" in srv.get("/uploads/").body

    assert srv.get("/api/missing").status == 404  # Starlette's own 404
    assert srv.request("PUT", "/api/notes").status == 405  # allow_methods in the location
