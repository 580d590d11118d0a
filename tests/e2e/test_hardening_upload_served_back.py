"""Item 14: an upload's ``Location`` must be fetchable. The README's upload location, run
for real, serves back what it stores; the config the README used to show (``root www;``
plus ``location /upload { upload_store uploads; }``) answered 201 with a Location that
404s, and ``validate-config`` now says so (``upload-not-served``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from framework.testing import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_upload_location() -> str:
    section = README.read_text().split("## Uploads", 1)[1].split("\n## ", 1)[0]
    start = section.index("```nginx\n") + len("```nginx\n")
    return section[start : section.index("```", start)]


def site_config(location: str) -> str:
    return f"server {{\n    listen 127.0.0.1:{{port}};\n    root www;\n{location}}}\n"


def lint(config: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.stdout


def put_then_follow(srv: ServerProcess) -> tuple[int, str | None, int, bytes]:
    created = srv.request("PUT", "/upload/a.txt", b"uploaded bytes")
    location = created.header("Location")
    origin = f"http://127.0.0.1:{srv.port}"  # a local Location is made absolute (nginx)
    if location is not None and location.startswith(origin):
        location = location[len(origin) :]
    fetched = srv.get(location or "/upload/a.txt")
    return created.status, location, fetched.status, fetched.body


def test_the_readme_upload_location_serves_back_what_it_stores(
    serve: Callable[..., ServerProcess], tmp_path: Path
):
    (tmp_path / "www").mkdir()
    config = site_config(readme_upload_location())
    (tmp_path / "site.conf").write_text(config)
    assert "upload-not-served" not in lint(tmp_path / "site.conf")
    srv = serve(config)
    assert put_then_follow(srv) == (201, "/upload/a.txt", 200, b"uploaded bytes")
    assert (tmp_path / "uploads" / "a.txt").read_bytes() == b"uploaded bytes"


def test_a_store_its_location_cannot_serve_is_flagged_and_really_404s(
    serve: Callable[..., ServerProcess], tmp_path: Path
):
    (tmp_path / "www").mkdir()
    config = site_config(
        "    location /upload { upload_store uploads; allow_methods GET POST PUT DELETE; }\n"
    )
    (tmp_path / "site.conf").write_text(config)
    assert "warning[upload-not-served]" in lint(tmp_path / "site.conf")
    srv = serve(config)
    status, location, fetched, _ = put_then_follow(srv)
    assert (status, location, fetched) == (201, "/upload/a.txt", 404)
