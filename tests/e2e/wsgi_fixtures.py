"""A real Flask app for the WSGI end-to-end tests, and a second app object in the same module
(``control``, its own location and so its own thread pool) that reports the first one's
state: requests in progress, generators closed, bytes produced, pool threads."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

from framework.testing import ServerProcess, wait_until

FLASK_SITE = """
import hashlib
import threading

from flask import Flask, Response, jsonify, request

app = Flask(__name__)
control = Flask("control")
lock = threading.Lock()
state = {"running": 0, "closed": 0, "produced": 0}
released = threading.Event()


@app.get("/")
def index():
    return "hello from flask"


@app.post("/form")
def form():
    return jsonify(dict(request.form))


@app.post("/json")
def json_body():
    return jsonify(got=request.get_json())


@app.get("/stream")
def stream():
    count = int(request.args["n"])

    def lines():
        for i in range(count):
            yield f"line {i}\\n"

    return Response(lines(), mimetype="text/plain")


@app.post("/upload")
def upload():
    digest, total = hashlib.sha256(), 0
    while chunk := request.stream.read(65536):
        digest.update(chunk)
        total += len(chunk)
    return jsonify(bytes=total, sha256=digest.hexdigest())


@app.get("/fail")
def fail():
    raise RuntimeError("flask route failed on purpose")


@app.get("/environ")
def environ():
    keys = (
        "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR",
        "SERVER_PROTOCOL", "SERVER_PORT", "wsgi.url_scheme", "HTTP_X_CUSTOM",
        "wsgi.multithread", "wsgi.input_terminated",
    )
    found = {key: request.environ.get(key) for key in keys}
    found["thread"] = threading.current_thread().name
    found["url"] = request.url
    return jsonify(found)


@app.get("/endless")
def endless():
    def chunks():
        try:
            while True:
                with lock:
                    state["produced"] += 65536
                yield b"x" * 65536
        finally:
            with lock:
                state["closed"] += 1

    return Response(chunks(), mimetype="application/octet-stream")


@app.get("/wait")
def wait():
    with lock:
        state["running"] += 1
    try:
        done = released.wait(float(request.args.get("timeout", "30")))
    finally:
        with lock:
            state["running"] -= 1
    return "released" if done else "timed out"


def raw_fail(environ, start_response):
    raise ValueError("raw wsgi app failed on purpose")


@control.get("/state")
def get_state():
    prefix = "wsgi flask_site:app-"
    threads = [t.name for t in threading.enumerate() if t.name.startswith(prefix)]
    with lock:
        return jsonify(dict(state, threads=len(threads)))


@control.post("/release")
def release():
    released.set()
    return "ok"
"""


def site_files() -> dict[str, str | bytes]:
    """The app module and a static file beside it."""
    return {"apps/flask_site.py": FLASK_SITE, "www/static/logo.txt": "static beside the app\n"}


def state(srv: ServerProcess) -> dict[str, int]:
    """The Flask app's counters, read through the control app."""
    result = srv.get("/control/state")
    assert result.status == 200, result.body
    return json.loads(result.body)


def wait_state(srv: ServerProcess, check: Callable[[dict[str, int]], bool]) -> dict[str, int]:
    """Poll the app's state until ``check`` holds (10 s deadline); the last state."""
    last: dict[str, int] = {}

    def holds() -> bool:
        nonlocal last
        last = state(srv)
        return check(last)

    assert wait_until(holds, 10.0), last
    return last


def send_request(srv: ServerProcess, path: str) -> socket.socket:
    """A connection that has sent ``GET path`` (the caller reads or closes it)."""
    sock = srv.connect()
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    return sock


def read_some(sock: socket.socket, amount: int) -> int:
    """Read at least ``amount`` bytes; how many were read."""
    got = 0
    while got < amount:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        got += len(data)
    return got


def quiet(read: Callable[[], int], settle: float = 0.5) -> bool:
    """Whether ``read()`` stops changing for ``settle`` seconds (polled for 10 s)."""
    deadline = time.monotonic() + 10.0
    last, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= settle:
            return True
    return False
