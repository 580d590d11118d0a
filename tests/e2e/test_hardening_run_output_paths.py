"""``webserv run`` with a ``pid`` or ``error_log`` in a missing directory stops before it
starts, with the same diagnostic as ``validate-config`` (file:line:col, rule, caret, hint)
and exit 1, instead of a traceback after binding."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("directive", "col"), [("pid run/webserv.pid;", 5), ("error_log logs/e.log;", 11)]
)
def test_run_refuses_a_pid_or_error_log_it_could_not_write(tmp_path: Path, directive, col):
    (tmp_path / "www").mkdir()
    config = tmp_path / "site.conf"
    config.write_text(
        f"{directive}\nserver {{\n    listen 127.0.0.1:{free_port()};\n    root www;\n}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert f"site.conf:1:{col}: error[unwritable-path]: cannot write the " in output
    assert "= hint: create it (mkdir -p" in output
    assert "Traceback" not in output
    assert not (tmp_path / directive.split()[1]).exists()
