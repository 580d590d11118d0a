"""The CGI script's directory swapped for a symlink to an outside directory holding a
script of the same name, over and over, while requests run: only the script inside the
root ever runs (issue 9, item 4). The script is looked up beneath the root and started
from its directory opened beneath the root, so no swap between the check and the exec
can redirect it."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_hardening_symlink_race import swapping

from framework.testing import ServerProcess

CONFIG = """
server {
    listen 127.0.0.1:{port};
    root www;
    location /cgi/ { cgi .sh; cgi .py /usr/bin/python3; }
}
"""
ROUNDS = 150


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    www_cgi, outside = tmp_path / "www" / "cgi" / "bin", tmp_path / "outside"
    www_cgi.mkdir(parents=True)
    outside.mkdir()
    for base, word in ((www_cgi, "inside"), (outside, "OUTSIDE")):
        (base / "who.sh").write_text(f"#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n{word}'\n")
        (base / "who.sh").chmod(0o755)
        (base / "who.py").write_text(
            f"print('Content-Type: text/plain')\nprint()\nprint('{word}')\n"
        )
    return tmp_path


def test_a_swapped_cgi_directory_never_runs_the_outside_script(serve, tree: Path):
    srv: ServerProcess = serve(CONFIG, cwd=tree)
    seen: dict[tuple[str, int, bytes], int] = {}
    with swapping([(tree / "www" / "cgi" / "bin", tree / "outside")]) as swaps:
        with srv.client() as client:
            for i in range(ROUNDS):
                path = "/cgi/bin/who.sh" if i % 2 else "/cgi/bin/who.py"
                r = client.get(path)
                key = (path, r.status, r.body.strip())
                seen[key] = seen.get(key, 0) + 1
        assert swaps() > 10  # the swapping really ran during the requests
    assert not [k for k in seen if b"OUTSIDE" in k[2]], seen
    # the directory is back: the scripts inside run (what a swap moment answers, 404 or
    # 403 or 200, depends on scheduling; only "never the outside script" is the rule)
    for path in ("/cgi/bin/who.sh", "/cgi/bin/who.py"):
        r = srv.get(path)
        assert (r.status, r.body.strip()) == (200, b"inside")
