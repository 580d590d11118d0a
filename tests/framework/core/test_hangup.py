"""HangupWatcher: one shared epoll reporting peers that hang up, with socketpairs."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from framework.core import hangup
from framework.core.hangup import HangupWatcher, watcher_for

pytestmark = pytest.mark.skipif(not hangup.AVAILABLE, reason="needs epoll (Linux)")


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request):
    """Runs a coroutine on a fresh loop of each kind the server may use."""
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        factory = uvloop.new_event_loop
    else:
        factory = asyncio.SelectorEventLoop

    def runner(coro):
        with asyncio.Runner(loop_factory=factory) as r:
            return r.run(coro)

    return runner


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def wait_called(fired: asyncio.Future, timeout: float = 5.0) -> object:
    return await asyncio.wait_for(fired, timeout)


def test_a_peer_that_half_closes_is_reported_once_and_forgotten(run):
    async def main():
        loop = asyncio.get_running_loop()
        watcher = HangupWatcher(loop)
        ours, theirs = socket.socketpair()
        calls = []
        fired = loop.create_future()

        def on_hangup():
            calls.append(1)
            if not fired.done():
                fired.set_result(None)

        assert watcher.watch(ours.fileno(), on_hangup)
        theirs.shutdown(socket.SHUT_WR)
        await wait_called(fired)
        # a second watched socket hanging up proves the loop ran again meanwhile
        second_ours, second_theirs = socket.socketpair()
        again = loop.create_future()
        watcher.watch(second_ours.fileno(), lambda: again.set_result(None))
        second_theirs.close()
        await wait_called(again)
        assert calls == [1]
        assert len(watcher) == 0
        watcher.close()
        for s in (ours, theirs, second_ours):
            s.close()

    run(main())


def test_input_is_not_a_hangup_and_unwatched_sockets_are_not_reported(run):
    async def main():
        loop = asyncio.get_running_loop()
        watcher = HangupWatcher(loop)
        busy, busy_peer = socket.socketpair()
        quiet, quiet_peer = socket.socketpair()
        probe, probe_peer = socket.socketpair()
        reported = []
        watcher.watch(busy.fileno(), lambda: reported.append("busy"))
        watcher.watch(quiet.fileno(), lambda: reported.append("quiet"))
        busy_peer.sendall(b"GET / HTTP/1.1\r\n\r\n")  # unread input only
        watcher.unwatch(quiet.fileno())
        quiet_peer.close()  # a hangup, but no longer watched
        fired = loop.create_future()
        watcher.watch(probe.fileno(), lambda: fired.set_result(None))
        probe_peer.close()
        await wait_called(fired)  # by now the other two would have been reported too
        assert reported == []
        assert len(watcher) == 1  # busy is still watched
        watcher.close()
        for s in (busy, busy_peer, quiet, probe):
            s.close()

    run(main())


def test_watching_many_sockets_costs_no_fd_per_socket(run):
    async def main():
        loop = asyncio.get_running_loop()
        watcher = HangupWatcher(loop)
        pairs = [socket.socketpair() for _ in range(20)]
        before = open_fds()
        for ours, _ in pairs:
            assert watcher.watch(ours.fileno(), lambda: None)
        assert open_fds() == before
        assert len(watcher) == 20
        for ours, _ in pairs:
            watcher.unwatch(ours.fileno())
        assert len(watcher) == 0
        watcher.close()
        for pair in pairs:
            for s in pair:
                s.close()

    run(main())


def test_a_socket_closed_without_unwatch_does_not_break_the_watcher(run):
    async def main():
        loop = asyncio.get_running_loop()
        watcher = HangupWatcher(loop)
        gone, gone_peer = socket.socketpair()
        fd = gone.fileno()
        watcher.watch(fd, lambda: None)
        gone.close()
        watcher.unwatch(fd)  # the kernel already dropped it: no error
        ours, theirs = socket.socketpair()
        fired = loop.create_future()
        assert watcher.watch(ours.fileno(), lambda: fired.set_result(None))
        theirs.close()
        await wait_called(fired)
        watcher.close()
        for s in (gone_peer, ours):
            s.close()

    run(main())


def test_there_is_one_watcher_per_loop(run):
    async def first():
        loop = asyncio.get_running_loop()
        assert watcher_for(loop) is watcher_for(loop)
        return watcher_for(loop)

    old = run(first())

    async def second():
        new = watcher_for(asyncio.get_running_loop())
        assert new is not old
        new.close()

    run(second())
