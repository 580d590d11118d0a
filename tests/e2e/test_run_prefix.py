"""``webserv run --prefix DIR``: relative includes and paths resolve against DIR (like
``nginx -p``), at start and again at every reload, in one process and under a master."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from framework.testing import ServerProcess, free_port, wait_until

SITE = """{extra}
server {{
    listen 127.0.0.1:{port};
    root www;
    include snippets/*.conf;
}}
"""


def snippet(prefix: Path, text: str) -> None:
    (prefix / "snippets" / "answer.conf").write_text(
        f'location = /answer {{ return 200 "{text}"; }}\n'
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_run_resolves_includes_and_root_against_the_prefix_and_reload_rereads_them(
    tmp_path, workers
):
    prefix, elsewhere = tmp_path / "prefix", tmp_path / "elsewhere"
    for directory in (prefix / "snippets", prefix / "www", tmp_path / "conf.d", elsewhere):
        directory.mkdir(parents=True)
    (prefix / "www" / "index.html").write_text("from the prefix\n")
    snippet(prefix, "first")
    port = free_port()
    config = tmp_path / "conf.d" / "site.conf"
    config.write_text(SITE.format(extra=f"workers {workers};", port=port))
    srv = ServerProcess(
        config_path=config, port=port, cwd=elsewhere, args=("--prefix", str(prefix))
    ).start()
    try:
        assert srv.get("/answer").body == b"first"
        assert srv.get("/index.html").body == b"from the prefix\n"
        snippet(prefix, "second")
        srv.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: srv.get("/answer").body == b"second", timeout=20)
        assert srv.get("/index.html").body == b"from the prefix\n"
    finally:
        assert srv.stop() == 0, srv.stderr


def test_without_the_prefix_the_fragment_resolves_against_its_own_directory(tmp_path):
    (tmp_path / "conf.d" / "www").mkdir(parents=True)
    (tmp_path / "conf.d" / "www" / "index.html").write_text("beside the file\n")
    port = free_port()
    config = tmp_path / "conf.d" / "site.conf"
    config.write_text(SITE.format(extra="", port=port))
    with ServerProcess(config_path=config, port=port, cwd=tmp_path) as srv:
        assert srv.get("/index.html").body == b"beside the file\n"
        assert srv.get("/answer").status == 404  # the glob matched nothing there
