"""WriteQueue over socketpairs and pipes: queueing, drain/flush, peer loss, sendfile."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from framework.core.loop import new_event_loop
from framework.core.writequeue import WriteQueue


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request):
    loop = new_event_loop(request.param)
    yield loop
    loop.close()


def _pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    return a, b


def _wake(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


async def _read_all(loop, sock: socket.socket, want: int) -> bytes:
    out = bytearray()
    while len(out) < want:
        fut = loop.create_future()
        loop.add_reader(sock.fileno(), _wake, fut)
        try:
            await fut
        finally:
            loop.remove_reader(sock.fileno())
        chunk = sock.recv(65536)
        if not chunk:
            break
        out += chunk
    return bytes(out)


def test_small_write_goes_out_immediately_without_queueing(loop):
    a, b = _pair()
    q = WriteQueue(loop, a)
    q.write(b"hello")
    assert q.buffered == 0
    assert b.recv(100) == b"hello"
    q.abort()
    b.close()


def test_big_write_is_queued_and_delivered_in_order(loop):
    a, b = _pair()
    q = WriteQueue(loop, a)
    data = os.urandom(3 * 1024 * 1024)

    async def main():
        q.write(data[:1000])
        q.write(data[1000:])
        assert q.buffered > 0
        got = await _read_all(loop, b, len(data))
        await q.flush()
        return got

    assert loop.run_until_complete(main()) == data
    assert q.buffered == 0
    q.close()
    assert q.closed
    b.close()


def test_drain_waits_for_a_slow_reader_until_below_low_water(loop):
    a, b = _pair()
    q = WriteQueue(loop, a, high_water=64 * 1024, low_water=16 * 1024)
    q.write(b"x" * (512 * 1024))
    assert q.full

    async def main():
        drained = asyncio.ensure_future(q.drain())
        await asyncio.sleep(0)
        assert not drained.done()  # nobody reads yet
        got = 0
        while not drained.done():
            got += len(await _read_all(loop, b, 1))
        await drained
        assert q.buffered <= 16 * 1024
        return got

    loop.run_until_complete(main())
    q.abort()
    b.close()


def test_drain_returns_at_once_below_high_water(loop):
    a, b = _pair()
    q = WriteQueue(loop, a)
    q.write(b"y" * 1000)
    loop.run_until_complete(asyncio.wait_for(q.drain(), 5))
    q.abort()
    b.close()


def test_reader_that_closes_wakes_waiters_with_connection_error(loop):
    a, b = _pair()
    q = WriteQueue(loop, a, high_water=1024, low_water=512)
    lost = []
    q.on_lost = lost.append
    q.write(b"z" * (1024 * 1024))

    async def main():
        drained = asyncio.ensure_future(q.drain())
        flushed = asyncio.ensure_future(q.flush())
        await asyncio.sleep(0)
        b.close()
        for fut in (drained, flushed):
            with pytest.raises(ConnectionError):
                await asyncio.wait_for(fut, 5)

    loop.run_until_complete(main())
    assert q.closed and q.error is not None and q.buffered == 0
    assert len(lost) == 1
    q.write(b"more")  # writes after the peer left are dropped, not raised
    q.abort()


def test_write_to_a_pipe_whose_reader_closed_does_not_raise(loop):
    r, w = os.pipe()
    os.close(r)
    q = WriteQueue(loop, w)
    q.write(b"data")
    assert q.closed and isinstance(q.error, BrokenPipeError)
    q.abort()


def test_pipe_slow_reader_gets_everything(loop):
    r, w = os.pipe()
    os.set_blocking(r, False)
    q = WriteQueue(loop, w)
    data = os.urandom(1024 * 1024)

    async def main():
        q.write(data)
        q.close()  # closes once flushed: the reader then sees EOF
        out = bytearray()
        while True:
            fut = loop.create_future()
            loop.add_reader(r, _wake, fut)
            try:
                await fut
            finally:
                loop.remove_reader(r)
            chunk = os.read(r, 65536)
            if not chunk:
                return bytes(out)
            out += chunk

    assert loop.run_until_complete(main()) == data
    assert q.closed and q.error is None
    os.close(r)


def test_sendfile_sends_the_slice_after_queued_bytes(loop, tmp_path):
    a, b = _pair()
    path = tmp_path / "f.bin"
    content = os.urandom(2 * 1024 * 1024)
    path.write_bytes(content)
    q = WriteQueue(loop, a)

    async def main():
        q.write(b"HEAD" * 50000)
        fd = os.open(path, os.O_RDONLY)
        try:
            reader = asyncio.ensure_future(_read_all(loop, b, 200000 + len(content) - 10))
            sent = await q.sendfile(fd, 10, len(content))
        finally:
            os.close(fd)
        return sent, await reader

    sent, got = loop.run_until_complete(main())
    assert sent == len(content) - 10  # the file is shorter than asked
    assert got == b"HEAD" * 50000 + content[10:]
    q.abort()
    b.close()


def test_timeout_aborts_when_the_reader_stalls(loop):
    a, b = _pair()
    q = WriteQueue(loop, a, timeout=0.2)
    q.write(b"q" * (1024 * 1024))

    async def main():
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(q.flush(), 10)

    loop.run_until_complete(main())
    assert isinstance(q.error, TimeoutError)
    q.abort()
    b.close()
