"""The test kit for plugin authors: the ``webserv`` fixture and ``Client``."""

from __future__ import annotations

import subprocess
import sys
import textwrap

GREETING = """
from framework import Handler, Response

class Greeting(Handler):
    name = "greeting"
    class Settings(Handler.Settings):
        text: str = "hello"
    async def handle(self, request, call_next):
        return Response(200, self.settings.text)
"""


def test_the_fixture_serves_a_config_with_files_from_a_fresh_directory(webserv):
    srv = webserv(
        "server { listen 127.0.0.1:{port}; root www; }",
        files={"www/index.html": "<h1>home</h1>", "www/data.bin": b"\x00\x01"},
    )
    assert (srv.cwd / "www" / "index.html").read_text() == "<h1>home</h1>"
    assert srv.get("/").body == b"<h1>home</h1>"
    assert srv.get("/data.bin").body == b"\x00\x01"
    other = webserv("server { listen 127.0.0.1:{port}; root www; }")
    assert other.cwd != srv.cwd and other.port != srv.port


def test_the_client_keeps_one_connection_alive_across_requests(webserv):
    srv = webserv("server { listen 127.0.0.1:{port}; root www; }", files={"www/a.txt": "A"})
    with srv.client() as client:
        results = [client.get("/a.txt") for _ in range(3)]
        results.append(client.request("HEAD", "/a.txt"))
        results.append(client.get("/missing"))
        assert [r.status for r in results] == [200, 200, 200, 200, 404]
        assert results[0].body == b"A" and results[3].body == b""
        assert client.connections == 1


def test_the_fixture_is_available_to_any_project_with_webserv_installed(tmp_path):
    (tmp_path / "my_plugins.py").write_text(GREETING)
    (tmp_path / "test_mine.py").write_text(
        textwrap.dedent(
            """
            def test_hello(webserv):
                srv = webserv(
                    'load_module my_plugins;\\n'
                    'server { listen 127.0.0.1:{port}; '
                    'location / { handler greeting { text "hi"; } } }',
                    pythonpath=[PLUGIN_DIR],
                )
                assert srv.get("/").body == b"hi"
            """
        ).replace("PLUGIN_DIR", repr(str(tmp_path)))
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,  # no conftest: the fixture comes from the pytest11 entry point
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
