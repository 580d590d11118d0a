"""The master process of ``webserv run`` with ``workers N`` (N > 1): it owns the listening
sockets and supervises the workers that accept on them.

As in nginx (without ``reuseport``), the master binds every listener once, without
``SO_REUSEPORT``, and forked workers inherit and accept on the same sockets: a second
instance on the same port fails to bind (exit 3) instead of taking a share of the traffic.

- SIGTERM/SIGINT/SIGQUIT are forwarded to the workers; the master exits once they have.
- SIGHUP: the master re-reads the config (an invalid one is logged once, here), binds any new
  listen address, and starts a new generation of workers (``workers`` from the new config)
  on it; once every new worker accepts, the old ones retire (SIGWINCH: stop accepting,
  finish what they serve) and removed listeners close. A respawned worker always runs the
  current configuration.
- The workers of one generation share its session ticket keys (made by the master for each
  configuration load), so a ticket resumes on any worker, and keys rotate on reload.
- SIGUSR1: the master reopens its error log and forwards the signal (the workers reopen
  theirs and every access log).
- A worker that served and then died is replaced at once. A worker that dies before it
  accepts is replaced after an exponential back-off; after ``MAX_STARTUP_FAILURES`` such
  failures in a row the master gives up: one line on stderr, exit 1. When the first
  workers cannot start (exit 1: a plugin's ``startup()`` failed, TLS or ``user`` setup),
  before any accepted, the master stops at once with exit 1: the worker said why, and
  trying again would not help.
- Each worker watches a pipe whose write end only the master holds: when the master dies,
  even by SIGKILL, the pipe reports EOF and the worker stops.
"""

from __future__ import annotations

import contextlib
import enum
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from framework import privileges
from framework.config.models import Config
from framework.logs import configure_error_log, error_log
from framework.server import EXIT_CONFIG, url_of
from framework.systemd import Notifier
from framework.tls import new_ticket_keys, use_ticket_keys

Address = tuple[str, int]

MAX_STARTUP_FAILURES = 5  # workers dying before they accept, in a row, before giving up
BACKOFF_FIRST = 0.1  # seconds before respawning after the first startup failure
BACKOFF_MAX = 5.0
SIGRETIRE = signal.SIGWINCH  # master -> old worker after a reload: stop accepting, finish
# signals a new worker keeps pending until its loop handles them
WORKER_DEFERRED = (signal.SIGHUP, signal.SIGUSR1, SIGRETIRE)
_HANDLED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGHUP,
    signal.SIGUSR1,
    signal.SIGCHLD,
)

# serve(config, listeners, ready_fd, master_fd) -> exit code, run in a forked worker
ServeFn = Callable[[Config, dict[Address, socket.socket], int, int], int]
# (config, listeners already open) -> (every listener wanted, the ones opened for it)
OpenFn = Callable[[Config, dict[Address, socket.socket]], dict[Address, socket.socket]]


class WorkerState(enum.Enum):
    STARTING = "starting"  # forked, not accepting yet
    SERVING = "serving"  # reported that it accepts
    RETIRING = "retiring"  # told to stop (old generation, or the master is stopping)


@dataclass(eq=False)
class Worker:
    """One forked worker as the master sees it."""

    pid: int
    generation: int
    ready_fd: int | None  # read end of its readiness pipe until it reported (or died)
    state: WorkerState = WorkerState.STARTING


@dataclass(eq=False)
class Generation:
    """One configuration's workers and listeners, and the session ticket keys they share
    (made once per configuration load, so that they rotate on reload as nginx's do)."""

    number: int
    config: Config
    listeners: dict[Address, socket.socket]
    count: int
    ticket_keys: bytes = field(default_factory=new_ticket_keys, repr=False)


