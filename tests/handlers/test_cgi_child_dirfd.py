"""``ChildProcess.spawn(cwd=<directory fd>)``: the child starts in the directory that fd
holds, and a relative program name is found there, whatever its path leads to by then
(how a CGI script is started without a path lookup an attacker could redirect)."""

from __future__ import annotations

import asyncio
import os

from test_cgi_child import read_all

from framework.core.child import ChildProcess


def test_a_relative_program_runs_in_the_pinned_directory_after_its_path_is_swapped(tmp_path):
    scripts, outside = tmp_path / "scripts", tmp_path / "outside"
    scripts.mkdir()
    outside.mkdir()
    for base, word in ((scripts, "inside"), (outside, "OUTSIDE")):
        (base / "run.sh").write_text(f"#!/bin/sh\necho {word} $(pwd -P)\n")
        (base / "run.sh").chmod(0o755)
    dir_fd = os.open(scripts, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    # the path now leads outside: the pinned directory must still be the one used
    os.rename(scripts, tmp_path / "moved")
    os.symlink(outside, scripts)

    async def main() -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        proc = ChildProcess.spawn(
            ["./run.sh"], env={"PATH": "/usr/bin:/bin"}, cwd=dir_fd, stdin=False
        )
        out = await read_all(loop, proc.stdout)
        code = await proc.wait()
        proc.close_pipes()
        return code, out

    try:
        code, out = asyncio.run(main())
    finally:
        os.close(dir_fd)
    assert code == 0
    assert out.decode().split() == ["inside", str((tmp_path / "moved").resolve())]
    assert os.getcwd() != str(tmp_path / "moved")  # the server's own cwd is back
