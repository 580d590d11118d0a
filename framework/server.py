"""``webserv run``: listeners, accepting, workers and signals.

Interfaces settled here:
- ``run_command(args) -> int`` (``args.config``, ``args.workers``, ``args.check``) is what
  ``framework.cli`` calls; exit codes 0 clean stop, 1 invalid config (also: ``pid`` or
  ``error_log`` cannot be written, a plugin's ``startup()`` fails, or workers keep failing
  at startup), 3 cannot listen.
- One line per listener on stdout once it accepts: ``webserv: listening on http://H:P``.
- Signals: SIGTERM/SIGINT graceful stop (up to ``shutdown_timeout``), SIGQUIT immediate,
  SIGHUP reload (invalid config: logged, old one kept), SIGUSR1 reopen the log files.
- With ``workers N`` (N > 1) a master process (``framework.supervisor``) binds the listeners
  and supervises N forked ``Server`` workers accepting on them.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import ipaddress
import os
import select
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from framework import privileges
from framework.config.models import Config
from framework.core.child import kill_all
from framework.core.hangup import watcher_for
from framework.core.loop import new_event_loop
from framework.http.connection import Connection
from framework.logs import configure_error_log, error_log, reopen_logs
from framework.pipeline import Application, HandlerStartupError
from framework.stats import stats
from framework.transports import TlsSetupError, Transports, build_transports

if TYPE_CHECKING:
    from framework.systemd import Notifier

EXIT_OK = 0
EXIT_CONFIG = 1
EXIT_LISTEN = 3
BACKLOG = 511
ACCEPT_BURST = 64  # connections accepted per readiness event
EMFILE_RETRY = 1.0  # seconds before accepting again when out of fds and no connection closed

Address = tuple[str, int]


class ListenError(Exception):
    """A listening socket could not be opened."""


def _load(path: str | None, prefix: Path | None = None):
    from framework.config.build import load_config

    return load_config(Path(path) if path else None, serving=True, prefix=prefix)


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


def open_listener(address: Address) -> socket.socket:
    """A non-blocking listening socket on ``address`` (raises ``ListenError``).

    Never ``SO_REUSEPORT``: that would let an unrelated second instance bind the same port
    and silently take a share of the connections. Workers share the master's socket."""
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {url_of(address)}: {exc.strerror or exc}") from exc
    return sock


