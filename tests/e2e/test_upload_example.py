"""The shipped upload example (examples/upload) validates and works as documented."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from framework.testing import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "upload"


def test_the_upload_example_config_validates():
    result = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", str(EXAMPLE / "upload.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_example_form_page_posts_to_the_store_and_the_store_serves_the_files(
    serve: Callable[..., ServerProcess], tmp_path: Path
):
    shutil.copytree(EXAMPLE, tmp_path / "example")
    conf = tmp_path / "example" / "upload.conf"
    conf.write_text(conf.read_text().replace("127.0.0.1:8080", "127.0.0.1:{port}"))
    srv = serve(conf.read_text(), cwd=tmp_path / "example")

    page = srv.get("/")
    assert page.status == 200
    assert b'action="/upload/"' in page.body and b'enctype="multipart/form-data"' in page.body

    boundary = "exampleBoundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="hi.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nhello upload\r\n--{boundary}--\r\n"
    ).encode()
    r = srv.request(
        "POST", "/upload/", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert r.status == 201 and r.header("Location") == f"http://127.0.0.1:{srv.port}/upload/hi.txt"
    assert srv.get("/upload/hi.txt").body == b"hello upload"
    assert b"hi.txt" in srv.get("/upload/").body
    assert srv.request("DELETE", "/upload/hi.txt").status == 204
    assert srv.get("/upload/hi.txt").status == 404