class Master:
    """Forks, watches and replaces the workers; see the module docstring."""

    def __init__(
        self,
        config: Config,
        listeners: dict[Address, socket.socket],
        count: int,
        *,
        serve: ServeFn,
        reload_config: Callable[[], Config | None],
        open_listeners: OpenFn,
        fixed_count: int | None,
        notifier: Notifier | None = None,
    ) -> None:
        self.current = Generation(1, config, listeners, count)
        self.pending: Generation | None = None  # a reload's generation, until it accepts
        self.workers: dict[int, Worker] = {}
        self._serve = serve
        self._reload_config = reload_config
        self._open_listeners = open_listeners
        self._fixed_count = fixed_count  # --workers N overrides the config's value
        self._notifier = notifier if notifier is not None else Notifier(None)
        self._stopping = False
        self._exit_code = 0
        self._failures = 0  # workers in a row that died before accepting
        self._abandoned: set[int] = set()  # workers of a failed reload: their exit is known
        self._respawn_at: list[float] = []  # due times of delayed respawns (current gen)
        self._reload_again = False
        self._announced = False
        self._selector = selectors.DefaultSelector()
        self._life_r, self._life_w = os.pipe()  # workers see EOF on _life_r when we die
        self._wake_r, self._wake_w = socket.socketpair()

    # -- main loop ------------------------------------------------------------------------------
    def run(self) -> int:
        """Start the first generation and supervise until every worker has exited."""
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        for sig in _HANDLED:
            signal.signal(sig, _note_signal)
        try:
            self._hand_log_files(self.current.config)
            for _ in range(self.current.count):
                self._spawn(self.current)
            while self.workers or (self._respawn_at and not self._stopping):
                self._step()
        finally:
            signal.set_wakeup_fd(-1)
            self._selector.close()
            for fd in (self._life_r, self._life_w):
                os.close(fd)
            self._wake_r.close()
            self._wake_w.close()
        return self._exit_code

    def _step(self) -> None:
        timeout = None
        if self._respawn_at and not self._stopping:
            timeout = max(0.0, min(self._respawn_at) - time.monotonic())
        signals: list[int] = []
        for key, _ in self._selector.select(timeout):
            if key.fileobj is self._wake_r:
                signals.extend(_drain(self._wake_r))
            else:
                self._on_ready(key.data)
        self._reap()
        for signum in signals:
            self._on_signal(signum)
        now = time.monotonic()
        due = [t for t in self._respawn_at if t <= now]
        if due and not self._stopping:
            self._respawn_at = [t for t in self._respawn_at if t > now]
            for _ in due:
                self._spawn(self.current)

    # -- workers --------------------------------------------------------------------------------
    def _spawn(self, gen: Generation) -> None:
        read_fd, write_fd = os.pipe()
        # blocked across fork: the child must not run the master's handlers (whose wakeup
        # fd it shares) before it has put its own in place
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
        try:
            pid = os.fork()
            if pid == 0:
                self._become_worker(gen, read_fd, write_fd, blocked)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(write_fd)
        worker = Worker(pid, gen.number, read_fd)
        self.workers[pid] = worker
        self._selector.register(read_fd, selectors.EVENT_READ, worker)

    def _become_worker(
        self, gen: Generation, read_fd: int, write_fd: int, mask: set[int | signal.Signals]
    ) -> None:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            # until the worker's loop handles them, a USR1, HUP or retire order stays
            # pending (blocked, not ignored: a log reopen sent now is not lost); the
            # server unblocks them once its handlers are in place
            signal.pthread_sigmask(signal.SIG_SETMASK, {*mask, *WORKER_DEFERRED})
            # nothing of the master's bookkeeping stays open in a worker
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()
            os.close(self._life_w)
            os.close(read_fd)
            for worker in self.workers.values():
                if worker.ready_fd is not None:
                    os.close(worker.ready_fd)
            for other in (self.current, self.pending):
                if other is None:
                    continue
                for address, sock in other.listeners.items():
                    if gen.listeners.get(address) is not sock:
                        sock.close()  # this process's copy only
            use_ticket_keys(gen.ticket_keys)  # a ticket one worker issued resumes on another
            code = self._serve(gen.config, gen.listeners, write_fd, self._life_r)
        except BaseException:  # noqa: BLE001 - a worker must never return into the master
            error_log.exception("worker failed")
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _on_ready(self, worker: Worker) -> None:
        if worker.ready_fd is None:
            return
        try:
            data = os.read(worker.ready_fd, 1)
        except BlockingIOError:
            return
        self._forget_ready_fd(worker)
        if data and worker.state is WorkerState.STARTING:
            worker.state = WorkerState.SERVING
            self._failures = 0
            self._generation_progress()

    def _forget_ready_fd(self, worker: Worker) -> None:
        if worker.ready_fd is not None:
            self._selector.unregister(worker.ready_fd)
            os.close(worker.ready_fd)
            worker.ready_fd = None

    def _reap(self) -> None:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is None:
                continue
            if worker.ready_fd is not None:  # it may have reported just before dying
                os.set_blocking(worker.ready_fd, False)
                self._on_ready(worker)
                self._forget_ready_fd(worker)
            self._worker_exited(worker, os.waitstatus_to_exitcode(status))

    def _worker_exited(self, worker: Worker, code: int) -> None:
        if worker.pid in self._abandoned:  # reported when the reload was abandoned
            self._abandoned.discard(worker.pid)
            return
        if self._stopping or worker.state is WorkerState.RETIRING:
            if code not in (0, -signal.SIGTERM, -signal.SIGINT) and not self._exit_code:
                self._exit_code = code if code > 0 else 1
            return
        if self.pending is not None and worker.generation == self.pending.number:
            if worker.state is WorkerState.STARTING:
                self._abandon_reload(f"a new worker exited with {code} before accepting")
            else:
                self._spawn(self.pending)
            return
        if worker.generation != self.current.number:
            return
        if worker.state is WorkerState.SERVING:
            error_log.error("worker %d exited with %d; starting a new one", worker.pid, code)
            self._spawn(self.current)
            return
        if code == EXIT_CONFIG and not self._announced:  # the worker logged why it cannot start
            self._exit_code = EXIT_CONFIG
            self._stop(signal.SIGTERM)
            return
        self._failures += 1
        if self._failures >= MAX_STARTUP_FAILURES:
            message = (
                f"workers keep failing at startup ({self._failures} in a row, the last exited "
                f"with {code}); giving up"
            )
            error_log.error("%s", message)
            print(f"webserv: {message}", file=sys.stderr, flush=True)
            self._exit_code = 1
            self._stop(signal.SIGTERM)
            return
        delay = min(BACKOFF_FIRST * 2 ** (self._failures - 1), BACKOFF_MAX)
        error_log.error(
            "worker %d exited with %d before accepting; starting a new one in %.1fs",
            worker.pid,
            code,
            delay,
        )
        self._respawn_at.append(time.monotonic() + delay)

    def _signal_workers(self, signum: int, workers: list[Worker] | None = None) -> None:
        for worker in list(self.workers.values()) if workers is None else workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signum)

    # -- signals --------------------------------------------------------------------------------
    def _on_signal(self, signum: int) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            self._stop(signum)
        elif signum == signal.SIGHUP:
            if self._stopping:
                return
            if self.pending is not None:
                self._reload_again = True
            else:
                self._reload()
        elif signum == signal.SIGUSR1:
            error_log.reopen()
            self._hand_log_files(self.current.config)
            error_log.info("reopened the error log; telling the workers")
            self._signal_workers(signal.SIGUSR1)

    def _stop(self, signum: int) -> None:
        if not self._stopping:
            self._notifier.stopping()
        self._stopping = True
        self._respawn_at.clear()
        for worker in self.workers.values():
            worker.state = WorkerState.RETIRING
        self._signal_workers(signum)

    # -- reload ---------------------------------------------------------------------------------
    def _reload(self) -> None:
        self._notifier.reloading()
        try:
            config = self._reload_config()  # logs why when the new config is invalid
        except Exception:  # noqa: BLE001 - a failed reload keeps the old config
            error_log.exception("reload failed, keeping the current configuration")
            config = None
        if config is None:
            self._notifier.ready(self._status("reload failed, configuration kept"))
            return
        try:
            listeners = self._open_listeners(config, self.current.listeners)
        except Exception as exc:  # noqa: BLE001 - ListenError, or anything unexpected
            error_log.error("reload: %s; keeping the current configuration", exc)
            self._notifier.ready(self._status("reload failed, configuration kept"))
            return
        self._hand_log_files(config)
        count = self._fixed_count or config.workers
        self.pending = Generation(self.current.number + 1, config, listeners, count)
        for _ in range(count):
            self._spawn(self.pending)

    def _generation_progress(self) -> None:
        gen = self.pending if self.pending is not None else self.current
        starting = [
            w
            for w in self.workers.values()
            if w.generation == gen.number and w.state is WorkerState.STARTING
        ]
        if starting:
            return
        if gen is self.current:
            if not self._announced:
                self._announced = True
                for address in gen.listeners:
                    print(f"webserv: listening on {url_of(address, gen.config)}", flush=True)
                self._notifier.ready(self._status())
            return
        self._switch_to(gen)

    def _switch_to(self, gen: Generation) -> None:
        """Every worker of the reload's generation accepts: retire the old ones."""
        old = self.current
        self.current, self.pending = gen, None
        self._respawn_at.clear()  # a delayed respawn would run the old generation's slot
        self._failures = 0
        retiring = [w for w in self.workers.values() if w.generation != gen.number]
        # one still starting has nothing to finish (and may not handle SIGRETIRE yet)
        starting = [w for w in retiring if w.state is WorkerState.STARTING]
        for worker in retiring:
            worker.state = WorkerState.RETIRING
        self._signal_workers(signal.SIGTERM, starting)
        self._signal_workers(SIGRETIRE, [w for w in retiring if w not in starting])
        for address, sock in old.listeners.items():
            if gen.listeners.get(address) is not sock:
                sock.close()
        try:
            configure_error_log(gen.config.error_log)
        except OSError as exc:
            error_log.error("reload: cannot open error log: %s", exc.strerror or exc)
        for address in gen.listeners:
            if address not in old.listeners:
                print(f"webserv: listening on {url_of(address, gen.config)}", flush=True)
        error_log.info("reloaded configuration (%d workers)", gen.count)
        self._notifier.ready(self._status())
        if self._reload_again:
            self._reload_again = False
            self._reload()

    def _abandon_reload(self, why: str) -> None:
        gen = self.pending
        assert gen is not None
        self.pending = None
        error_log.error("reload: %s; keeping the current configuration", why)
        doomed = [w for w in self.workers.values() if w.generation == gen.number]
        for worker in doomed:
            worker.state = WorkerState.RETIRING
            self._abandoned.add(worker.pid)
        self._signal_workers(signal.SIGQUIT, doomed)
        for address, sock in gen.listeners.items():
            if self.current.listeners.get(address) is not sock:
                sock.close()
        self._reload_again = False
        self._notifier.ready(self._status("reload failed, configuration kept"))

    def _status(self, note: str = "") -> str:
        """systemd's STATUS= line: how many workers serve, and a note."""
        text = f"{self.current.count} worker(s) serving"
        return f"{text}; {note}" if note else text

    def _hand_log_files(self, config: Config) -> None:
        """With ``user`` as root: the log files exist and belong to the workers' user, so
        that workers can reopen them after logrotate (nginx's master does the same)."""
        if not privileges.applies(config):
            return
        assert config.user is not None
        try:
            creds = privileges.resolve(config.user)
        except privileges.PrivilegeError as exc:
            error_log.error("%s", exc)
            return
        for problem in privileges.hand_log_files_to(config, creds):
            error_log.error("%s", problem)


def _note_signal(signum: int, frame: object) -> None:
    """Signals reach the master's loop through the wakeup fd (one byte per signal)."""


def _drain(sock: socket.socket) -> list[int]:
    signals: list[int] = []
    while True:
        try:
            data = sock.recv(512)
        except (BlockingIOError, InterruptedError):
            return signals
        if not data:
            return signals
        signals.extend(data)
