"""systemd integration without a dependency: the ``sd_notify`` protocol and socket
activation (``LISTEN_FDS``), both as systemd documents them (sd_notify(3),
sd_listen_fds(3)).

- ``Notifier``: when ``NOTIFY_SOCKET`` is set (a path, or ``@name`` for an abstract
  socket), each state change is one datagram to it: ``READY=1`` with ``MAINPID``,
  ``RELOADING=1`` with ``MONOTONIC_USEC`` on SIGHUP then ``READY=1`` again once the new
  configuration serves (or was refused), ``STOPPING=1``.
- ``inherited_listeners()``: the listening sockets systemd passed as fds 3.. when
  ``LISTEN_PID`` is this process; the master uses one instead of binding wherever its
  local address is a configured listen address.

Both read their variables once and remove them from the environment, as sd_notify and
sd_listen_fds do with ``unset_environment``, so no worker or CGI script inherits them.
"""

from __future__ import annotations

import os
import socket
import time

from framework.logs import error_log

SD_LISTEN_FDS_START = 3

Address = tuple[str, int]


class Notifier:
    """Sends service state changes to systemd; does nothing without ``NOTIFY_SOCKET``."""

    def __init__(self, address: str | None) -> None:
        if address and address.startswith("@"):
            address = "\0" + address[1:]  # an abstract socket
        if address and not address.startswith(("/", "\0")):
            error_log.warning("NOTIFY_SOCKET %r is not a unix socket; not notifying", address)
            address = None
        self.address = address or None

    @classmethod
    def from_environment(cls) -> Notifier:
        """The notifier of ``$NOTIFY_SOCKET`` (removed from the environment)."""
        return cls(os.environ.pop("NOTIFY_SOCKET", None))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """One datagram of ``KEY=VALUE`` lines; False (logged) when it cannot be sent."""
        if self.address is None:
            return False
        message = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self.address)
        except OSError as exc:
            error_log.error("sd_notify %s failed: %s", fields[0], exc.strerror or exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        """The service accepts connections (first start, and after each reload)."""
        return self.send("READY=1", f"MAINPID={os.getpid()}", *_status(status))

    def reloading(self) -> bool:
        """A reload starts (systemd wants ``READY=1`` again when it ends, either way)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading")

    def stopping(self) -> bool:
        return self.send("STOPPING=1", "STATUS=stopping")


def _status(text: str) -> list[str]:
    return [f"STATUS={text}"] if text else []


def inherited_listeners() -> list[socket.socket]:
    """The sockets passed by socket activation (``LISTEN_FDS``/``LISTEN_PID``), non-blocking
    and close-on-exec; empty when none were passed to this process. The variables are
    removed from the environment. A passed fd that is not a listening TCP socket is closed
    with a warning."""
    fds = os.environ.pop("LISTEN_FDS", None)
    pid = os.environ.pop("LISTEN_PID", None)
    os.environ.pop("LISTEN_FDNAMES", None)
    if not fds or not pid:
        return []
    if not pid.isdigit() or int(pid) != os.getpid():
        return []  # meant for another process (our parent, say)
    if not fds.isdigit():
        error_log.warning("LISTEN_FDS=%r is not a number; ignored", fds)
        return []
    sockets: list[socket.socket] = []
    for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + int(fds)):
        try:
            os.set_inheritable(fd, False)
            sock = socket.socket(fileno=fd)
        except OSError as exc:
            error_log.warning("inherited fd %d is not a socket (%s); ignored", fd, exc)
            continue
        if (
            sock.family not in (socket.AF_INET, socket.AF_INET6)
            or sock.type != socket.SOCK_STREAM
            or not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        ):
            error_log.warning("inherited fd %d is not a listening TCP socket; closed", fd)
            sock.close()
            continue
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def local_address(sock: socket.socket) -> Address:
    """``sock``'s local (host, port), the host written as in a ``listen`` directive."""
    host, port = sock.getsockname()[:2]
    return (host, port)
