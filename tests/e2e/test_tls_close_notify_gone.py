"""A TLS client that goes away while its handler holds the request body back is noticed as
gone, as a plain client is: the handler is cancelled instead of running on for nobody. (The
polite case, close_notify then FIN, is timing-dependent still: see issue 10's closing note.)"""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.testing import ServerProcess, wait_until

PLUGIN = """
import asyncio
from pathlib import Path
from framework import Handler, Response


class Hold(Handler):
    name = "hold"
    methods = frozenset({"POST"})

    async def handle(self, request, call_next):
        tag = Path(request.query)
        try:
            await asyncio.sleep(20)  # never reads the body
        except asyncio.CancelledError:
            tag.with_suffix(".cancelled").write_text(str(request.disconnected.is_set()))
            raise
        tag.with_suffix(".finished").write_text("")
        return Response(200, b"late")
"""


# asyncio only: a close() while the server's session tickets sit unread in the client is a
# reset, and uvloop does not report a reset to a reader (a known gap, see the closing note of
# issue 10); the close_notify case can turn into one when unwrap() times out under load
@pytest.mark.parametrize(
    ("notify", "loop"),
    [(False, "asyncio")],
    ids=["reset"],
)
def test_a_tls_client_gone_while_its_body_is_held_back_cancels_the_handler(
    tmp_path: Path, notify: bool, loop: str
) -> None:
    cert, key = make_cert(tmp_path, ["a.test"])
    (tmp_path / "holdplugin.py").write_text(PLUGIN)
    config = (
        f"event_loop {loop};\nload_module holdplugin;\nserver {{\n listen 127.0.0.1:{{port}} ssl;\n"
        f" ssl_certificate {cert};\n ssl_certificate_key {key};\n"
        " client_max_body_size 0;\n location / { allow_methods POST; handler hold; }\n}\n"
    )
    tag = tmp_path / "run"
    with ServerProcess(config, cwd=tmp_path, pythonpath=[tmp_path]) as srv:
        client = ssl.create_default_context(cafile=str(cert))
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        tls = client.wrap_socket(raw, server_hostname="a.test")
        body = b"x" * (900 << 10)  # all of it fits in the kernel buffers, unread
        head = f"POST /?{tag} HTTP/1.1\r\nHost: a.test\r\nContent-Length: {len(body)}\r\n\r\n"
        tls.sendall(head.encode())
        # the server holds its reading back (the handler never reads): the rest of the body
        # sits unread in the kernel, in front of our close
        tls.setblocking(False)
        sent, stalled = 0, 0
        while stalled < 10 and sent < len(body):
            try:
                sent += tls.send(body[sent : sent + 65536])
                stalled = 0
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                stalled += 1
                time.sleep(0.05)  # the client's pace, not the server's synchronisation
        assert sent == len(body)
        tls.setblocking(True)
        if notify:
            tls.settimeout(0.5)
            try:
                tls.unwrap()  # close_notify, then our FIN
            except (ssl.SSLError, OSError):
                pass
        tls.close()
        assert wait_until(lambda: tag.with_suffix(".cancelled").exists(), 10)
        assert not tag.with_suffix(".finished").exists()
