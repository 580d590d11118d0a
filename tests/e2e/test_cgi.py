"""CGI through a real server over raw sockets: environment, streaming both ways, the
deadlock cases, failures, timeouts, disconnects, cleanup, redirects and NPH."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from framework.testing import HTTPResult, ServerProcess, process_gone, read_response, wait_until

PY = sys.executable

CONFIG = f"""
server {{
    listen 127.0.0.1:{{port}};
    root www;
    location / {{ allow_methods GET; }}
    location /cgi-bin/ {{
        cgi .sh;
        cgi .py {PY};
        allow_methods GET HEAD POST;
        client_max_body_size 0;
        cgi_timeout 20s;
    }}
    location /stream/ {{
        cgi .py {PY};
        allow_methods POST;
        client_max_body_size 0;
        cgi_buffer_request_body off;
    }}
    location /app/ {{
        index main.sh;
        cgi .sh;
        allow_methods GET;
    }}
    location /quick/ {{
        cgi .sh;
        allow_methods GET POST;
        client_max_body_size 0;
        cgi_timeout 1s;
    }}
    location /patient/ {{
        cgi .sh;
        send_timeout 1s;
        cgi_timeout 20s;
    }}
}}
"""

SCRIPTS = {
    "cgi-bin/env.sh": (
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\necho \"CWD=$(pwd)\"\n"
    ),
    "cgi-bin/hello.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nhello'\n",
    "cgi-bin/cat.sh": (
        "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\\n'\nexec cat\n"
    ),
    "cgi-bin/length.py": (
        "import os, sys\n"
        "n = len(sys.stdin.buffer.read())\n"
        "sys.stdout.write('Content-Type: text/plain\\n\\n')\n"
        "sys.stdout.write(f\"{os.environ.get('CONTENT_LENGTH')} {n}\")\n"
    ),
    "stream/length.py": (
        "import os, sys\n"
        "n = len(sys.stdin.buffer.read())\n"
        "sys.stdout.write('Content-Type: text/plain\\n\\n')\n"
        "sys.stdout.write(f\"{os.environ.get('CONTENT_LENGTH')} {n}\")\n"
    ),
    "cgi-bin/noread.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nnot reading'\n",
    "cgi-bin/out-first.py": (
        "import sys\n"
        "sys.stdout.write('Content-Type: text/plain\\n\\n')\n"
        "sys.stdout.write('o' * (1 << 20)); sys.stdout.flush()\n"
        "data = sys.stdin.buffer.read()\n"
        "sys.stdout.write(f'|{len(data)}')\n"
    ),
    "cgi-bin/stderr-first.py": (
        "import sys\n"
        "sys.stderr.write(('e' * 99 + '\\n') * 2048); sys.stderr.flush()\n"
        "sys.stdout.write('Content-Type: text/plain\\n\\nafter stderr')\n"
    ),
    "cgi-bin/slow-hash.py": (
        "import hashlib, sys, time\n"
        "h = hashlib.sha256(); n = 0\n"
        "while block := sys.stdin.buffer.read1(32768):\n"
        "    h.update(block); n += len(block)\n"
        "    time.sleep(0.002)\n"
        "sys.stdout.write(f'Content-Type: text/plain\\n\\n{h.hexdigest()} {n}')\n"
    ),
    "cgi-bin/crash.sh": "#!/bin/sh\necho 'oops' >&2\nexit 3\n",
    "cgi-bin/noheader.sh": "#!/bin/sh\necho 'just some text'\necho 'and more'\n",
    "cgi-bin/badstatus.sh": "#!/bin/sh\nprintf 'Status: two hundred\\n\\nbody'\n",
    "cgi-bin/status.sh": (
        "#!/bin/sh\nprintf 'Status: 418 I am a teapot\\nContent-Type: text/plain\\n"
        "X-Custom: yes\\nConnection: close\\n\\nshort and stout'\n"
    ),
    "cgi-bin/local.sh": "#!/bin/sh\nprintf 'Location: /target.txt\\n\\n'\n",
    "cgi-bin/away.sh": "#!/bin/sh\nprintf 'Location: http://example.org/x\\n\\n'\n",
    "cgi-bin/nph-raw.sh": (
        "#!/bin/sh\nprintf 'HTTP/1.1 202 Taken As Is\\r\\nContent-Type: text/plain\\r\\n"
        "X-Nph: 1\\r\\nContent-Length: 3\\r\\n\\r\\nnph'\n"
    ),
    "cgi-bin/length-header.sh": (
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 5\\n\\nexact'\n"
    ),
    "cgi-bin/drip.sh": (
        "#!/bin/sh\necho $$ > drip.pid\nprintf 'Content-Type: text/plain\\n\\n'\n"
        "sleep 300 &\necho $! > drip-child.pid\n"
        "while :; do echo tick; sleep 0.05; done\n"
    ),
    "cgi-bin/background.sh": (
        "#!/bin/sh\nsleep 300 >/dev/null 2>&1 </dev/null &\necho $! > background.pid\n"
        "printf 'Content-Type: text/plain\\n\\ndone'\n"
    ),
    "cgi-bin/argv.sh": '#!/bin/sh\nprintf \'Content-Type: text/plain\\n\\n%s:%s\' "$#" "$*"\n',
    "app/main.sh": (
        '#!/bin/sh\nprintf \'Content-Type: text/plain\\n\\n%s %s\' "$SCRIPT_NAME" "$REQUEST_URI"\n'
    ),
    "quick/hang.sh": "#!/bin/sh\necho $$ > hang.pid\nsleep 300\n",
    "cgi-bin/silent.sh": "#!/bin/sh\necho $$ > silent.pid\nsleep 300\n",
    "patient/slow.sh": (
        "#!/bin/sh\nsleep 2\nprintf 'Content-Type: text/plain\\n\\nworth the wait'\n"
    ),
    "quick/late.sh": (
        "#!/bin/sh\necho $$ > late.pid\nprintf 'Content-Type: text/plain\\n\\nstarted'\nsleep 300\n"
    ),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    www = tmp_path_factory.mktemp("cgi") / "www"
    for rel, text in SCRIPTS.items():
        path = www / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755)
    (www / "target.txt").write_text("the local redirect target\n")
    (www / "static.txt").write_text("static file\n")
    outside = www.parent / "outside.sh"
    outside.write_text("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nescaped'\n")
    outside.chmod(0o755)
    (www / "cgi-bin" / "escape.sh").symlink_to(outside)
    return www


@pytest.fixture(scope="module", params=["auto", "asyncio"])
def srv(request: pytest.FixtureRequest, site: Path) -> Iterator[ServerProcess]:
    """One server per loop kind for the whole module: the default loop (uvloop when
    installed) and asyncio's own. A marker variable in its environment must not leak."""
    config = f"event_loop {request.param};\n{CONFIG}"
    server = ServerProcess(config, cwd=site.parent, env={"WEBSERV_LEAK_MARKER": "do-not-leak"})
    with server:
        yield server


