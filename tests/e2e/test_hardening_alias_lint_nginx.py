"""The ``alias-traversal`` lint's claims, checked against a real nginx (skipped when it is
not installed): for each alias/location pair whose trailing slashes disagree, nginx really
serves a file outside the aliased directory, ``validate-config`` flags the config, and
webserv (which maps every URI inside the alias) does not leak the file."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import ServerProcess, parse_response, read_until_close

pytestmark = requires_nginx

SECRET = "not for the web\n"

# (location and alias, with DIR for the aliased directory; a URI that leaves it under nginx)
CASES = [
    ("location /img { alias DIR/; }", "/img../secret.txt"),  # climbs to the parent
    ("location /img { alias DIR; }", "/img-private/key.txt"),  # a sibling directory
    ("location /img/ { alias DIR; }", "/img/-private/key.txt"),  # a sibling directory
]


def get(port: int, target: str) -> tuple[int, bytes]:
    raw = f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        data = read_until_close(sock)
    result = parse_response(data)[0]
    return result.status, result.body


@pytest.mark.parametrize(("location", "target"), CASES)
def test_what_alias_traversal_flags_leaks_under_nginx(tmp_path: Path, location, target):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_text("png")
    (tmp_path / "img-private").mkdir()
    (tmp_path / "img-private" / "key.txt").write_text(SECRET)
    (tmp_path / "secret.txt").write_text(SECRET)
    block = location.replace("DIR", str(tmp_path / "img"))

    config = tmp_path / "site.conf"
    config.write_text(f"server {{\n    listen 127.0.0.1:{{port}};\n    {block}\n}}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "warning[alias-traversal]" in proc.stdout, proc.stdout

    nginx = f"server {{ listen 127.0.0.1:PORT; {block} }}\n"
    with nginx_reference(tmp_path, nginx) as port:
        assert get(port, target) == (200, SECRET.encode())
    with ServerProcess(config.read_text(), cwd=tmp_path) as ours:
        status, body = get(ours.port, target)
    assert SECRET.encode() not in body and status == 404
