"""An upload that fills the disk answers 507 and leaves one error-log line naming the file and
ENOSPC (issue 9, item 11). The store is a real 64 KiB tmpfs: needs root and mount(2), and the
test skips cleanly where that is not allowed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import ServerProcess, wait_until

CONFIG = """
error_log logs/error.log info;
server {
    listen 127.0.0.1:{port};
    root www;
    client_max_body_size 1m;
    location /upload {
        upload_store www/upload;
        allow_methods GET PUT POST;
    }
}
"""


@pytest.fixture
def tiny_store(tmp_path: Path) -> Iterator[Path]:
    store = tmp_path / "www" / "upload"
    store.mkdir(parents=True)
    (tmp_path / "logs").mkdir()
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount(8)")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(store)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield store
    finally:
        subprocess.run(["umount", "-l", str(store)], capture_output=True)


def test_a_put_that_fills_the_disk_is_507_and_logged_once(serve, tmp_path, tiny_store):
    srv: ServerProcess = serve(CONFIG)
    r = srv.request("PUT", "/upload/big.bin", b"x" * 300_000)
    assert r.status == 507
    log = tmp_path / "logs" / "error.log"
    assert wait_until(lambda: "ENOSPC" in log.read_text())
    lines = [line for line in log.read_text().splitlines() if "ENOSPC" in line]
    assert len(lines) == 1, lines
    assert "[error]" in lines[0] and f'"{tiny_store}/.' in lines[0]  # the temp file's path
    assert list(tiny_store.iterdir()) == []  # the temp file is gone
    # and the store still works for what fits
    assert srv.request("PUT", "/upload/small.txt", b"fits").status == 201