def request(
    srv: ServerProcess,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes | Iterable[bytes] | None = None,
    *,
    chunked: bool = False,
    timeout: float = 30.0,
) -> HTTPResult:
    """One request on a fresh connection; the body is sent from a thread while the
    response is read, like a real client (a streaming echo would otherwise fill both
    directions and stall the client itself)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{srv.port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    parts: Iterable[bytes] = ()
    if isinstance(body, bytes):
        if chunked:
            lines.append("Transfer-Encoding: chunked")
            parts = [b"%x\r\n%b\r\n" % (len(body), body), b"0\r\n\r\n"] if body else [b"0\r\n\r\n"]
        else:
            lines.append(f"Content-Length: {len(body)}")
            parts = [body]
    elif body is not None:
        lines.append("Transfer-Encoding: chunked")
        parts = [*(b"%x\r\n%b\r\n" % (len(c), c) for c in body), b"0\r\n\r\n"]
    sock = srv.connect(timeout)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            for part in parts:
                sock.sendall(part)
        except OSError as exc:
            errors.append(exc)

    with sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        result = read_response(sock, head_only=method == "HEAD")
        sender.join(timeout)
    return result


def env_of(result: HTTPResult) -> dict[str, str]:
    pairs = (line.partition("=") for line in result.text.splitlines())
    return {k: v for k, _, v in pairs}


def read_pid(path: Path) -> int:
    assert wait_until(lambda: path.exists() and path.read_text().strip() != "")
    return int(path.read_text())


# -- environment ------------------------------------------------------------------------------


def test_environment_has_the_meta_variables(srv: ServerProcess, site: Path):
    r = request(srv, "GET", "/cgi-bin/env.sh/extra/path?a=%41+b&c", [("X-Thing", "1")])
    env = env_of(r)
    assert r.status == 200
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == "/cgi-bin/env.sh"
    assert env["PATH_INFO"] == "/extra/path"
    assert env["PATH_TRANSLATED"].endswith("/www/extra/path")
    assert env["QUERY_STRING"] == "a=%41+b&c"
    assert env["REQUEST_URI"] == "/cgi-bin/env.sh/extra/path?a=%41+b&c"
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REDIRECT_STATUS"] == "200"
    assert Path(env["SCRIPT_FILENAME"]) == site / "cgi-bin" / "env.sh"
    assert env["HTTP_X_THING"] == "1"
    assert Path(env["CWD"]).resolve() == (site / "cgi-bin").resolve()
    assert "CONTENT_LENGTH" not in env and "CONTENT_TYPE" not in env


def test_environment_has_no_server_variables_no_httpoxy_and_no_spoofed_names(srv):
    r = request(
        srv,
        "GET",
        "/cgi-bin/env.sh",
        [
            ("Proxy", "http://evil.test:3128"),
            ("X_Spoof", "1"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
        ],
    )
    env = env_of(r)
    assert "WEBSERV_LEAK_MARKER" not in env
    assert "WEBSERV_TEST_PORT" not in env
    assert "HTTP_PROXY" not in env
    assert "HTTP_X_SPOOF" not in env
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["QUERY_STRING"] == ""
    assert "PATH_INFO" not in env and "PATH_TRANSLATED" not in env
    allowed_extra = {"PWD", "SHLVL", "_", "CWD", "OLDPWD"}  # added by the shell itself
    for name in env:
        assert (
            name.startswith("HTTP_")
            or name in allowed_extra
            or name
            in {
                "GATEWAY_INTERFACE",
                "SERVER_SOFTWARE",
                "SERVER_PROTOCOL",
                "SERVER_NAME",
                "SERVER_PORT",
                "REQUEST_METHOD",
                "REQUEST_URI",
                "SCRIPT_NAME",
                "SCRIPT_FILENAME",
                "DOCUMENT_ROOT",
                "QUERY_STRING",
                "REMOTE_ADDR",
                "REMOTE_HOST",
                "REMOTE_PORT",
                "REDIRECT_STATUS",
                "PATH",
                "PATH_INFO",
                "PATH_TRANSLATED",
                "CONTENT_LENGTH",
                "CONTENT_TYPE",
                "AUTH_TYPE",
                "REQUEST_SCHEME",  # nginx's fastcgi_params; HTTPS=on only over TLS
            }
        ), name


def test_post_sets_content_length_and_type(srv):
    r = request(srv, "POST", "/cgi-bin/env.sh", [("Content-Type", "text/x-test")], b"abc")
    env = env_of(r)
    assert (env["CONTENT_LENGTH"], env["CONTENT_TYPE"]) == ("3", "text/x-test")
    assert env["REQUEST_METHOD"] == "POST"


def test_http_1_0_request_gets_its_protocol_and_a_close_delimited_body(srv):
    with srv.connect() as sock:
        sock.sendall(b"GET /cgi-bin/env.sh HTTP/1.0\r\n\r\n")
        r = read_response(sock)
    assert r.status == 200
    assert env_of(r)["SERVER_PROTOCOL"] == "HTTP/1.0"


# -- request bodies ---------------------------------------------------------------------------


def test_chunked_body_is_dechunked_with_the_right_content_length(srv):
    body = [os.urandom(1000) for _ in range(300)]
    r = request(srv, "POST", "/cgi-bin/length.py", body=body)
    assert r.status == 200
    assert r.text == "300000 300000"


def test_chunked_body_streamed_when_buffering_is_off(srv):
    r = request(srv, "POST", "/stream/length.py", body=[b"s" * 4096] * 64)
    assert r.text == "None 262144"


def test_echo_of_10_mb_through_cat_is_byte_exact(srv):
    data = os.urandom(10 * 1024 * 1024)
    r = request(srv, "POST", "/cgi-bin/cat.sh", body=data)
    assert r.status == 200
    assert len(r.body) == len(data)
    assert hashlib.sha256(r.body).digest() == hashlib.sha256(data).digest()


def test_cgi_that_never_reads_stdin_still_gets_its_output_sent(srv):
    r = request(srv, "POST", "/cgi-bin/noread.sh", body=b"n" * (10 * 1024 * 1024))
    assert (r.status, r.body) == (200, b"not reading")
    assert request(srv, "GET", "/static.txt").status == 200  # the server survived
    assert wait_until(lambda: srv.children() == [])  # and reaped the script


def test_script_writing_1_mb_before_reading_1_mb_does_not_deadlock(srv):
    r = request(srv, "POST", "/cgi-bin/out-first.py", body=b"i" * (1 << 20))
    assert r.body == b"o" * (1 << 20) + b"|1048576"


def test_200_kb_of_stderr_before_the_headers_does_not_deadlock(srv):
    r = request(srv, "GET", "/cgi-bin/stderr-first.py")
    assert (r.status, r.body) == (200, b"after stderr")
    assert srv.wait_for_log("stderr truncated")


def test_slow_reader_gets_the_exact_body_while_other_clients_are_served(srv):
    data = os.urandom(8 * 1024 * 1024)
    results: list[HTTPResult] = []
    poster = threading.Thread(
        target=lambda: results.append(request(srv, "POST", "/cgi-bin/slow-hash.py", body=data)),
        daemon=True,
    )
    poster.start()
    answered = []
    while poster.is_alive() and len(answered) < 20:
        r = request(srv, "GET", "/static.txt", timeout=5.0)  # sanity deadline only
        answered.append(r.status)
    poster.join(60)
    assert answered and set(answered) == {200}
    assert results[0].text == f"{hashlib.sha256(data).hexdigest()} {len(data)}"


# -- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["crash.sh", "noheader.sh", "badstatus.sh"])
def test_broken_scripts_give_502(srv, script):
    assert request(srv, "GET", f"/cgi-bin/{script}").status == 502


def test_missing_script_is_404_and_non_executable_is_403(srv, site):
    (site / "cgi-bin" / "plain.sh").write_text("#!/bin/sh\necho\n")
    assert request(srv, "GET", "/cgi-bin/missing.sh").status == 404
    assert request(srv, "GET", "/cgi-bin/plain.sh").status == 403


def test_script_reached_through_a_symlink_leaving_the_root_is_not_run(srv):
    r = request(srv, "GET", "/cgi-bin/escape.sh")
    assert r.status == 404 and b"escaped" not in r.body


def test_query_words_never_become_arguments(srv):
    # RFC 3875 4.4 "indexed" queries: the php-cgi argv injection (CVE-2012-1823)
    r = request(srv, "GET", "/cgi-bin/argv.sh?-s+-d+allow_url_include%3d1")
    assert r.body == b"0:"


def test_crash_is_logged_from_stderr(srv):
    request(srv, "GET", "/cgi-bin/crash.sh")
    assert srv.wait_for_log("oops")


def test_hang_gives_504_and_the_script_is_killed_and_reaped(srv, site):
    r = request(srv, "GET", "/quick/hang.sh")
    assert r.status == 504
    pid = read_pid(site / "quick" / "hang.pid")
    assert wait_until(lambda: process_gone(pid))
    assert wait_until(lambda: srv.children() == [])


def test_hang_while_the_body_is_still_arriving_gives_504(srv):
    r = request(srv, "POST", "/quick/hang.sh", body=b"h" * (4 * 1024 * 1024))
    assert r.status == 504
    assert request(srv, "GET", "/static.txt").status == 200


def test_expect_100_continue_is_answered_before_the_body_is_sent(srv):
    with srv.connect() as sock:
        sock.sendall(
            f"POST /cgi-bin/length.py HTTP/1.1\r\nHost: x:{srv.port}\r\n"
            "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        interim = read_response(sock)
        assert interim.status == 100
        sock.sendall(b"hello")
        r = read_response(sock)
    assert (r.status, r.text) == (200, "5 5")


def test_timeout_after_the_headers_aborts_the_response(srv, site):
    with srv.connect(timeout=15) as sock:
        sock.sendall(f"GET /quick/late.sh HTTP/1.1\r\nHost: x:{srv.port}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")
    assert b"started" in data
    assert not data.endswith(b"0\r\n\r\n")  # never completed: the client can tell
    pid = read_pid(site / "quick" / "late.pid")
    assert wait_until(lambda: process_gone(pid))
    assert srv.wait_for_log("quick/late.sh: timed out while sending its output")
    assert "Traceback" not in srv.stderr


def test_nph_script_bytes_arrive_exactly_as_written_then_the_connection_closes(srv):
    data = srv.raw(f"GET /cgi-bin/nph-raw.sh HTTP/1.1\r\nHost: x:{srv.port}\r\n\r\n".encode())
    assert data == (
        b"HTTP/1.1 202 Taken As Is\r\nContent-Type: text/plain\r\n"
        b"X-Nph: 1\r\nContent-Length: 3\r\n\r\nnph"
    )


def test_a_script_within_cgi_timeout_is_not_cut_off_by_a_shorter_send_timeout(srv):
    r = request(srv, "GET", "/patient/slow.sh")
    assert (r.status, r.body) == (200, b"worth the wait")


def test_request_uri_of_an_absolute_form_target_is_origin_form(srv):
    head = f"GET http://127.0.0.1:{srv.port}/app/?q=1 HTTP/1.1\r\nHost: x\r\n"
    with srv.connect() as sock:
        sock.sendall(head.encode() + b"Connection: close\r\n\r\n")
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"/app/main.sh /app/?q=1")


def test_client_closing_before_the_script_answers_kills_the_script(srv, site):
    pid_file = site / "cgi-bin" / "silent.pid"
    pid_file.unlink(missing_ok=True)  # the module runs once per loop kind
    sock = srv.connect()
    sock.sendall(f"GET /cgi-bin/silent.sh HTTP/1.1\r\nHost: x:{srv.port}\r\n\r\n".encode())
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
    pid = read_pid(pid_file)
    sock.close()
    # killed on the disconnect, within wait_until's 10s: its cgi_timeout is 20s
    assert wait_until(lambda: process_gone(pid))
    assert wait_until(lambda: srv.children() == [])


def test_client_disconnect_kills_the_script_and_its_children(srv, site):
    sock = srv.connect()
    sock.sendall(f"GET /cgi-bin/drip.sh HTTP/1.1\r\nHost: x:{srv.port}\r\n\r\n".encode())
    assert b"tick" in sock.recv(65536) + sock.recv(65536)
    pid = read_pid(site / "cgi-bin" / "drip.pid")
    child = read_pid(site / "cgi-bin" / "drip-child.pid")
    assert not process_gone(pid)
    sock.close()
    assert wait_until(lambda: process_gone(pid) and process_gone(child))
    assert wait_until(lambda: srv.children() == [])


def test_background_process_left_by_a_finished_script_is_killed(srv, site):
    r = request(srv, "GET", "/cgi-bin/background.sh")
    assert r.body == b"done"
    pid = read_pid(site / "cgi-bin" / "background.pid")
    assert wait_until(lambda: process_gone(pid))


def test_sixty_sequential_requests_leave_no_zombie_and_no_fd_growth(srv):
    for _ in range(5):
        request(srv, "GET", "/cgi-bin/hello.sh")
    assert wait_until(lambda: srv.children() == [])
    baseline = srv.open_fds()
    for i in range(60):
        r = request(srv, "POST" if i % 2 else "GET", "/cgi-bin/hello.sh", body=b"x" * i or None)
        assert (r.status, r.body) == (200, b"hello")
    assert wait_until(lambda: srv.children() == [])
    assert wait_until(lambda: srv.open_fds() <= baseline)


# -- output forms ---------------------------------------------------------------------------------


def test_status_header_sets_the_status_and_hop_by_hop_fields_are_dropped(srv):
    r = request(srv, "GET", "/cgi-bin/status.sh")
    assert (r.status, r.reason) == (418, "I am a teapot")
    assert r.header("X-Custom") == "yes"
    assert r.body == b"short and stout"
    assert r.header("Server") == "webserv" or r.header("Server", "").startswith("webserv")


def test_index_file_reaches_the_cgi_script(srv):
    r = request(srv, "GET", "/app/?x=1")
    assert (r.status, r.text) == (200, "/app/main.sh /app/?x=1")


def test_script_content_length_is_passed_through(srv):
    r = request(srv, "GET", "/cgi-bin/length-header.sh")
    assert r.header("Content-Length") == "5" and r.header("Transfer-Encoding") is None
    assert r.body == b"exact"


def test_local_redirect_is_served_internally(srv):
    r = request(srv, "GET", "/cgi-bin/local.sh")
    assert (r.status, r.body) == (200, b"the local redirect target\n")
    assert r.header("Location") is None


def test_client_redirect_is_a_302(srv):
    r = request(srv, "GET", "/cgi-bin/away.sh")
    assert (r.status, r.header("Location")) == (302, "http://example.org/x")


def test_nph_script_status_line_and_headers_are_kept(srv):
    r = request(srv, "GET", "/cgi-bin/nph-raw.sh")
    assert (r.status, r.reason, r.body) == (202, "Taken As Is", b"nph")
    assert r.header("X-Nph") == "1"


def test_head_request_gets_headers_and_no_body(srv):
    r = request(srv, "HEAD", "/cgi-bin/hello.sh")
    assert r.status == 200 and r.body == b""
    assert request(srv, "GET", "/static.txt").status == 200
    assert wait_until(lambda: srv.children() == [])


def test_keep_alive_connection_serves_several_cgi_requests(srv):
    with srv.client() as client:
        for _ in range(3):
            assert client.get("/cgi-bin/hello.sh").body == b"hello"
        assert client.connections == 1


def _serve_cgi_example(serve, tmp_path: Path) -> ServerProcess:
    example = Path(__file__).resolve().parents[2] / "examples" / "cgi"
    shutil.copytree(example, tmp_path / "cgi")
    conf = tmp_path / "cgi" / "cgi.conf"
    conf.write_text(conf.read_text().replace("127.0.0.1:8080", "127.0.0.1:{port}"))
    return serve(conf.read_text(), cwd=tmp_path / "cgi")


def test_python_and_shell_cgi_examples_work_as_their_comments_say(serve, tmp_path):
    srv = _serve_cgi_example(serve, tmp_path)
    assert request(srv, "GET", "/cgi-bin/hello.sh").text.startswith("hello from webserv")
    env = env_of(request(srv, "GET", "/cgi-bin/env.py/extra/path?x=1"))
    assert (env["PATH_INFO"], env["QUERY_STRING"]) == ("/extra/path", "x=1")
    assert Path(env["cwd"]).name == "cgi-bin"
    body = bytes(range(256)) * 4096  # 1 MiB, chunked: spooled, so Content-Length is exact
    echoed = request(srv, "POST", "/cgi-bin/echo.py", (), body, chunked=True)
    assert (echoed.status, echoed.header("Content-Length"), echoed.body) == (
        200,
        str(len(body)),
        body,
    )
    nph = request(srv, "GET", "/cgi-bin/nph-hello.sh")
    assert (nph.status, nph.body) == (200, b"hello, unparsed")
    home = request(srv, "GET", "/cgi-bin/go-home.sh")  # local redirect: / served internally
    assert home.status == 200
    assert home.body == (tmp_path / "cgi" / "www" / "index.html").read_bytes()


@pytest.mark.skipif(not Path("/usr/bin/php-cgi").exists(), reason="php-cgi not installed")
def test_php_cgi_example(serve, tmp_path):
    srv = _serve_cgi_example(serve, tmp_path)
    r = request(srv, "GET", "/cgi-bin/hello.php?name=tester")
    assert r.status == 200
    assert r.text == "hello, tester (GET /cgi-bin/hello.php)\n"
    assert request(srv, "GET", "/cgi-bin/hello.sh").text.startswith("hello from webserv")
    source = request(srv, "GET", "/cgi-bin/hello.php?-s")  # php-cgi's -s shows the source
    assert source.status == 200 and b"<?php" not in source.body


def test_server_survives_a_client_that_vanishes_mid_upload(srv):
    sock = socket.create_connection((srv.host, srv.port))
    sock.sendall(
        b"POST /cgi-bin/cat.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n"
        + b"z" * 100_000
    )
    sock.close()
    assert request(srv, "GET", "/cgi-bin/hello.sh").body == b"hello"
    assert wait_until(lambda: srv.children() == [])
