"""``HangupWatcher``: learn that a socket's peer hung up without reading from the socket.

A connection that stops reading (pipelining bound reached, a handler that has not consumed
the body) would only see its client's FIN or RST behind the unread input. One epoll per event
loop, registered once with ``loop.add_reader``, watches such sockets for EPOLLRDHUP (and the
implied EPOLLHUP/EPOLLERR) but not for input, so the watch costs no fd per connection. Linux
only: elsewhere ``watch`` returns False and nothing is watched.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Callable

AVAILABLE = hasattr(select, "epoll") and hasattr(select, "EPOLLRDHUP")
_MASK = (
    getattr(select, "EPOLLRDHUP", 0)
    | getattr(select, "EPOLLHUP", 0)
    | getattr(select, "EPOLLERR", 0)
)


class HangupWatcher:
    """Calls a callback once when the peer of a watched socket hangs up."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._epoll: select.epoll | None = None
        if AVAILABLE:
            try:
                self._epoll = select.epoll()
            except OSError:  # out of fds: no watch, as on other systems
                return
            loop.add_reader(self._epoll.fileno(), self._on_ready)

    def __len__(self) -> int:
        return len(self._callbacks)

    def watch(self, fd: int, callback: Callable[[], None]) -> bool:
        """Call ``callback`` once when the peer of socket ``fd`` hangs up, unless ``unwatch``
        comes first. False when no watch is possible (not Linux, out of fds)."""
        epoll = self._epoll
        if epoll is None:
            return False
        try:
            epoll.register(fd, _MASK)
        except FileExistsError:
            epoll.modify(fd, _MASK)
        except OSError:
            return False
        self._callbacks[fd] = callback
        return True

    def unwatch(self, fd: int) -> None:
        """Stop watching ``fd``; call before closing it (its number may be reused)."""
        if self._callbacks.pop(fd, None) is not None and self._epoll is not None:
            try:
                self._epoll.unregister(fd)
            except OSError:  # already closed: the kernel dropped the registration
                pass

    def _on_ready(self) -> None:
        epoll = self._epoll
        if epoll is None:
            return
        try:
            events = epoll.poll(0)
        except OSError:
            return
        for fd, _ in events:
            # level-triggered: forget the fd before the callback, or it would fire again
            callback = self._callbacks.pop(fd, None)
            try:
                epoll.unregister(fd)
            except OSError:
                pass
            if callback is not None:
                callback()

    def close(self) -> None:
        """Release the epoll (watched sockets are no longer watched)."""
        epoll, self._epoll = self._epoll, None
        self._callbacks.clear()
        if epoll is None:
            return
        try:
            self.loop.remove_reader(epoll.fileno())
        except (RuntimeError, ValueError, OSError):  # the loop is already closed
            pass
        epoll.close()


_current: HangupWatcher | None = None


def watcher_for(loop: asyncio.AbstractEventLoop) -> HangupWatcher:
    """The watcher of ``loop`` (one per worker process; a new loop replaces the old one's)."""
    global _current
    watcher = _current
    if watcher is None or watcher.loop is not loop:
        if watcher is not None:
            watcher.close()
        watcher = _current = HangupWatcher(loop)
    return watcher
