"""A local ``Location`` (starting with ``/``) leaves webserv absolute, whoever set it (a CGI
script's redirect, the upload handler's 201, a plugin), as nginx's header filter makes it;
``absolute_redirect off`` keeps it relative."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import ServerProcess

CGI = "#!/bin/sh\nprintf 'Status: 302 Found\\r\\nLocation: /elsewhere/?a=1\\r\\n\\r\\n'\n"
CONFIG = """server {
    listen 127.0.0.1:{port};
    root www;
    location /cgi/ { cgi .sh; }
    location /rel/ { cgi .sh; absolute_redirect off; }
}
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("absloc")
    for name in ("cgi", "rel"):
        script = Path(base / "www" / name / "go.sh")
        script.parent.mkdir(parents=True)
        script.write_text(CGI)
        script.chmod(0o755)
    with ServerProcess(CONFIG, cwd=base) as server:
        yield server


def test_a_cgi_redirect_to_a_local_path_is_made_absolute(srv: ServerProcess) -> None:
    # nginx: the Host's name, the port the request came in on (port_in_redirect on)
    r = srv.request("GET", "/cgi/go.sh", headers={"Host": "site.test:8443"})
    want = f"http://site.test:{srv.port}/elsewhere/?a=1"
    assert (r.status, r.header("Location")) == (302, want)


def test_absolute_redirect_off_keeps_it_relative(srv: ServerProcess) -> None:
    r = srv.request("GET", "/rel/go.sh", headers={"Host": "site.test"})
    assert (r.status, r.header("Location")) == (302, "/elsewhere/?a=1")