def url_of(address: Address, config: Config | None = None) -> str:
    """The URL printed for a listening address (IPv6 hosts in brackets); https when a
    ``listen`` of ``config`` makes the address speak TLS."""
    host, port = address
    scheme = "http"
    if config is not None and any(
        listen.ssl and listen.address == address
        for server in config.servers
        for listen in server.listens
    ):
        scheme = "https"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


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
        ready_fd: int | None = None,
        master_fd: int | None = None,
        prefix: Path | None = None,
    ) -> None:
        self.ready_fd = ready_fd  # a worker reports readiness here instead of printing
        # a worker of a master: EOF here means the master is gone; reloads are the master's
        self.master_fd = master_fd
        self.loop = loop
        self.config = config
        self.app = app
        self.listeners = listeners
        self.config_path = config_path
        self.prefix = prefix  # --prefix: what relative includes and paths resolve against
        self.stopping = False
        # in accept order (a dict as an ordered set): the oldest idle one is reclaimed first
        self.connections: dict[Connection, None] = {}
        self._accepting = False
        self._accept_paused = False
        self._emfile_timer: asyncio.TimerHandle | None = None
        self._stop: asyncio.Future[int] | None = None
        self._idle: asyncio.Future[None] | None = None
        self._reloading = False
        self._immediate = False
        self._retiring = False
        self.fixed_workers = False  # --workers N given: the config's value does not apply
        # TLS / PROXY protocol per listen address; built by run() unless given (a caller
        # dropping privileges loads the certificates before, as nginx's master does)
        self.transports: Transports | None = None

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
        for accepted in range(ACCEPT_BURST):
            if limit and len(self.connections) >= limit:
                # like nginx, make room by closing an idle keep-alive connection, but only
                # for a client that is actually waiting (another worker may have taken it)
                if not accepted or _pending(lsock):
                    self._reclaim_idle()
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
            transports = self.transports
            transport = transports.for_local(local) if transports else None
            if transport is None:
                conn = Connection(self, self.loop, sock, peer[:2], local)
            else:
                conn = Connection(
                    self,
                    self.loop,
                    sock,
                    peer[:2],
                    local,
                    tls=transport.tls,
                    proxy_protocol=transport.proxy_protocol,
                )
            self.connections[conn] = None

    def _reclaim_idle(self) -> bool:
        """Close the oldest connection idle between keep-alive requests (True if one was);
        one with a request under way, or that has not sent its first one, is never chosen.
        Its close resumes accepting (``connection_closed``)."""
        for conn in self.connections:
            if conn.close_if_waiting():
                return True
        return False

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
        self.connections.pop(conn, None)
        if self._accept_paused:
            self._resume_accepting()
        if self._idle is not None and not self.connections and not self._idle.done():
            self._idle.set_result(None)

    # -- lifecycle --------------------------------------------------------------------------------
    async def run(self) -> int:
        """Serve until a stop signal; returns the exit code."""
        self._stop = self.loop.create_future()
        watcher_for(self.loop)  # its epoll fd is opened once, before any client
        self._install_signal_handlers()
        try:
            if self.transports is None:
                self.transports = build_transports(self.config)
        except TlsSetupError as exc:
            error_log.error("cannot start: %s", exc)
            if error_log.logs_to_file():
                print(f"webserv: cannot start: {exc}", file=sys.stderr, flush=True)
            self.app.access_logs.close()
            return EXIT_CONFIG
        if not await self._start_app():
            return EXIT_CONFIG
        if self._stop.done():  # stopped (or the master died) while starting
            await self.app.shutdown()
            return self._stop.result()
        self._start_accepting()
        if self.ready_fd is None:
            for address in self.listeners:
                print(f"webserv: listening on {self._url_of(address)}", flush=True)
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

    def _url_of(self, address: Address) -> str:
        url = url_of(address)
        transport = self.transports.for_local(address) if self.transports else None
        if transport is not None and transport.tls is not None:
            return "https" + url[4:]
        return url

    def _install_signal_handlers(self) -> None:
        handlers = [
            (signal.SIGTERM, self.graceful_stop),
            (signal.SIGINT, self.graceful_stop),
            (signal.SIGQUIT, self.immediate_stop),
            (signal.SIGUSR1, reopen_logs),
        ]
        if self.master_fd is None:
            handlers.append((signal.SIGHUP, self.request_reload))
        else:
            from framework.supervisor import SIGRETIRE

            handlers += [(signal.SIGHUP, _reload_is_the_masters), (SIGRETIRE, self.retire)]
            self.loop.add_reader(self.master_fd, self._master_gone)
        for sig, handler in handlers:
            self.loop.add_signal_handler(sig, handler)
        if self.master_fd is not None:
            from framework.supervisor import WORKER_DEFERRED

            # delivered now if they arrived while the worker was starting
            signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_DEFERRED)

    async def _start_app(self) -> bool:
        """Run the handlers' ``startup()`` hooks; False (logged in one line) if one fails."""
        try:
            await self.app.startup()
        except Exception as exc:  # noqa: BLE001 - a plugin's startup() failing
            # HandlerStartupError names the handler and its line; the ones that had started
            # are shut down already
            message = f"cannot start: {exc}"
            error_log.error("%s", message)
            if error_log.logs_to_file():
                print(f"webserv: {message}", file=sys.stderr, flush=True)
            return False
        return True

    def graceful_stop(self) -> None:
        """SIGTERM/SIGINT: stop accepting, let in-flight requests finish (``shutdown_timeout``)."""
        if self._stop is not None and not self._stop.done():
            error_log.info("graceful stop requested")
            self._stop.set_result(EXIT_OK)

    def retire(self) -> None:
        """SIGRETIRE from the master after a reload: stop accepting (the new workers do) and
        finish what is under way; idle keep-alive connections close now, a connection
        whose first request may be on the way is still served."""
        if self._stop is not None and not self._stop.done():
            self._retiring = True
            self._stop.set_result(EXIT_OK)

    def _master_gone(self) -> None:
        assert self.master_fd is not None
        self.loop.remove_reader(self.master_fd)
        error_log.warning("the master process is gone; stopping")
        self.graceful_stop()

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
            elif self._retiring:
                conn.close_if_waiting()
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
        config = load_for_reload(self.config_path, self.prefix)
        if config is None:
            return
        try:
            transports = build_transports(config)  # certificates are re-read
        except TlsSetupError as exc:
            error_log.error("reload: %s; keeping the current configuration", exc)
            return
        try:
            app = Application(config)  # a handler's __init__ may raise
            await app.startup()
        except HandlerStartupError as exc:  # the new app closed its logs
            error_log.error("reload: %s; keeping the current configuration", exc)
            return
        wanted = listen_addresses(config)
        opened: dict[Address, socket.socket] = {}
        try:
            for address in wanted:
                if address not in self.listeners:
                    opened[address] = open_listener(address)
            configure_error_log(config.error_log)
        except (ListenError, OSError) as exc:
            for sock in opened.values():
                sock.close()
            await app.shutdown()
            if isinstance(exc, ListenError):
                error_log.error("reload: %s; keeping the current configuration", exc)
            else:
                error_log.error(
                    "reload: cannot open error log %s: %s; keeping the current configuration",
                    exc.filename,
                    exc.strerror,
                )
            return
        if config.workers != self.config.workers and not self.fixed_workers:
            # one process cannot become a master: forking workers needs a restart
            error_log.warning(
                "reload: workers %d needs a restart (running as a single process)",
                config.workers,
            )
        old_app = self.app
        was_accepting = self._accepting
        self._stop_accepting()
        for address in list(self.listeners):
            if address not in wanted:
                self.listeners.pop(address).close()
        self.listeners.update(opened)
        self.config = config
        self.app = app
        self.transports = transports  # open TLS connections keep their session's context
        if was_accepting or self._accept_paused:
            self._accept_paused = False
            self._start_accepting()
        for address in opened:
            print(f"webserv: listening on {self._url_of(address)}", flush=True)
        error_log.info("reloaded configuration")
        for conn in list(self.connections):  # like nginx: idle keep-alive ones close now
            conn.close_if_waiting()
        self.loop.create_task(_retire(old_app, config.shutdown_timeout))
        settle_heap()


