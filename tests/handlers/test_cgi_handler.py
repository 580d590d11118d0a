"""CgiHandler driven in-process (no sockets): the request body is fed by a task, the
response body is consumed like the engine does. End-to-end tests live in tests/e2e."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from pathlib import Path

import pytest

from framework.config.models import CgiRule, LocationConfig
from framework.core.child import live_children
from framework.http.body import RequestBody
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from handlers.cgi import CgiHandler

PY = sys.executable


def make_location(root: Path, **kw) -> LocationConfig:
    kw.setdefault("cgi", [CgiRule(extension=".sh"), CgiRule(extension=".py", interpreter=Path(PY))])
    kw.setdefault("client_max_body_size", 0)
    return LocationConfig(root=root, **kw)


def script(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


async def not_found(request: Request) -> Response:
    return Response(404, b"next")


async def call(
    location: LocationConfig,
    path: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    chunked: bool = False,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
) -> tuple[Response, bytes]:
    length = None if chunked else len(body or b"")
    req_body = RequestBody(length)
    req = Request(
        method,
        path + ("?" + query if query else ""),
        path,
        query,
        Headers(headers or []),
        client=("127.0.0.1", 40000),
        server=("127.0.0.1", 8080),
        body=req_body,
        host="localhost",
    )

    async def produce():
        data = body or b""
        for i in range(0, len(data), 65536):
            req_body.feed(data[i : i + 65536])
            await asyncio.sleep(0)
        req_body.feed_eof()

    producer = asyncio.create_task(produce())
    handler = CgiHandler.from_location(location)
    response = await handler.handle(req, not_found)
    out = bytearray()
    if isinstance(response.body, bytes):
        out += response.body
    else:
        async for chunk in response.body:
            out += chunk
    await producer
    return response, bytes(out)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_location_without_cgi_rules_gets_no_handler(tmp_path):
    assert CgiHandler.from_location(LocationConfig(root=tmp_path)) is None


def test_path_without_a_cgi_extension_goes_down_the_chain(tmp_path):
    response, body = run(call(make_location(tmp_path), "/index.html"))
    assert (response.status, body) == (404, b"next")


def test_shell_script_document_response(tmp_path):
    script(
        tmp_path,
        "hello.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nprintf 'hi %s' \"$QUERY_STRING\"\n",
    )
    response, body = run(call(make_location(tmp_path), "/hello.sh", query="a=1"))
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain"
    assert body == b"hi a=1"


def test_missing_script_is_404_and_directory_is_403(tmp_path):
    (tmp_path / "dir.sh").mkdir()
    with pytest.raises(HTTPError) as missing:
        run(call(make_location(tmp_path), "/nope.sh"))
    with pytest.raises(HTTPError) as directory:
        run(call(make_location(tmp_path), "/dir.sh"))
    assert (missing.value.status, directory.value.status) == (404, 403)


def test_script_that_is_not_executable_is_403(tmp_path):
    script(tmp_path, "plain.sh", "#!/bin/sh\necho\n").chmod(0o644)
    with pytest.raises(HTTPError) as err:
        run(call(make_location(tmp_path), "/plain.sh"))
    assert err.value.status == 403


def test_echo_of_a_posted_body_is_byte_exact(tmp_path):
    script(tmp_path, "cat.sh", "#!/bin/sh\nprintf 'Content-Type: a/b\\n\\n'\nexec cat\n")
    data = os.urandom(3 * 1024 * 1024)
    response, body = run(call(make_location(tmp_path), "/cat.sh", method="POST", body=data))
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def test_stdout_before_stdin_does_not_deadlock(tmp_path):
    script(
        tmp_path,
        "big.py",
        "import sys\n"
        "sys.stdout.write('Content-Type: a/b\\n\\n')\n"
        "sys.stdout.write('x' * (1 << 20)); sys.stdout.flush()\n"
        "n = len(sys.stdin.buffer.read())\n"
        "sys.stdout.write(f'|{n}')\n",
    )
    data = b"y" * (1 << 20)
    response, body = run(call(make_location(tmp_path), "/big.py", method="POST", body=data))
    assert body == b"x" * (1 << 20) + b"|1048576"


# prints CONTENT_LENGTH and the number of bytes it read from stdin
LENGTH_SCRIPT = (
    "import os, sys\n"
    "n = len(sys.stdin.buffer.read())\n"
    "print('Content-Type: text/plain\\n')\n"
    "print(os.environ.get('CONTENT_LENGTH'), n)\n"
)


def test_chunked_body_is_spooled_with_an_exact_content_length(tmp_path):
    script(tmp_path, "len.py", LENGTH_SCRIPT)
    data = b"z" * 300_000
    response, body = run(
        call(make_location(tmp_path), "/len.py", method="POST", body=data, chunked=True)
    )
    assert body.split() == [b"300000", b"300000"]


def test_chunked_body_is_streamed_without_content_length_when_buffering_is_off(tmp_path):
    script(tmp_path, "len.py", LENGTH_SCRIPT)
    location = make_location(tmp_path, cgi_buffer_request_body=False)
    response, body = run(call(location, "/len.py", method="POST", body=b"q" * 5000, chunked=True))
    assert body.split() == [b"None", b"5000"]


def test_script_that_never_reads_stdin_still_gets_its_output_sent(tmp_path):
    script(tmp_path, "early.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nearly'\n")
    data = b"w" * (4 * 1024 * 1024)
    response, body = run(call(make_location(tmp_path), "/early.sh", method="POST", body=data))
    assert body == b"early"


def test_no_output_is_502(tmp_path):
    script(tmp_path, "crash.sh", "#!/bin/sh\nexit 3\n")
    with pytest.raises(HTTPError) as err:
        run(call(make_location(tmp_path), "/crash.sh"))
    assert err.value.status == 502


def test_invalid_header_is_502(tmp_path):
    script(tmp_path, "bad.sh", "#!/bin/sh\necho 'this is not a header'\necho\n")
    with pytest.raises(HTTPError) as err:
        run(call(make_location(tmp_path), "/bad.sh"))
    assert err.value.status == 502


def test_hang_before_headers_is_504_and_the_group_is_killed(tmp_path):
    script(tmp_path, "hang.sh", "#!/bin/sh\nsleep 30 &\nwait\n")
    before = {c.pid for c in live_children()}

    async def main():
        with pytest.raises(HTTPError) as err:
            await call(make_location(tmp_path, cgi_timeout=0.5), "/hang.sh")
        new = [c for c in live_children() if c.pid not in before]
        for child in new:
            await asyncio.wait_for(child.wait(), 10)
        return err.value.status

    assert run(main()) == 504


def test_local_redirect_raises_internal_redirect_as_get(tmp_path):
    script(tmp_path, "go.sh", "#!/bin/sh\nprintf 'Location: /elsewhere?x=1\\n\\n'\n")
    with pytest.raises(InternalRedirect) as redirect:
        run(call(make_location(tmp_path), "/go.sh", method="POST", body=b"abc"))
    assert (redirect.value.uri, redirect.value.method) == ("/elsewhere?x=1", "GET")


def test_stderr_flood_before_headers_does_not_block(tmp_path):
    script(
        tmp_path,
        "noisy.py",
        "import sys\n"
        "sys.stderr.write(('e' * 99 + '\\n') * 3000); sys.stderr.flush()\n"
        "print('Content-Type: text/plain\\n\\nquiet')\n",
    )
    response, body = run(call(make_location(tmp_path), "/noisy.py"))
    assert body.strip() == b"quiet"


def test_zero_cgi_timeout_means_no_limit(tmp_path):
    script(tmp_path, "ok.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nok'\n")
    location = make_location(tmp_path, cgi_timeout=0)
    response, body = run(call(location, "/ok.sh", method="POST", body=b"x" * 1000))
    assert (response.status, body) == (200, b"ok")


def test_nph_script_output_is_passed_through_raw(tmp_path):
    message = b"HTTP/1.1 299 Odd\r\nX-A: 1\r\nDate: never\r\n\r\nraw"
    script(
        tmp_path,
        "nph-x.sh",
        "#!/bin/sh\nprintf 'HTTP/1.1 299 Odd\\r\\nX-A: 1\\r\\nDate: never\\r\\n\\r\\nraw'\n",
    )
    response, body = run(call(make_location(tmp_path), "/nph-x.sh"))
    assert response.raw and response.status == 299
    assert body == message


def test_nph_script_without_any_output_is_502(tmp_path):
    script(tmp_path, "nph-bad.sh", "#!/bin/sh\nexit 0\n")
    with pytest.raises(HTTPError) as err:
        run(call(make_location(tmp_path), "/nph-bad.sh"))
    assert err.value.status == 502
