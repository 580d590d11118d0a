"""A plugin's ``startup()`` that raises: ``webserv run`` stops with one line naming the
handler and its ``handler NAME`` line (exit 1, no traceback, never exit 3), in one process
and with ``workers N``; on reload the running configuration is kept and the same line says
why. Real ``webserv`` subprocesses with a real plugin loaded by ``load_module``."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from framework.testing import ServerProcess, free_port

PLUGIN = '''
import os
from framework import Handler, Response


class Marked(Handler):
    """Starts (and stops) leaving a line in events.log, next to the config."""
    name = "marked"

    async def startup(self):
        with open(os.path.join(os.path.dirname(__file__), "events.log"), "a") as f:
            f.write("marked started\\n")

    async def shutdown(self):
        with open(os.path.join(os.path.dirname(__file__), "events.log"), "a") as f:
            f.write("marked stopped\\n")


class Fragile(Handler):
    """Its startup fails while the file "fail" exists next to the plugin."""
    name = "fragile"

    async def startup(self):
        if os.path.exists(os.path.join(os.path.dirname(__file__), "fail")):
            raise RuntimeError("database unreachable")

    async def handle(self, request, call_next):
        return Response(200, b"ok\\n")
'''

FAILURE = re.compile(
    r'site\.conf:6:9: handler "fragile": startup\(\) failed: RuntimeError: database unreachable'
)


def write_site(
    tmp_path: Path, port: int, *, workers: int = 1, fail: bool = True, extra: str = ""
) -> Path:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "fragileplugin.py").write_text(PLUGIN)
    if fail:
        (conf / "fail").touch()
    config = conf / "site.conf"
    config.write_text(
        f"load_module fragileplugin;\nworkers {workers};\n"
        "server {\n"
        f"    listen 127.0.0.1:{port};\n"
        "    location / {\n"
        "        handler fragile;\n"  # line 6, column 9
        "    }\n"
        f"{extra}"
        "}\n"
    )
    return config


def run(config: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "framework", "run", str(config)],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_failing_startup_is_one_line_with_the_handler_and_its_config_line(tmp_path):
    config = write_site(tmp_path, free_port())
    proc = run(config, tmp_path)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert FAILURE.search(lines[0]) and "cannot start: " in lines[0]
    assert "Traceback" not in proc.stderr
    assert "listening" not in proc.stdout


def test_handlers_started_before_the_failing_one_are_shut_down(tmp_path):
    extra = "    location /m/ { handler marked; handler fragile; }\n"
    config = write_site(tmp_path, free_port(), extra=extra)
    config.write_text(config.read_text().replace("handler fragile;\n    }", "}"))
    proc = run(config, tmp_path)
    assert proc.returncode == 1
    # line 7 once location / lost its handler line
    assert 'site.conf:7:36: handler "fragile": startup() failed' in proc.stderr
    events = (config.parent / "events.log").read_text().splitlines()
    assert events == ["marked started", "marked stopped"]


def test_with_workers_the_master_stops_at_once_with_the_workers_line(tmp_path):
    config = write_site(tmp_path, free_port(), workers=2)
    proc = run(config, tmp_path)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    # each worker that got as far as its startup says it, and nothing else is said
    assert 1 <= len(lines) <= 2, proc.stderr
    assert all(FAILURE.search(line) for line in lines), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "listening" not in proc.stdout


@pytest.mark.parametrize("workers", [1, 2])
def test_a_reload_whose_startup_fails_keeps_the_running_configuration(tmp_path, workers):
    port = free_port()
    config = write_site(tmp_path, port, workers=workers, fail=False)
    with ServerProcess(config_path=config, cwd=tmp_path, port=port) as server:
        assert server.get("/").body == b"ok\n"
        (config.parent / "fail").touch()
        server.proc.send_signal(signal.SIGHUP)
        assert server.wait_for_log(r"keeping the current configuration", timeout=60)
        assert server.get("/").body == b"ok\n"
        assert server.proc.poll() is None
        assert server.stop() == 0
    assert FAILURE.search(server.stderr), server.stderr
    assert "Traceback" not in server.stderr


ODD_PLUGIN = '''
import asyncio
import os
import sys
from framework import Handler, HandlerSettings, Response


class OddSettings(HandlerSettings):
    mode: str = "raise"


class Odd(Handler[OddSettings]):
    """Fails in __init__ or startup() in the way ``mode`` (or the file "mode") says."""
    name = "odd"

    def _mode(self):
        path = os.path.join(os.path.dirname(__file__), "mode")
        return open(path).read().strip() if os.path.exists(path) else self.settings.mode

    def __init__(self, settings, location):
        super().__init__(settings, location)
        if self._mode() == "init":
            raise ValueError("init boom")
        if self._mode() == "init-exit":
            sys.exit(2)

    async def startup(self):
        mode = self._mode()
        if mode == "exit":
            sys.exit(2)
        if mode == "kbd":
            raise KeyboardInterrupt
        if mode == "cancel":
            raise asyncio.CancelledError()
        if mode == "multiline":
            raise RuntimeError("first line\\n\\n  second line\\n")

    async def handle(self, request, call_next):
        return Response(200, b"ok\\n")
'''

ODD_REASONS = {
    "exit": "startup() failed: SystemExit: 2",
    "kbd": "startup() failed: KeyboardInterrupt",
    "cancel": "startup() failed: CancelledError",
    "multiline": "startup() failed: RuntimeError: first line / second line",
    "init": "__init__() failed: ValueError: init boom",
    "init-exit": "__init__() failed: SystemExit: 2",
}


def write_odd_site(tmp_path: Path, port: int, mode: str, workers: int = 1) -> Path:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "oddplugin.py").write_text(ODD_PLUGIN)
    config = conf / "site.conf"
    config.write_text(
        f"load_module oddplugin;\nworkers {workers};\n"
        "server {\n"
        f"    listen 127.0.0.1:{port};\n"
        "    location / {\n"
        f"        handler odd {{ mode {mode}; }}\n"  # line 6, column 9
        "    }\n"
        "}\n"
    )
    return config


@pytest.mark.parametrize(
    ("mode", "workers"),
    [(mode, 1) for mode in ODD_REASONS] + [("exit", 2), ("cancel", 2), ("init", 2)],
)
def test_any_failure_of_init_or_startup_is_the_same_located_line_and_exit_1(
    tmp_path, mode, workers
):
    """SystemExit, KeyboardInterrupt and a CancelledError the plugin raises itself are
    failures like any other (not a silent exit 2, 130 or a traceback), a multi-line message
    is folded onto the one line, and __init__ failing is located like startup()."""
    config = write_odd_site(tmp_path, free_port(), mode, workers)
    proc = run(config, tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= workers, proc.stderr
    expected = f'site.conf:6:9: handler "odd": {ODD_REASONS[mode]}'
    assert all(line.endswith(expected) and "cannot start: " in line for line in lines), lines
    assert "Traceback" not in proc.stderr
    assert "listening" not in proc.stdout


@pytest.mark.parametrize("mode", ["init", "exit"])
def test_a_reload_whose_handler_init_or_startup_fails_keeps_the_running_config(tmp_path, mode):
    port = free_port()
    config = write_odd_site(tmp_path, port, "ok")
    with ServerProcess(config_path=config, cwd=tmp_path, port=port) as server:
        assert server.get("/").body == b"ok\n"
        (config.parent / "mode").write_text(mode)
        server.proc.send_signal(signal.SIGHUP)
        assert server.wait_for_log(r"keeping the current configuration", timeout=60)
        assert server.get("/").body == b"ok\n"
        assert server.stop() == 0
    assert f'site.conf:6:9: handler "odd": {ODD_REASONS[mode]}' in server.stderr, server.stderr
    assert "Traceback" not in server.stderr
