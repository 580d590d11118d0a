"""ChildProcess: spawning in a new session, exit through the loop, group signalling."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from framework.core import child as child_module
from framework.core.child import ChildProcess, live_children


async def read_all(loop: asyncio.AbstractEventLoop, fd: int) -> bytes:
    parts = []
    while True:
        fut = loop.create_future()
        loop.add_reader(fd, fut.set_result, None)
        try:
            await fut
        finally:
            loop.remove_reader(fd)
        data = os.read(fd, 65536)
        if not data:
            return b"".join(parts)
        parts.append(data)


def is_zombie_or_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def run_python(code: str, tmp_path: Path, env=None) -> tuple[int, bytes, ChildProcess]:
    async def main():
        loop = asyncio.get_running_loop()
        proc = ChildProcess.spawn(
            [sys.executable, "-c", code], env=env or {"PATH": "/usr/bin:/bin"}, cwd=tmp_path
        )
        os.close(proc.take_stdin())
        out = await read_all(loop, proc.stdout)
        code_ = await proc.wait()
        proc.close_pipes()
        return code_, out, proc

    return asyncio.run(main())


def test_child_runs_in_cwd_with_exactly_the_given_environment(tmp_path):
    code = "import os,sys; sys.stdout.write(os.getcwd() + '|' + ','.join(sorted(os.environ)))"
    rc, out, proc = run_python(code, tmp_path, env={"PATH": "/usr/bin:/bin", "ONLY": "1"})
    cwd, names = out.decode().split("|")
    assert rc == 0
    assert Path(cwd) == tmp_path.resolve()
    assert set(names.split(",")) - {"LC_CTYPE"} == {"PATH", "ONLY"}


def test_exit_code_is_reported_and_child_is_reaped(tmp_path):
    rc, _, proc = run_python("import sys; sys.exit(3)", tmp_path)
    assert rc == 3 and proc.returncode == 3
    assert proc not in live_children()
    assert is_zombie_or_gone(proc.pid) and not os.path.exists(f"/proc/{proc.pid}")


def test_child_is_a_session_leader(tmp_path):
    rc, out, proc = run_python("import os; print(os.getsid(0) == os.getpid())", tmp_path)
    assert out.strip() == b"True"


def test_sigpipe_is_back_to_default_in_the_child(tmp_path):
    # the server ignores SIGPIPE (Python does); a non-Python child must not inherit that
    async def main():
        loop = asyncio.get_running_loop()
        proc = ChildProcess.spawn(["/bin/cat", "/proc/self/status"], env={}, cwd=tmp_path)
        out = await read_all(loop, proc.stdout)
        await proc.wait()
        proc.close_pipes()
        return out

    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN
    status = asyncio.run(main()).decode()
    ignored = int(status.split("SigIgn:")[1].split()[0], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))


def test_missing_program_raises_and_leaks_no_fd(tmp_path):
    run_python("pass", tmp_path)  # any one-time setup happens here

    async def main():
        before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(OSError):
            ChildProcess.spawn([str(tmp_path / "nope")], env={}, cwd=tmp_path)
        return before, len(os.listdir("/proc/self/fd"))

    before, after = asyncio.run(main())
    assert after == before
    assert Path.cwd() != tmp_path  # the server's own working directory is back


def test_child_inherits_only_its_three_standard_fds(tmp_path, monkeypatch):
    leaked_r, leaked_w = os.pipe()
    os.set_inheritable(leaked_w, True)  # as if the server had inherited it
    monkeypatch.setattr(child_module, "_home_fd", None)  # redo the one-time sealing

    async def main():
        loop = asyncio.get_running_loop()
        proc = ChildProcess.spawn(["/bin/ls", "/proc/self/fd"], env={}, cwd=tmp_path)
        out = await read_all(loop, proc.stdout)
        await proc.wait()
        proc.close_pipes()
        return out

    try:
        fds = {int(x) for x in asyncio.run(main()).split()}
    finally:
        os.close(leaked_r)
        os.close(leaked_w)
        if child_module._home_fd is not None:
            os.close(child_module._home_fd)
    assert len(fds) == 4 and {0, 1, 2} <= fds  # the fourth is ls's own directory fd


def test_terminate_group_kills_grandchildren_that_ignore_sigterm(tmp_path):
    # the script ignores SIGTERM and starts a grandchild that does too
    code = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    print(os.getpid(), flush=True)\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "time.sleep(60)\n"
    )

    async def main():
        loop = asyncio.get_running_loop()
        proc = ChildProcess.spawn(
            [sys.executable, "-c", code], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path
        )
        fut = loop.create_future()
        loop.add_reader(proc.stdout, fut.set_result, None)
        await fut
        loop.remove_reader(proc.stdout)
        grandchild = int(os.read(proc.stdout, 100).split()[0])
        proc.terminate_group(grace=0.2)
        rc = await asyncio.wait_for(proc.wait(), 10)
        proc.close_pipes()
        return rc, grandchild

    rc, grandchild = asyncio.run(main())
    assert rc == -signal.SIGKILL
    # the grandchild was in the same group: killed as well (reaped by init)
    deadline = asyncio.run(_wait_gone(grandchild))
    assert deadline


async def _wait_gone(pid: int) -> bool:
    for _ in range(200):
        if is_zombie_or_gone(pid):
            return True
        await asyncio.sleep(0.05)
    return False


def test_sigchld_fallback_reaps_without_pidfd(tmp_path, monkeypatch):
    monkeypatch.setattr(child_module, "_use_pidfd", lambda: False)
    monkeypatch.setattr(child_module, "_sigchld_loops", set())
    rc, out, proc = run_python("print('hi')", tmp_path)
    assert (rc, out) == (0, b"hi\n")
    assert not os.path.exists(f"/proc/{proc.pid}")


def test_child_without_stdin_pipe_reads_dev_null(tmp_path):
    async def main():
        loop = asyncio.get_running_loop()
        proc = ChildProcess.spawn(["/bin/cat"], env={}, cwd=tmp_path, stdin=False)
        assert proc.stdin is None
        out = await read_all(loop, proc.stdout)
        rc = await proc.wait()
        proc.close_pipes()
        return rc, out

    assert asyncio.run(main()) == (0, b"")


def test_wait_at_most_gives_the_exit_code_or_none_and_leaves_the_child_alone(tmp_path):
    async def main():
        env = {"PATH": "/usr/bin:/bin"}
        quick = ChildProcess.spawn(
            [sys.executable, "-c", "raise SystemExit(3)"], env=env, cwd=tmp_path, stdin=False
        )
        slow = ChildProcess.spawn(
            [sys.executable, "-c", "import time; time.sleep(60)"],
            env=env,
            cwd=tmp_path,
            stdin=False,
        )
        try:
            quick_code = await quick.wait_at_most(60)
            slow_code = await slow.wait_at_most(0.01)
            still_running = slow.poll() is None
            slow.terminate_group(grace=0.1)
            return quick_code, slow_code, still_running, await slow.wait()
        finally:
            quick.close_pipes()
            slow.close_pipes()

    quick_code, slow_code, still_running, killed = asyncio.run(main())
    assert quick_code == 3
    assert slow_code is None and still_running
    assert killed == -signal.SIGTERM
