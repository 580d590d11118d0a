"""The small-file cache after a directory on the path is swapped for a symlink to outside:
a hit is validated by lstat of the path, which now reaches another inode, so it misses and
the contained open answers 404; the outside bytes are never served, nor the cached ones."""

from __future__ import annotations

import asyncio
import os
import time

from framework.config.models import AccessLog, Config, LocationConfig, ServerConfig
from framework.http.request import Request
from framework.pipeline import Application


def _get(app: Application, path: str):
    request = Request("GET", path, path, server=("0.0.0.0", 8080))
    return asyncio.run(app.respond(request))


def test_a_cached_file_behind_a_swapped_directory_is_not_served(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "d").mkdir(parents=True)
    outside.mkdir()
    for base, text in ((root / "d", b"inside"), (outside, b"SECRET")):
        (base / "f.txt").write_bytes(text)
        old = time.time() - 60  # settled: cacheable
        os.utime(base / "f.txt", (old, old))
    location = LocationConfig(pattern="/", root=root, access_log=AccessLog(target="off"))
    app = Application(Config(servers=[ServerConfig(context=location, locations=[location])]))
    assert _get(app, "/d/f.txt").body == b"inside"  # read beneath the root, now cached
    assert _get(app, "/d/f.txt").body == b"inside"  # a hit
    os.rename(root / "d", root / "d-moved")
    os.symlink(outside, root / "d")
    response = _get(app, "/d/f.txt")
    assert response.status == 404
    assert b"SECRET" not in bytes(response.body)
