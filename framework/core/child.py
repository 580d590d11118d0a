"""Child processes driven by the event loop: the one place that spawns and reaps children.

A ``ChildProcess`` runs in its own session (so its whole process group can be signalled),
talks through non-blocking pipes, and reports its exit as an fd in the loop: a pidfd
(``os.pidfd_open``) on Linux, else a SIGCHLD handler that polls ``waitpid(WNOHANG)`` for the
children registered here. The exit callback reaps the child whether or not anybody still
awaits it, so no zombie outlives its process, whatever happened to the request that started
it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
PIPE_SIZE = 256 * 1024  # bigger than Linux's 64 KiB default: fewer wake-ups per MB

_live: dict[int, ChildProcess] = {}  # pid -> child not reaped yet
_doomed: set[int] = set()  # process groups signalled with a SIGKILL still to come
_sigchld_loops: set[asyncio.AbstractEventLoop] = set()
_home_fd: int | None = None  # the server's working directory, to return to after a spawn
# signals the server ignores; an ignored signal stays ignored across exec
_RESET_SIGNALS = tuple(
    sig for sig in (signal.SIGPIPE, getattr(signal, "SIGXFSZ", None)) if sig is not None
)


def _use_pidfd() -> bool:
    return hasattr(os, "pidfd_open")


class ChildProcess:
    """A spawned child with parent-side pipe ends ``stdin``, ``stdout``, ``stderr`` (fds,
    non-blocking, close-on-exec; ``None`` once taken or closed).

    ``returncode`` is set when the child has been reaped (negative: killed by that signal).
    Use ``take_stdin()`` & co. to hand an fd to an owner that will close it;
    ``close_pipes()`` closes whatever is still held here.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, pid: int, fds: list[int | None]) -> None:
        self._loop = loop
        self.pid = pid
        self.stdin: int | None = fds[0]
        self.stdout: int | None = fds[1]
        self.stderr: int | None = fds[2]
        self.returncode: int | None = None
        self._exited = loop.create_future()
        self._pidfd: int | None = None
        self._kill_timer: asyncio.TimerHandle | None = None
        self._terminating = False

    # -- spawning ------------------------------------------------------------------------
    @classmethod
    def spawn(
        cls,
        argv: Sequence[str | os.PathLike[str]],
        *,
        env: Mapping[str, str],
        cwd: str | Path | int,
        loop: asyncio.AbstractEventLoop | None = None,
        pipe_size: int = PIPE_SIZE,
        stdin: bool = True,
    ) -> ChildProcess:
        """Start ``argv`` in a new session with exactly ``env`` and ``cwd`` (a path, or an
        open directory fd: the child starts in that very directory whatever happens to
        its path meanwhile, and a relative ``argv[0]`` is looked up there).

        ``stdin=False`` gives the child /dev/null instead of a pipe. ``pipe_size`` enlarges
        the stdin and stdout pipes (stderr keeps the default). Raises ``OSError`` when the
        program cannot be executed (missing, not executable, bad format). Signals the
        server ignores (SIGPIPE) are back to default in the child.
        """
        loop = loop or asyncio.get_running_loop()
        child_ends: list[int] = []
        parent_ends: list[int | None] = []
        try:
            for name in ("stdin", "stdout", "stderr"):
                if name == "stdin" and not stdin:
                    parent_ends.append(None)
                    continue
                r, w = os.pipe2(os.O_CLOEXEC)
                child, parent = (r, w) if name == "stdin" else (w, r)
                child_ends.append(child)
                parent_ends.append(parent)
                # a fresh pipe end has no status flags: one F_SETFL, no F_GETFL first
                fcntl.fcntl(parent, fcntl.F_SETFL, os.O_NONBLOCK)
                if pipe_size and name != "stderr":
                    with contextlib.suppress(OSError):
                        fcntl.fcntl(parent, fcntl.F_SETPIPE_SZ, pipe_size)
            pid = _start(
                [os.fspath(a) for a in argv],
                env,
                cwd,
                child_ends[0] if stdin else None,
                child_ends[-2],
                child_ends[-1],
            )
        except BaseException:
            for fd in parent_ends:
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            for fd in child_ends:
                os.close(fd)
        proc = cls(loop, pid, parent_ends)
        _live[proc.pid] = proc
        proc._watch_exit()
        return proc

    def _watch_exit(self) -> None:
        if _use_pidfd():
            try:
                self._pidfd = os.pidfd_open(self.pid)
            except OSError:
                self._pidfd = None
        if self._pidfd is not None:
            # a pidfd opened on an exited (unreaped) child is readable at once: no poll now
            self._loop.add_reader(self._pidfd, self._poll_exit)
        else:
            _install_sigchld(self._loop)
            # the child may be gone already and its SIGCHLD missed
            self._poll_exit()

    def _poll_exit(self) -> None:
        """Reap the child if it has exited (called when the pidfd is readable / on SIGCHLD)."""
        if self.returncode is not None:
            return
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere; should not happen
            pid, status = self.pid, 255 << 8
        if pid == 0:
            return
        self._on_reaped(os.waitstatus_to_exitcode(status))

    def _on_reaped(self, code: int) -> None:
        self.returncode = code
        _live.pop(self.pid, None)
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if not self._exited.done():
            self._exited.set_result(code)
        # the SIGKILL timer stays armed only while something is left in the group
        if self._kill_timer is not None and not self.signal_group(0):
            self._kill_timer.cancel()
            self._kill_timer = None
            _doomed.discard(self.pid)

    # -- observing -----------------------------------------------------------------------
    def poll(self) -> int | None:
        """Reap the child now if it has exited (without waiting); its exit code or None."""
        self._poll_exit()
        return self.returncode

    async def wait(self) -> int:
        """The exit code, once the child has exited and been reaped."""
        return await asyncio.shield(self._exited)

    async def wait_at_most(self, timeout: float) -> int | None:
        """The exit code once reaped, or None if that takes longer than ``timeout`` seconds.

        Lighter than ``asyncio.timeout`` around ``wait()`` (one private future and one
        timer), as every CGI request waits here; cancelling it leaves the child alone."""
        if self.returncode is not None:
            return self.returncode
        waiter = self._loop.create_future()

        def wake(_: object = None) -> None:
            if not waiter.done():
                waiter.set_result(None)

        self._exited.add_done_callback(wake)
        timer = self._loop.call_later(timeout, wake)
        try:
            await waiter
        finally:
            timer.cancel()
            self._exited.remove_done_callback(wake)
        return self.returncode

    # -- signalling ----------------------------------------------------------------------
    def signal_group(self, sig: int) -> bool:
        """Send ``sig`` to the child's process group (its session). False when the group
        has no process left."""
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def terminate_group(self, grace: float = DEFAULT_GRACE) -> None:
        """SIGTERM the process group now and SIGKILL it after ``grace`` seconds (a loop
        timer) unless the group is already empty. Idempotent.

        Signalling the group after the leader was reaped is safe: Linux does not reuse an
        id while a process group still holds it."""
        if self._terminating:
            return
        self._terminating = True
        if self.signal_group(signal.SIGTERM):
            self._kill_timer = self._loop.call_later(grace, self._kill)
            _doomed.add(self.pid)

    def _kill(self) -> None:
        _doomed.discard(self.pid)
        self.signal_group(signal.SIGKILL)

    # -- fds -----------------------------------------------------------------------------
    def take_stdin(self) -> int:
        """The write end of the child's stdin pipe; the caller owns (and closes) it from now on."""
        fd, self.stdin = self.stdin, None
        assert fd is not None
        return fd

    def take_stdout(self) -> int:
        """The read end of the child's stdout pipe; the caller owns (and closes) it from now on."""
        fd, self.stdout = self.stdout, None
        assert fd is not None
        return fd

    def take_stderr(self) -> int:
        """The read end of the child's stderr pipe; the caller owns (and closes) it from now on."""
        fd, self.stderr = self.stderr, None
        assert fd is not None
        return fd

    def close_pipes(self) -> None:
        """Close the pipe ends still held by this object."""
        for name in ("stdin", "stdout", "stderr"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                os.close(fd)

    def __repr__(self) -> str:
        state = "running" if self.returncode is None else f"exit {self.returncode}"
        return f"<ChildProcess {self.pid} {state}>"


def _start(
    argv: list[str],
    env: Mapping[str, str],
    cwd: str | Path | int,
    stdin: int | None,
    stdout: int,
    stderr: int,
) -> int:
    """``posix_spawn`` (a vfork+exec in C, much cheaper than ``subprocess``) in a new
    session, with the given fds as 0/1/2 and the ignored signals back to default.

    posix_spawn has no chdir action in Python 3.11, so the server changes its own working
    directory around the call and goes back with ``fchdir``: safe because nothing else runs
    in between (one thread). Every fd the server opens is close-on-exec (PEP 446), so the
    child inherits only 0, 1 and 2 (``_seal_inherited_fds`` covers fds inherited at start).
    """
    global _home_fd
    if _home_fd is None:
        _seal_inherited_fds()
        _home_fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    actions: list[tuple] = [
        (os.POSIX_SPAWN_DUP2, stdout, 1),
        (os.POSIX_SPAWN_DUP2, stderr, 2),
    ]
    if stdin is None:
        actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
    else:
        actions.append((os.POSIX_SPAWN_DUP2, stdin, 0))
    if isinstance(cwd, int):
        os.fchdir(cwd)
    else:
        os.chdir(cwd)
    try:
        return os.posix_spawn(
            argv[0],
            argv,
            env,
            file_actions=actions,
            setsid=True,
            setsigdef=_RESET_SIGNALS,
            setsigmask=(),
        )
    finally:
        os.fchdir(_home_fd)


def _seal_inherited_fds() -> None:
    """Mark every fd above 2 close-on-exec (fds the server inherited from its parent)."""
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd > 2:
                with contextlib.suppress(OSError):
                    if os.get_inheritable(fd):
                        os.set_inheritable(fd, False)


def _install_sigchld(loop: asyncio.AbstractEventLoop) -> None:
    """Fallback without pidfds: on SIGCHLD (delivered through the loop's wakeup fd), poll
    every registered child of this loop with ``waitpid(pid, WNOHANG)``."""
    if loop in _sigchld_loops:
        return
    loop.add_signal_handler(signal.SIGCHLD, _reap_registered, loop)
    _sigchld_loops.add(loop)


def _reap_registered(loop: asyncio.AbstractEventLoop) -> None:
    for child in list(_live.values()):
        if child._loop is loop and child._pidfd is None:
            child._poll_exit()


def live_children() -> list[ChildProcess]:
    """Children spawned here and not reaped yet."""
    return list(_live.values())


def kill_all(sig: int = signal.SIGKILL, *, reap: bool = False) -> None:
    """Signal every live child's group, and every group still waiting for its SIGKILL
    (worker shutdown: the loop that would fire those timers is ending). With ``reap``,
    wait for each child (blocking: only for the very end of a worker, after its loop)."""
    for pgid in list(_doomed):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    _doomed.clear()
    for child in list(_live.values()):
        child.signal_group(sig)
        if reap:
            try:
                _, status = os.waitpid(child.pid, 0)
            except ChildProcessError:
                status = 255 << 8
            _live.pop(child.pid, None)
            child.returncode = os.waitstatus_to_exitcode(status)