def settle_heap() -> None:
    """Collect what loading a configuration left behind, then move every object alive now
    (the config, the handler chains) out of the garbage collector's sight: a full
    collection then walks only what requests create (measured: 27 ms of CPU for a
    10-location config, 63 ms for 1000 locations, down to nothing on a loaded machine).
    Called once the new configuration serves; a reload thaws the previous one first, so
    what it keeps alive through reference cycles is collected at the next reload."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _reload_is_the_masters() -> None:
    error_log.warning("SIGHUP to a worker is ignored: send it to the master to reload")


def _pending(lsock: socket.socket) -> bool:
    """Whether a client waits in ``lsock``'s accept queue (a zero-timeout poll)."""
    poller = select.poll()
    poller.register(lsock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def load_for_reload(config_path: str | None, prefix: Path | None = None) -> Config | None:
    """The new configuration for a reload, or None (the diagnostics logged, once)."""
    result = _load(config_path, prefix)
    if result.config is None:
        from config_grammar.diagnostics import render_text

        error_log.error(
            "reload: invalid configuration, keeping the current one:\n%s",
            render_text(result.diagnostics, result.sources).rstrip(),
        )
    return result.config


async def _retire(app: Application, timeout: float) -> None:
    """Shut an old Application down once no request or tunnel is using it any more;
    tunnels (WebSocket sessions) still open after ``timeout`` are closed (1001)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while app.inflight:
        left = deadline - loop.time()
        if app.tunnels and left <= 0:
            error_log.warning(
                "reload: closing %d upgraded connection(s) of the previous configuration "
                "at shutdown_timeout",
                len(app.tunnels),
            )
            for tunnel in list(app.tunnels):
                tunnel.shut_down()
        done = loop.create_future()
        app.on_idle = done
        if app.tunnels and left > 0:
            try:
                await asyncio.wait_for(asyncio.shield(done), left)
            except TimeoutError:
                pass
        else:
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
    ready_fd: int | None = None,
    master_fd: int | None = None,
    fixed_workers: bool = False,
    prefix: Path | None = None,
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
        # HandlerStartupError names the handler and its line; one write, so the lines of
        # several workers failing alike do not interleave
        sys.stderr.write(f"webserv: cannot start: {exc}\n")
        sys.stderr.flush()
        return EXIT_CONFIG
    transports: Transports | None = None
    if privileges.applies(config):
        # as nginx's master does: certificates and keys are read while still root
        try:
            transports = build_transports(config)
        except TlsSetupError as exc:
            print(f"webserv: cannot start: {exc}", file=sys.stderr, flush=True)
            error_log.error("cannot start: %s", exc)
            return EXIT_CONFIG
    problem = _drop_privileges(config)  # after the access logs are open, before serving
    if problem is not None:
        print(f"webserv: cannot start: {problem}", file=sys.stderr, flush=True)
        error_log.error("cannot start: %s", problem)
        return EXIT_CONFIG
    server = Server(
        loop,
        config,
        app,
        listeners,
        config_path,
        ready_fd=ready_fd,
        master_fd=master_fd,
        prefix=prefix,
    )
    if transports is not None:
        server.transports = transports
    server.fixed_workers = fixed_workers
    settle_heap()
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _log_unraisable
    try:
        return loop.run_until_complete(server.run())
    finally:
        sys.unraisablehook = previous_hook
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


def _log_unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """An exception Python can only drop (``PyErr_WriteUnraisable``) goes to the error log
    as one info line, without a traceback: the ssl module's servername callback reports a
    client's non-ASCII SNI this way, and a client must not be able to fill stderr with
    tracebacks, one per connection."""
    exc = unraisable.exc_value
    kind = unraisable.exc_type.__name__
    where = unraisable.err_msg or "Exception ignored"
    try:
        message = str(exc) if exc is not None else ""
    except Exception:  # noqa: BLE001 - a __str__ that fails too
        message = "?"
    if len(message) > 200:
        message = message[:200] + "..."
    error_log.info("%s: %s: %s", where, kind, message)


def _prepare_files(config: Config) -> str | None:
    """Open the error log and write the pid file; a one-line reason when either fails."""
    try:
        configure_error_log(config.error_log)
    except OSError as exc:
        return f"cannot open error log {config.error_log.target}: {exc.strerror or exc}"
    try:
        _write_pid(config.pid)
    except OSError as exc:
        return f"cannot write pid file {config.pid}: {exc.strerror or exc}"
    return None


def run_command(args: argparse.Namespace) -> int:
    """``webserv run [CONFIG] [--workers N] [--check] [--prefix DIR]``; returns the exit
    code."""
    config_path = getattr(args, "config", None)
    prefix: Path | None = getattr(args, "prefix", None)
    result = _load(config_path, prefix)
    _print_diagnostics(result)
    config = result.config
    if config is None:
        return EXIT_CONFIG
    if getattr(args, "check", False):
        print("webserv: configuration is valid", file=sys.stderr)
        return EXIT_OK
    fixed_workers: int | None = getattr(args, "workers", None)
    workers = fixed_workers or config.workers
    problem = _check_user(config)
    if problem is not None:
        print(f"webserv: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    from framework.systemd import Notifier, inherited_listeners

    notifier = Notifier.from_environment()
    listeners: dict[Address, socket.socket] = {}
    inherited = inherited_listeners()
    try:
        listeners = bind_listeners(listen_addresses(config), inherited)
    except ListenError as exc:
        print(f"webserv: {exc}", file=sys.stderr)
        return EXIT_LISTEN
    problem = _prepare_files(config)
    if problem is not None:
        for sock in listeners.values():
            sock.close()
        print(f"webserv: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    _warn_cgi_as_root(config)
    try:
        # a master keeps root (reloads bind, logs reopen) and speaks to systemd, as nginx's
        # does: with `user` as root, or under systemd, one worker still gets a master
        if workers > 1 or privileges.applies(config) or notifier.enabled:
            return run_workers(
                config, config_path, listeners, workers, fixed_workers, notifier, prefix
            )
        return _serve(
            config,
            config_path,
            listeners,
            fixed_workers=fixed_workers is not None,
            prefix=prefix,
        )
    finally:
        _remove_pid(config.pid)


def bind_listeners(
    addresses: list[Address], inherited: list[socket.socket]
) -> dict[Address, socket.socket]:
    """A listener per address: an inherited socket (systemd socket activation) whose local
    address is that address, else a new one. Inherited sockets matching no address are
    closed with a warning. Raises ``ListenError`` (everything opened closed)."""
    from framework.systemd import local_address

    by_address = {_normal(local_address(sock)): sock for sock in inherited}
    listeners: dict[Address, socket.socket] = {}
    try:
        for address in addresses:
            sock = by_address.pop(_normal(address), None)
            listeners[address] = sock if sock is not None else open_listener(address)
    except ListenError:
        for sock in [*listeners.values(), *by_address.values()]:
            sock.close()
        raise
    for address, sock in by_address.items():
        error_log.warning(
            "inherited socket %s matches no listen directive; closed", url_of(address)
        )
        sock.close()
    return listeners


def _normal(address: Address) -> Address:
    host, port = address
    try:
        return (ipaddress.ip_address(host.strip("[]")).compressed, port)
    except ValueError:
        return address


def _check_user(config: Config) -> str | None:
    """Resolve ``user`` now when it applies (an unknown account stops the start); print
    nginx's warning when it is ignored because we are not root."""
    warning = privileges.ignored_warning(config)
    if warning is not None:
        print(f"webserv: {warning}", file=sys.stderr, flush=True)
    if privileges.applies(config):
        assert config.user is not None
        try:
            privileges.resolve(config.user)
        except privileges.PrivilegeError as exc:
            return str(exc)
    return None


def _warn_cgi_as_root(config: Config) -> None:
    if os.geteuid() == 0 and not privileges.applies(config) and privileges.cgi_configured(config):
        error_log.warning(
            'running as root without a "user" directive: CGI scripts will run as root'
        )


def _drop_privileges(config: Config) -> str | None:
    """In a worker started as root with ``user``: become that user (None when done or not
    needed; else why not)."""
    if not privileges.applies(config):
        return None
    assert config.user is not None
    try:
        privileges.drop_privileges(privileges.resolve(config.user))
    except privileges.PrivilegeError as exc:
        return str(exc)
    return None


# -- workers ---------------------------------------------------------------------------------------
def run_workers(
    config: Config,
    config_path: str | None,
    listeners: dict[Address, socket.socket],
    count: int,
    fixed_count: int | None = None,
    notifier: Notifier | None = None,
    prefix: Path | None = None,
) -> int:
    """Master process: supervise ``count`` forked workers accepting on ``listeners`` (see
    ``framework.supervisor``); returns the exit code once every worker has stopped."""
    from framework.supervisor import Master

    def serve(
        config: Config, listeners: dict[Address, socket.socket], ready_fd: int, master_fd: int
    ) -> int:
        return _serve(config, config_path, listeners, ready_fd=ready_fd, master_fd=master_fd)

    def open_listeners(
        config: Config, current: dict[Address, socket.socket]
    ) -> dict[Address, socket.socket]:
        wanted: dict[Address, socket.socket] = {}
        try:
            for address in listen_addresses(config):
                wanted[address] = current.get(address) or open_listener(address)
        except ListenError:
            for address, sock in wanted.items():
                if current.get(address) is not sock:
                    sock.close()
            raise
        return wanted

    master = Master(
        config,
        listeners,
        count,
        serve=serve,
        reload_config=lambda: load_for_reload(config_path, prefix),
        open_listeners=open_listeners,
        fixed_count=fixed_count,
        notifier=notifier,
    )
    return master.run()
