"""A USR1 (log reopen) that reaches a worker while it is still starting is kept pending
and handled once its loop runs, not ignored: after logrotate renames the log during a
respawn or a reload, every worker ends up writing to the new file."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from test_hardening_supervision import live_children, site

from framework.testing import ServerProcess, wait_until

# a handler whose construction (in the worker, before its loop runs) waits for a file:
# a window in which the worker is forked but cannot handle a signal yet
GATE = """
import os
import time

from framework import Handler


class Gate(Handler):
    name = "gate"

    def __init__(self, settings, location):
        super().__init__(settings, location)
        deadline = time.monotonic() + 30
        while not os.path.exists("go") and time.monotonic() < deadline:
            time.sleep(0.02)  # test plugin: holds the worker in its startup
"""


def test_a_usr1_sent_while_workers_start_is_handled_once_they_run(tmp_path: Path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "gate.py").write_text(GATE)
    config = site(tmp_path, "load_module gate; workers 2; error_log logs/error.log info;")
    config = config.replace(
        "keepalive_timeout 30s;", "keepalive_timeout 30s;\n    location /g { handler gate; }"
    )
    srv = ServerProcess(config, cwd=tmp_path, startup_timeout=60)
    # start() returns once the workers are ready, and they wait for "go": run it aside
    starter = threading.Thread(target=srv.start)
    starter.start()
    logs = tmp_path / "logs"
    try:
        try:
            assert wait_until(lambda: srv.proc is not None and len(live_children(srv)) == 2)
            assert wait_until(lambda: (logs / "error.log").exists())
            (logs / "error.log").rename(logs / "error.log.1")
            srv.proc.send_signal(signal.SIGUSR1)  # the master reopens, forwards to both
            assert wait_until(lambda: (logs / "error.log").exists())
        finally:
            (tmp_path / "go").touch()
            starter.join(60)
        # each worker reopens once its loop handles the pending USR1: master + 2 workers
        assert wait_until(lambda: (logs / "error.log").read_text().count("reopened") == 3), (
            logs / "error.log"
        ).read_text()
        assert srv.get("/index.html").status == 200
        assert srv.stop() == 0
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.kill()
