"""``TlsWriteQueue`` with a large in-memory body: the plaintext is encrypted a chunk at a time
as the socket drains, never all at once (no second, encrypted copy of the body in memory, no
long stall of the loop), and close_notify and the close wait for the last of it."""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest
from test_tls_session import Client, contexts, handshake  # noqa: F401 - contexts: a fixture

from framework.core.tls import FILE_CHUNK, TlsSession, TlsWriteQueue
from framework.core.writequeue import HIGH_WATER

BODY = bytes(range(256)) * (32 * 1024)  # 8 MiB


def _queued_records(queue: TlsWriteQueue) -> int:
    return queue.buffered - queue._plain_left


@pytest.mark.parametrize("then_close", [False, True])
def test_a_large_body_is_encrypted_as_the_socket_drains(contexts, then_close):  # noqa: F811
    server_ctx, client_ctx = contexts
    session, client = TlsSession(server_ctx), Client(client_ctx)
    handshake(session, client)

    async def run() -> bytes:
        loop = asyncio.get_running_loop()
        ours, peer = socket.socketpair()
        ours.setblocking(False)
        peer.setblocking(False)
        queue = TlsWriteQueue(loop, ours)
        queue.tls = session
        queue.write(BODY)
        # the kernel took what it could; records queued stay near the high-water mark and
        # the rest waits as plaintext (counted in `buffered` for drain/flush)
        assert _queued_records(queue) <= HIGH_WATER + 2 * FILE_CHUNK
        assert queue.full and queue.buffered > len(BODY) // 2
        if then_close:
            queue.close()  # waits for the plaintext, then close_notify, then the close
            assert not queue.closed
        received = bytearray()
        most = 0
        while True:
            most = max(most, _queued_records(queue))
            try:
                chunk = await loop.sock_recv(peer, 65536)
            except ConnectionError:
                break
            if not chunk:
                break
            client.incoming.write(chunk)
            try:
                while data := client.obj.read(65536):
                    received += data
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                break
            if not then_close and len(received) == len(BODY):
                break
        assert most <= HIGH_WATER + 2 * FILE_CHUNK
        if then_close:
            assert queue.closed
        else:
            await queue.flush()
            queue.abort()
        peer.close()
        return bytes(received)

    assert asyncio.run(run()) == BODY


def test_abort_drops_waiting_plaintext(contexts):  # noqa: F811
    server_ctx, client_ctx = contexts
    session, client = TlsSession(server_ctx), Client(client_ctx)
    handshake(session, client)

    async def run() -> None:
        ours, peer = socket.socketpair()
        ours.setblocking(False)
        queue = TlsWriteQueue(asyncio.get_running_loop(), ours)
        queue.tls = session
        queue.write(BODY)
        queue.close()
        queue.abort()
        assert queue.closed and queue.buffered == 0 and not queue._plain
        peer.close()

    asyncio.run(run())
