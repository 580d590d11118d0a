"""pytest plugin for handler authors: the ``webserv`` fixture.

Installed with webserv (entry point ``pytest11``), so any project that has webserv
installed can use it without a conftest::

    def test_greeting(webserv):
        srv = webserv(
            '''
            load_module my_plugins;
            server {
                listen 127.0.0.1:{port};
                location /hello { handler greeting { text "hi there"; } }
            }
            ''',
            pythonpath=["src"],
        )
        r = srv.get("/hello")
        assert (r.status, r.body) == (200, b"hi there")

``webserv(config, *, files=None, pythonpath=(), env=None, **kwargs)`` writes ``files``
(``{"www/index.html": "..."}``) into a fresh temporary directory, serves ``config`` from
it on a free port (``{port}`` in the text), and returns the started
``framework.testing.ServerProcess`` (``.get()``, ``.request()``, ``.client()``, ``.raw()``,
``.connect()``, ``.cwd``, ``.stderr``). Every server is stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from framework.testing import ServerProcess


@pytest.fixture
def webserv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ServerProcess]]:
    """Factory fixture: ``webserv(config_text, files={...})`` -> a running ServerProcess."""
    started: list[ServerProcess] = []

    def serve(
        config: str | None = None,
        *,
        files: dict[str, str | bytes] | None = None,
        cwd: Path | str | None = None,
        **kwargs,
    ) -> ServerProcess:
        directory = Path(cwd) if cwd is not None else tmp_path_factory.mktemp("webserv")
        srv = ServerProcess(config, cwd=directory, files=files or {}, **kwargs)
        started.append(srv)
        return srv.start()

    yield serve
    for srv in started:
        srv.stop()
