"""The startup line names a TLS listener with https://, with one process or with a master
and workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.testing import ServerProcess


@pytest.mark.parametrize("workers", [1, 2])
def test_the_startup_line_says_https_for_an_ssl_listen(tmp_path: Path, workers: int) -> None:
    cert, key = make_cert(tmp_path, ["localhost"])
    config = (
        f"workers {workers};\nserver {{\n listen 127.0.0.1:{{port}} ssl;\n"
        f" ssl_certificate {cert};\n ssl_certificate_key {key};\n root .;\n}}\n"
    )
    with ServerProcess(config, cwd=tmp_path) as srv:
        assert f"listening on https://127.0.0.1:{srv.port}" in srv.stdout
