"""A ``send`` waiting for a client that does not read gives up when the session closes
(here the idle timeout's 1001), instead of holding the session until send_timeout."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from websocket_fixtures import start_ws_server
from websocket_frames import BINARY, TEXT, frame, open_websocket

from framework.testing import wait_until


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = start_ws_server(tmp_path_factory.mktemp("wsblocked"))
    yield server
    server.stop()


def test_a_send_blocked_on_a_client_that_does_not_read_ends_at_the_idle_timeout(srv):
    target = f"/ws-idle?flood-{uuid.uuid4().hex}"
    log = Path(srv.cwd) / "access.log"
    with srv.connect() as sock:
        reader = open_websocket(sock, target)
        sock.sendall(frame(TEXT, b"flood"))  # the echo sends 64 KiB messages until closed
        # the session (its access log line) ends once the idle timeout (1s) closed it
        # and the close timer expired, not at send_timeout (60s): its send gave up
        assert wait_until(lambda: target in log.read_text(), timeout=30)
        sock.settimeout(30)
        frames, close = reader.until_close()
        assert frames and {f.opcode for f in frames} == {BINARY}
        assert close is not None and close.close_code == 1001
