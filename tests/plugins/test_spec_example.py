"""SPEC section 7's example, copied verbatim into a module, works end to end."""

from __future__ import annotations

SPEC_EXAMPLE = '''\
from framework import Handler, Request, Response

class Greeting(Handler):
    """Answers with a fixed text."""
    name = "greeting"                       # the NAME in `handler NAME { ... }`

    class Settings(Handler.Settings):       # a pydantic model; each field is a directive
        text: str = "hello"

    async def handle(self, request: Request, call_next) -> Response:
        if request.method not in ("GET", "HEAD"):
            return await call_next(request)  # pass on down the chain
        return Response(200, self.settings.text, headers={"Content-Type": "text/plain"})

class Stamp(Handler):                        # a wrapping (middleware-like) handler
    name = "stamp"
    class Settings(Handler.Settings):
        value: str
    async def handle(self, request, call_next):
        response = await call_next(request)
        response.headers["X-Stamp"] = self.settings.value
        return response
'''

SPEC_CONFIG = """\
load_module my_plugins;                      # imports it; registers every Handler subclass with a name
server {
    listen 127.0.0.1:{port};
    root www;
    location /hello   { handler greeting { text "hi there"; } }
    location /files/  { handler stamp { value 42; } }      # then the static handler serves
}
"""  # noqa: E501 (the SPEC's line, verbatim)


def test_spec_section_7_example_works_verbatim(webserv, tmp_path):
    plugins = tmp_path / "spec"
    plugins.mkdir()
    (plugins / "my_plugins.py").write_text(SPEC_EXAMPLE)
    srv = webserv(
        SPEC_CONFIG,
        files={"www/files/a.txt": "static content\n"},
        pythonpath=[plugins],
    )

    hello = srv.get("/hello")
    assert (hello.status, hello.body) == (200, b"hi there")
    assert hello.header("Content-Type") == "text/plain"
    assert hello.header("Content-Length") == "8"

    head = srv.request("HEAD", "/hello")
    assert (head.status, head.body, head.header("Content-Length")) == (200, b"", "8")

    stamped = srv.get("/files/a.txt")
    assert (stamped.status, stamped.body) == (200, b"static content\n")
    assert stamped.header("X-Stamp") == "42"

    # greeting passes other methods on down the chain, which does not answer them with 200
    post = srv.request("POST", "/hello", body=b"x")
    assert post.status in (404, 405) and post.body != b"hi there"


def test_spec_example_module_next_to_the_config_needs_no_pythonpath(webserv):
    srv = webserv(SPEC_CONFIG, files={"my_plugins.py": SPEC_EXAMPLE, "www/files/": ""})
    assert srv.get("/hello").body == b"hi there"
