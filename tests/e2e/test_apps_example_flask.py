"""examples/apps/flask: the Flask app over WSGI and its static files, as its README says."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from framework.testing import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "apps" / "flask"


def start(serve: Callable[..., ServerProcess], tmp_path: Path) -> ServerProcess:
    site = tmp_path / "flask"
    shutil.copytree(EXAMPLE, site, ignore=shutil.ignore_patterns("__pycache__"))
    conf = site / "webserv.conf"
    text = conf.read_text().replace("127.0.0.1:8081", "127.0.0.1:{port}")
    return serve(text, cwd=site, startup_timeout=30)  # imports the app twice: check, worker


def test_the_flask_example_serves_the_app_and_its_static_files(serve, tmp_path):
    srv = start(serve, tmp_path)

    index = srv.get("/")
    assert index.status == 200 and b"Flask on webserv" in index.body

    form = srv.request(
        "POST", "/items", "name=pen", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert form.status == 201 and json.loads(form.body) == {"id": 1}
    data = srv.request("POST", "/items", '{"name": "ink"}', {"Content-Type": "application/json"})
    assert json.loads(data.body) == {"id": 2}
    assert json.loads(srv.get("/items").body) == ["pen", "ink"]

    count = srv.get("/count?to=20000")
    assert count.header("Transfer-Encoding") == "chunked"
    assert count.body.decode().split() == [str(i) for i in range(1, 20001)]

    size = srv.request("POST", "/size", b"z" * (5 << 20))
    assert json.loads(size.body) == {"bytes": 5 << 20}

    who = json.loads(srv.get("/whoami").body)
    assert who["remote_addr"] == "127.0.0.1" and who["url_scheme"] == "http"
    assert who["script_name"] == "" and who["path_info"] == "/whoami"

    assert srv.get("/fail").status == 500
    assert srv.wait_for_log("RuntimeError: this route fails on purpose")

    css = srv.get("/static/style.css")
    assert css.status == 200 and css.header("Content-Type", "").startswith("text/css")
    assert css.header("Cache-Control") == "max-age=3600"  # webserv's expires, not Flask
