"""HEAD to an NPH script whose head ends with bare LFs (``\\n\\n``, which clients accept)
gets the head only: the raw message is cut at the first empty line, CRLF or LF, so the
script's body cannot follow a HEAD answer on a keep-alive or pipelined connection."""

from __future__ import annotations

import pytest

from framework.http.responder import _RawHead
from framework.testing import read_until_close, write_files

SCRIPTS = {
    "www/cgi/nph-lf.sh": (
        "#!/bin/sh\nprintf 'HTTP/1.1 200 OK\\nContent-Type: text/plain\\n\\nnph lf body'\n"
    ),
    "www/cgi/nph-mixed.sh": (
        "#!/bin/sh\nprintf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\n\\nnph mixed body'\n"
    ),
}

CONFIG = """server {
    listen 127.0.0.1:{port};
    root www;
    location /cgi/ { cgi .sh; }
}
"""


@pytest.fixture
def srv(serve, tmp_path):
    write_files(tmp_path, SCRIPTS)
    for name in SCRIPTS:
        (tmp_path / name).chmod(0o755)
    return serve(CONFIG)


@pytest.mark.parametrize("script", ["nph-lf.sh", "nph-mixed.sh"])
def test_head_to_an_nph_script_with_lf_line_ends_gets_no_body(srv, script):
    with srv.connect() as sock:
        sock.sendall(f"HEAD /cgi/{script} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        data = read_until_close(sock)
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert data.endswith(b"Content-Type: text/plain\n\n"), data


def test_get_to_the_same_script_gets_the_whole_message(srv):
    with srv.connect() as sock:
        sock.sendall(b"GET /cgi/nph-lf.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_until_close(sock).endswith(b"\n\nnph lf body")


@pytest.mark.parametrize(
    "message",
    [
        b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nBODY",
        b"HTTP/1.1 200 OK\nA: b\n\nBODY",
        b"HTTP/1.1 200 OK\r\nA: b\n\nBODY",
        b"HTTP/1.1 200 OK\nA: b\r\n\r\nBODY",
    ],
)
def test_the_head_is_cut_wherever_the_chunks_split(message):
    head = message[: message.index(b"BODY")]
    for i in range(len(message) + 1):
        for j in range(i, len(message) + 1):
            cutter = _RawHead()
            parts = (message[:i], message[i:j], message[j:])
            assert b"".join(cutter.take(p) for p in parts) == head, (i, j)
