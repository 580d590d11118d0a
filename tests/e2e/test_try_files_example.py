"""examples/spa serves what its comments promise: client routes get the app, a missing
asset or API document is a 404 (JSON for the API), old blog links redirect with captures."""

from __future__ import annotations

import shutil
from pathlib import Path

from framework.testing import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spa"


def test_the_spa_example(tmp_path: Path) -> None:
    site = tmp_path / "spa"
    shutil.copytree(EXAMPLE, site)  # the server writes its config beside it: not in examples/
    text = (site / "spa.conf").read_text().replace("127.0.0.1:8087", "127.0.0.1:{port}")
    index = (site / "site" / "index.html").read_bytes()
    with ServerProcess(text, cwd=site) as srv:
        for route in ("/", "/settings/profile", "/settings/"):
            page = srv.get(route)
            assert (page.status, page.body) == (200, index), route
        assert srv.get("/assets").status == 301  # a directory: $uri/ then the slash added
        assert srv.get("/assets/app.css").header("Content-Type") == "text/css"
        assert srv.get("/assets/missing.css").status == 404
        user = srv.get("/api/users/1")
        assert (user.status, user.header("Content-Type")) == (200, "application/json")
        missing = srv.get("/api/users/2")
        assert (missing.status, missing.body) == (404, b'{"error": "not found"}\n')
        assert missing.header("Content-Type") == "application/json"
        old = srv.get("/blog/2024/hello")
        assert old.status == 301
        assert old.header("Location") == f"http://127.0.0.1:{srv.port}/posts/hello?year=2024"
