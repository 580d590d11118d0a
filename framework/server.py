"""``webserv run``: listeners, accepting, workers and signals.

Interfaces settled here:
- ``run_command(args) -> int`` (``args.config``, ``args.workers``, ``args.check``) is what
  ``framework.cli`` calls; exit codes 0 clean stop, 1 invalid config, 3 cannot listen.
- One line per listener on stdout once it accepts: ``webserv: listening on http://H:P``.
- Signals: SIGTERM/SIGINT graceful stop (up to ``shutdown_timeout``), SIGQUIT immediate,
  SIGHUP reload (invalid config: logged, old one kept).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import signal
import socket
import sys
from pathlib import Path

from framework.config.models import Config
from framework.core.child import kill_all
from framework.core.hangup import watcher_for
from framework.core.loop import new_event_loop
from framework.http.connection import Connection
from framework.logs import configure_error_log, error_log
from framework.pipeline import Application
from framework.stats import stats

EXIT_OK = 0
EXIT_CONFIG = 1
EXIT_LISTEN = 3
BACKLOG = 511
ACCEPT_BURST = 64  # connections accepted per readiness event
EMFILE_RETRY = 1.0  # seconds before accepting again when out of fds and no connection closed

Address = tuple[str, int]


class ListenError(Exception):
    """A listening socket could not be opened."""


def _load(path: str | None):
    from framework.config.build import load_config

    return load_config(Path(path) if path else None)


def _print_diagnostics(result) -> None:
    if result.diagnostics:
        from config_grammar.diagnostics import render_text

        sys.stderr.write(render_text(result.diagnostics, result.sources))
        sys.stderr.flush()


def listen_addresses(config: Config) -> list[Address]:
    """Distinct addresses to bind; a specific address is covered by a wildcard one on the
    same port (servers are then told apart by the accepted socket's local address)."""
    seen: list[Address] = []
    for server in config.servers:
        for listen in server.listens:
            if listen.address not in seen:
                seen.append(listen.address)
    wildcard_ports = {(":" in h, p) for h, p in seen if h in ("0.0.0.0", "::")}
    return [
        (h, p) for h, p in seen if h in ("0.0.0.0", "::") or (":" in h, p) not in wildcard_ports
    ]


def open_listener(address: Address, *, reuse_port: bool = False) -> socket.socket:
    """A non-blocking listening socket on ``address`` (raises ``ListenError``)."""
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {url_of(address)}: {exc.strerror or exc}") from exc
    return sock


def url_of(address: Address) -> str:
    """The URL printed for a listening address (IPv6 hosts in brackets)."""
    host, port = address
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Server:
    """One worker: its listeners, connections, current ``Application`` and signals."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        config: Config,
        app: Application,
        listeners: dict[Address, socket.socket],
        config_path: str | None,
        *,
        reuse_port: bool = False,
        ready_fd: int | None = None,
    ) -> None:
        self.ready_fd = ready_fd  # a worker reports readiness here instead of printing
        self.loop = loop
        self.config = config
        self.app = app
        self.listeners = listeners
        self.config_path = config_path
        self.reuse_port = reuse_port
        self.stopping = False
        self.connections: set[Connection] = set()
        self._accepting = False
        self._accept_paused = False
        self._emfile_timer: asyncio.TimerHandle | None = None
        self._stop: asyncio.Future[int] | None = None
        self._idle: asyncio.Future[None] | None = None
        self._reloading = False
        self._immediate = False

    # -- accepting -------------------------------------------------------------------------------
    def _start_accepting(self) -> None:
        if self._accepting or self.stopping:
            return
        self._accepting = True
        for sock in self.listeners.values():
            self.loop.add_reader(sock.fileno(), self._on_acceptable, sock)

    def _stop_accepting(self) -> None:
        if not self._accepting:
            return
        self._accepting = False
        for sock in self.listeners.values():
            self.loop.remove_reader(sock.fileno())

    def _on_acceptable(self, lsock: socket.socket) -> None:
        limit = self.config.max_connections
        for _ in range(ACCEPT_BURST):
            if limit and len(self.connections) >= limit:
                self._pause_accepting()
                return
            try:
                sock, peer = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    error_log.error("accept() failed: %s; pausing accepting", exc.strerror)
                    self._pause_accepting(retry=True)
                    return
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue
                error_log.error("accept() failed: %s", exc)
                return
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                local = sock.getsockname()[:2]
            except OSError:
                sock.close()
                continue
            stats.accepted += 1
            conn = Connection(self, self.loop, sock, peer[:2], local)
            self.connections.add(conn)

    def _pause_accepting(self, retry: bool = False) -> None:
        self._stop_accepting()
        self._accept_paused = True
        if retry and self._emfile_timer is None:
            # normally a closing connection resumes accepting; with none open, retry later
            self._emfile_timer = self.loop.call_later(EMFILE_RETRY, self._resume_accepting)

    def _resume_accepting(self) -> None:
        if self._emfile_timer is not None:
            self._emfile_timer.cancel()
            self._emfile_timer = None
        if self._accept_paused and not self.stopping:
            self._accept_paused = False
            self._start_accepting()

    def connection_closed(self, conn: Connection) -> None:
        """Forget ``conn``; resume accepting if the connection limit had paused it."""
        self.connections.discard(conn)
        if self._accept_paused:
            self._resume_accepting()
        if self._idle is not None and not self.connections and not self._idle.done():
            self._idle.set_result(None)

    # -- lifecycle --------------------------------------------------------------------------------
    async def run(self) -> int:
        """Serve until a stop signal; returns the exit code."""
        self._stop = self.loop.create_future()
        watcher_for(self.loop)  # its epoll fd is opened once, before any client
        await self.app.startup()
        for sig, handler in (
            (signal.SIGTERM, self.graceful_stop),
            (signal.SIGINT, self.graceful_stop),
            (signal.SIGQUIT, self.immediate_stop),
            (signal.SIGHUP, self.request_reload),
        ):
            self.loop.add_signal_handler(sig, handler)
        self._start_accepting()
        if self.ready_fd is None:
            for address in self.listeners:
                print(f"webserv: listening on {url_of(address)}", flush=True)
        else:
            try:
                os.write(self.ready_fd, b"1")
            except OSError:
                pass  # a respawned worker's master stopped listening for it
            os.close(self.ready_fd)
        code = await self._stop
        await self._drain_connections()
        await self.app.shutdown()
        for sock in self.listeners.values():
            sock.close()
        return code

    def graceful_stop(self) -> None:
        """SIGTERM/SIGINT: stop accepting, let in-flight requests finish (``shutdown_timeout``)."""
        if self._stop is not None and not self._stop.done():
            error_log.info("graceful stop requested")
            self._stop.set_result(EXIT_OK)

    def immediate_stop(self) -> None:
        """SIGQUIT: close everything now."""
        self._immediate = True
        self.stopping = True
        self._stop_accepting()
        for conn in list(self.connections):
            conn.abort()
        if self._stop is not None and not self._stop.done():
            self._stop.set_result(EXIT_OK)

    async def _drain_connections(self) -> None:
        self.stopping = True
        self._stop_accepting()
        for sock in self.listeners.values():
            sock.close()
        self.listeners = {}
        for conn in list(self.connections):
            if self._immediate:
                conn.abort()
            else:
                conn.close_if_idle()
        if self.connections:
            self._idle = self.loop.create_future()
            try:
                await asyncio.wait_for(self._idle, self.config.shutdown_timeout)
            except TimeoutError:
                error_log.warning(
                    "shutdown timeout: closing %d connection(s)", len(self.connections)
                )
                for conn in list(self.connections):
                    conn.abort()

    # -- reload ------------------------------------------------------------------------------------
    def request_reload(self) -> None:
        """SIGHUP: re-read the config and switch to it if valid (else keep the old one)."""
        if not self._reloading and not self.stopping:
            self._reloading = True
            self.loop.create_task(self._reload())

    async def _reload(self) -> None:
        try:
            await self._do_reload()
        except Exception:  # noqa: BLE001 - a failed reload keeps the old config
            error_log.exception("reload failed, keeping the current configuration")
        finally:
            self._reloading = False

    async def _do_reload(self) -> None:
        result = _load(self.config_path)
        if result.config is None:
            from config_grammar.diagnostics import render_text

            error_log.error(
                "reload: invalid configuration, keeping the current one:\n%s",
                render_text(result.diagnostics, result.sources).rstrip(),
            )
            return
        config = result.config
        app = Application(config)
        await app.startup()
        wanted = listen_addresses(config)
        opened: dict[Address, socket.socket] = {}
        try:
            for address in wanted:
                if address not in self.listeners:
                    opened[address] = open_listener(address, reuse_port=self.reuse_port)
        except ListenError as exc:
            for sock in opened.values():
                sock.close()
            await app.shutdown()
            error_log.error("reload: %s; keeping the current configuration", exc)
            return
        old_app = self.app
        was_accepting = self._accepting
        self._stop_accepting()
        for address in list(self.listeners):
            if address not in wanted:
                self.listeners.pop(address).close()
        self.listeners.update(opened)
        self.config = config
        self.app = app
        configure_error_log(config.error_log)
        if was_accepting or self._accept_paused:
            self._accept_paused = False
            self._start_accepting()
        if self.ready_fd is None:
            for address in opened:
                print(f"webserv: listening on {url_of(address)}", flush=True)
        error_log.info("reloaded configuration")
        for conn in list(self.connections):  # like nginx: idle keep-alive ones close now
            conn.close_if_waiting()
        self.loop.create_task(_retire(old_app))


async def _retire(app: Application) -> None:
    """Shut an old Application down once no request is using it any more."""
    loop = asyncio.get_running_loop()
    while app.inflight:
        done = loop.create_future()
        app.on_idle = done
        await done
    await app.shutdown()


def _write_pid(path: Path | None) -> None:
    if path is not None:
        path.write_text(f"{os.getpid()}\n")


def _remove_pid(path: Path | None) -> None:
    if path is not None:
        try:
            path.unlink()
        except OSError:
            pass


def _serve(
    config: Config,
    config_path: str | None,
    listeners: dict[Address, socket.socket],
    *,
    reuse_port: bool = False,
    ready_fd: int | None = None,
) -> int:
    """Run one worker's event loop until it stops."""
    try:
        loop = new_event_loop(config.event_loop)
    except RuntimeError as exc:  # event_loop uvloop without uvloop installed
        print(f"webserv: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    asyncio.set_event_loop(loop)
    try:
        app = Application(config)
    except Exception as exc:  # noqa: BLE001 - e.g. a plugin failing to construct
        print(f"webserv: cannot start: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    server = Server(
        loop, config, app, listeners, config_path, reuse_port=reuse_port, ready_fd=ready_fd
    )
    try:
        return loop.run_until_complete(server.run())
    finally:
        try:
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            kill_all(reap=True)  # no CGI outlives its worker (its SIGKILL timers die here)
            loop.close()


def run_command(args: argparse.Namespace) -> int:
    """``webserv run [CONFIG] [--workers N] [--check]``; returns the exit code."""
    config_path = getattr(args, "config", None)
    result = _load(config_path)
    _print_diagnostics(result)
    config = result.config
    if config is None:
        return EXIT_CONFIG
    if getattr(args, "check", False):
        print("webserv: configuration is valid", file=sys.stderr)
        return EXIT_OK
    configure_error_log(config.error_log)
    workers = getattr(args, "workers", None) or config.workers
    addresses = listen_addresses(config)
    if workers > 1:
        return run_workers(config, config_path, addresses, workers)
    listeners: dict[Address, socket.socket] = {}
    try:
        for address in addresses:
            listeners[address] = open_listener(address)
    except ListenError as exc:
        for sock in listeners.values():
            sock.close()
        print(f"webserv: {exc}", file=sys.stderr)
        return EXIT_LISTEN
    _write_pid(config.pid)
    try:
        return _serve(config, config_path, listeners)
    finally:
        _remove_pid(config.pid)


# -- workers ---------------------------------------------------------------------------------------
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)


def run_workers(
    config: Config, config_path: str | None, addresses: list[Address], count: int
) -> int:
    """Master process: fork ``count`` workers, each with its own SO_REUSEPORT listeners;
    forward signals to them, respawn a worker that dies, exit when all have stopped."""
    try:  # bind once here so a busy port fails fast, with exit code 3
        probes = [open_listener(address, reuse_port=True) for address in addresses]
    except ListenError as exc:
        print(f"webserv: {exc}", file=sys.stderr)
        return EXIT_LISTEN
    _write_pid(config.pid)
    children: dict[int, int] = {}
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        if signum != signal.SIGHUP:
            stopping = True
        for pid in children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def spawn() -> tuple[int, int]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            code = EXIT_CONFIG
            try:
                os.close(read_fd)
                for sig in _FORWARDED:
                    signal.signal(sig, signal.SIG_DFL)
                for probe in probes:
                    probe.close()
                listeners = {a: open_listener(a, reuse_port=True) for a in addresses}
                code = _serve(config, config_path, listeners, reuse_port=True, ready_fd=write_fd)
            except ListenError as exc:
                print(f"webserv: {exc}", file=sys.stderr)
                code = EXIT_LISTEN
            except BaseException:  # noqa: BLE001 - a worker must never return into the master
                error_log.exception("worker failed")
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write_fd)
        return pid, read_fd

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    pending_ready = []
    for _ in range(count):
        pid, ready = spawn()
        children[pid] = 1
        pending_ready.append(ready)
    failed = False
    for ready in pending_ready:  # wait until every worker accepts before leaving the group
        if not os.read(ready, 1):
            failed = True
        os.close(ready)
    for probe in probes:
        probe.close()
    if failed:
        forward(signal.SIGQUIT, None)
    else:
        for address in addresses:
            print(f"webserv: listening on {url_of(address)}", flush=True)
    code = EXIT_OK
    try:
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            children.pop(pid, None)
            exit_code = os.waitstatus_to_exitcode(status)
            if not stopping and not failed:
                error_log.error("worker %d exited with %d; starting a new one", pid, exit_code)
                new_pid, ready = spawn()
                children[new_pid] = 1
                os.close(ready)
            elif exit_code not in (0, -signal.SIGTERM) and code == EXIT_OK:
                code = exit_code if exit_code > 0 else EXIT_CONFIG
    finally:
        _remove_pid(config.pid)
    return EXIT_LISTEN if failed else code
