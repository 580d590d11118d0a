"""examples/compression serves what its comments promise: the page compressed with Vary,
the stylesheet from its precompressed .gz, and identity bytes to a client without gzip."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compression"
GZ = {"Accept-Encoding": "gzip"}


def test_the_compression_example(serve, tmp_path: Path):
    shutil.copytree(EXAMPLE / "site", tmp_path / "site")
    text = (EXAMPLE / "compression.conf").read_text()
    srv = serve(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:{port}", text))
    page = srv.get("/", GZ)
    assert page.header("Content-Encoding") == "gzip"
    assert page.header("Vary") == "Accept-Encoding"
    assert gzip.decompress(page.body) == (EXAMPLE / "site/index.html").read_bytes()
    css = srv.get("/assets/app.css", GZ)
    assert css.header("Content-Type") == "text/css"
    assert css.body == (EXAMPLE / "site/assets/app.css.gz").read_bytes()  # sent as stored
    plain = srv.get("/assets/app.css")
    assert plain.header("Content-Encoding") is None
    assert plain.body == (EXAMPLE / "site/assets/app.css").read_bytes()
