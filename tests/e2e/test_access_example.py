"""The shipped access example (examples/access) works as its comments say."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from pathlib import Path

from framework.testing import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "access"


def test_the_access_example_protects_admin_and_status(
    serve: Callable[..., ServerProcess], tmp_path: Path
):
    shutil.copytree(EXAMPLE, tmp_path / "example")
    conf = tmp_path / "example" / "access.conf"
    srv = serve(
        conf.read_text().replace("127.0.0.1:8080", "127.0.0.1:{port}"), cwd=tmp_path / "example"
    )
    demo = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}
    assert srv.get("/").status == 200
    denied = srv.get("/admin/")
    assert denied.status == 401
    assert denied.header("www-authenticate") == 'Basic realm="Admin area"'
    assert srv.get("/admin/", demo).body == b"<p>Admin area: you are in.</p>\n"
    assert srv.get("/admin/public/").status == 200
    assert srv.get("/status/").body == b"ok\n"
    assert srv.get("/htpasswd").status == 404  # the user file is outside the root
