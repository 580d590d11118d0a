"""The test kit's ``ServerProcess`` survives another process taking its port between
``free_port()`` and the server's bind (tests running in parallel): it picks another port."""

from __future__ import annotations

import socket
from pathlib import Path

from framework.testing import ServerProcess


def test_a_port_taken_before_the_server_binds_it_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("ok\n")
    server = ServerProcess("server { listen 127.0.0.1:{port}; root .; }\n", cwd=tmp_path)
    taken = server.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        with server:
            assert server.port != taken
            assert server.get("/").body == b"ok\n"
            assert f"127.0.0.1:{server.port}" in (tmp_path / "webserv-test.conf").read_text()
