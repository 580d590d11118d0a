"""A reload to a config whose WSGI app cannot be imported keeps the running configuration:
the master (``workers 2``) or the single process checks the new target in a child first."""

from __future__ import annotations

import signal

import pytest
from wsgi_fixtures import site_files

from framework.testing import ServerProcess, wait_until

CONFIG = """
WORKERS
server {
    listen 127.0.0.1:{port};
    asgi_app_dir apps;
    location / { wsgi TARGET; }
}
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_a_reload_to_an_app_that_does_not_import_keeps_serving_the_old_one(tmp_path, workers):
    files = dict(site_files(), **{"apps/broken_site.py": "raise ImportError('no db driver')\n"})
    config = CONFIG.replace("WORKERS", f"workers {workers};")
    target = config.replace("TARGET", "flask_site:app")
    srv = ServerProcess(target, cwd=tmp_path, files=files, startup_timeout=30)
    with srv:
        assert srv.get("/").body == b"hello from flask"
        assert srv.config_path is not None
        text = srv.config_path.read_text()
        srv.config_path.write_text(text.replace("flask_site:app", "broken_site:app"))
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGHUP)
        assert srv.wait_for_log(r"invalid configuration, keeping the current one")
        assert "error[app-not-importable]" in srv.stderr
        assert "ImportError: no db driver" in srv.stderr
        assert wait_until(lambda: srv.get("/").body == b"hello from flask")
