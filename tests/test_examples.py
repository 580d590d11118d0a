"""Every example config validates cleanly, and the top-level example sites serve what their
comments promise."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# configs that need something installed first (their README says how)
NEEDS_INSTALL = {
    "plugins/packaging/hello.conf": "needs `pip install examples/plugins/packaging` (entry point)",
}


def example_configs() -> list:
    params = []
    for path in sorted(EXAMPLES.rglob("*.conf")):
        name = path.relative_to(EXAMPLES).as_posix()
        marks = [pytest.mark.skip(reason=NEEDS_INSTALL[name])] if name in NEEDS_INSTALL else []
        params.append(pytest.param(path, id=name, marks=marks))
    return params


@pytest.mark.parametrize("path", example_configs())
def test_every_example_config_validates_without_errors_or_warnings(path):
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=path.parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "error[" not in proc.stdout


def test_the_top_level_examples_have_no_warnings_either():
    for name in ("static", "vhosts", "redirects", "error_pages"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "framework",
                "validate-config",
                "--strict",
                str(EXAMPLES / f"{name}.conf"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stdout


def copy_example(tmp_path: Path, name: str) -> str:
    """The example's sites copied into tmp_path, and its config text with the port as
    ``{port}`` (for ``serve``)."""
    for site in ("www", "vhosts"):
        shutil.copytree(EXAMPLES / site, tmp_path / site)
    text = (EXAMPLES / name).read_text()
    return re.sub(r"127\.0\.0\.1:808\d", "127.0.0.1:{port}", text)


def test_the_static_example_serves_index_listing_and_custom_404(serve, tmp_path):
    srv = serve(copy_example(tmp_path, "static.conf"))
    index = srv.get("/")
    assert index.status == 200 and b"It works" in index.body
    listing = srv.get("/files/")
    assert listing.status == 200 and b"readme.txt" in listing.body
    text = srv.get("/files/readme.txt")
    assert text.header("Content-Type", "").startswith("text/plain")
    missing = srv.get("/missing")
    assert missing.status == 404 and b"nothing here" in missing.body
    assert srv.request("DELETE", "/").status == 405


def test_the_vhosts_example_chooses_servers_by_host(serve, tmp_path):
    srv = serve(copy_example(tmp_path, "vhosts.conf"))
    assert b"<h1>alpha</h1>" in srv.get("/", headers={"Host": "alpha.test"}).body
    assert b"<h1>beta</h1>" in srv.get("/", headers={"Host": "www.beta.test"}).body
    assert b"<h1>beta</h1>" in srv.get("/", headers={"Host": "beta7.test"}).body
    assert b"<h1>default</h1>" in srv.get("/", headers={"Host": "unknown.test"}).body


def test_the_redirects_example_redirects_and_answers(serve, tmp_path):
    srv = serve(copy_example(tmp_path, "redirects.conf"))
    moved = srv.get("/old/page")
    assert moved.status == 301
    assert moved.header("Location") == f"http://127.0.0.1:{srv.port}/new/"
    health = srv.get("/health")
    assert (health.status, health.body) == (200, b"ok")
    assert srv.get("/private/x").status == 403
    assert srv.get("/private/public/").status != 403  # return is not inherited


def test_the_error_pages_example_serves_custom_pages(serve, tmp_path):
    srv = serve(copy_example(tmp_path, "error_pages.conf"))
    missing = srv.get("/nothing-here")
    assert missing.status == 404 and b"nothing here" in missing.body
    forbidden = srv.get("/files/")
    assert forbidden.status == 403 and b"not for you" in forbidden.body
    soft = srv.get("/files/none.txt")
    assert soft.status == 200 and b"nothing here" in soft.body
