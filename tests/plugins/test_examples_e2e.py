"""Each example plugin served by a real webserv, configured as in its example config."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"


def serve_example(webserv, config: str, **kwargs):
    return webserv(config, pythonpath=[EXAMPLES], **kwargs)


# -- greeting ------------------------------------------------------------------------------
def test_greeting_answers_get_with_its_configured_text(webserv):
    srv = serve_example(
        webserv,
        "load_module greeting;\nserver { listen 127.0.0.1:{port};\n"
        '  location /hello { handler greeting { text "hi there"; } }\n'
        '  location /html { handler greeting { text "<b>x</b>"; content_type text/html; } }\n'
        "}\n",
    )
    r = srv.get("/hello")
    assert (r.status, r.body) == (200, b"hi there")
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert srv.get("/html").header("Content-Type") == "text/html"
    assert srv.request("HEAD", "/hello").body == b""
    post = srv.request("POST", "/hello", body=b"x")  # passed on; nothing answers POST
    assert (post.status, post.header("Allow")) == (405, "GET, HEAD")


def test_greeting_example_config_serves_as_documented(webserv):
    text = (EXAMPLES / "greeting.conf").read_text().replace("8080", "{port}")
    srv = serve_example(webserv, text)
    assert srv.get("/hello").body == b"hi there"
    assert srv.request("DELETE", "/hello").status == 405


# -- stamp ---------------------------------------------------------------------------------
def test_stamp_adds_its_header_to_what_the_static_handler_serves(webserv):
    srv = serve_example(
        webserv,
        "load_module stamp;\nserver { listen 127.0.0.1:{port}; root www;\n"
        "  location /files/ { handler stamp { value 42; } autoindex on; }\n"
        '  location /other/ { handler stamp { value v2; header "X-Build"; } }\n'
        "}\n",
        files={"www/files/a.txt": "A\n", "www/files/sub/": "", "www/other/b.txt": "B\n"},
    )
    r = srv.get("/files/a.txt")
    assert (r.status, r.body, r.header("X-Stamp")) == (200, b"A\n", "42")
    listing = srv.get("/files/")
    assert listing.status == 200 and b"sub/" in listing.body and listing.header("X-Stamp") == "42"
    other = srv.get("/other/b.txt")
    assert other.header("X-Build") == "v2" and other.header("X-Stamp") is None


# -- sessions ------------------------------------------------------------------------------
SESSIONS = """load_module sessions;
server {
    listen 127.0.0.1:{port};
    location /visits {
        handler sessions { secret "a-test-secret-of-32-characters!!"; max_age 10m; }
        handler visits;
    }
}
"""


def session_cookie(result) -> str:
    cookies = [v for k, v in result.headers if k.lower() == "set-cookie"]
    assert len(cookies) == 1, cookies
    return cookies[0]


def visits(result) -> int:
    match = re.search(rb'id="visits">(\d+)<', result.body)
    assert match, result.body
    assert result.header("X-Visits") in (None, match.group(1).decode())
    return int(match.group(1))


def test_sessions_count_visits_per_cookie(webserv):
    srv = serve_example(webserv, SESSIONS)
    first = srv.get("/visits")
    assert first.status == 200 and visits(first) == 1
    cookie = session_cookie(first)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=600" in cookie
    value = cookie.split(";")[0]
    assert visits(srv.get("/visits", headers={"Cookie": value})) == 2
    assert visits(srv.get("/visits", headers={"Cookie": f"other=1; {value}"})) == 3
    # another client without the cookie has its own session
    assert visits(srv.get("/visits")) == 1
    assert visits(srv.get("/visits", headers={"Cookie": value})) == 4
    head = srv.request("HEAD", "/visits", headers={"Cookie": value})
    assert (head.status, head.header("X-Visits")) == (200, "4")  # HEAD does not count
    assert visits(srv.get("/visits", headers={"Cookie": value})) == 5


def test_sessions_give_forged_or_tampered_cookies_a_fresh_session(webserv):
    srv = serve_example(webserv, SESSIONS)
    value = session_cookie(srv.get("/visits")).split(";")[0]
    assert visits(srv.get("/visits", headers={"Cookie": value})) == 2
    name, _, signed = value.partition("=")
    sid, _, mac = signed.rpartition(".")
    forgeries = [
        f"{name}={sid}",  # unsigned
        f"{name}={sid}.{'A' * len(mac)}",  # wrong signature
        f"{name}={sid[:-1]}{'y' if sid.endswith('x') else 'x'}.{mac}",  # id changed
        f"{name}=garbage",
    ]
    for forged in forgeries:
        r = srv.get("/visits", headers={"Cookie": forged})
        assert (r.status, visits(r)) == (200, 1), forged
        assert session_cookie(r).split(";")[0] not in (forged, value)
    assert visits(srv.get("/visits", headers={"Cookie": value})) == 3  # still valid


def test_sessions_reset_ends_the_session_and_expires_the_cookie(webserv):
    srv = serve_example(webserv, SESSIONS)
    value = session_cookie(srv.get("/visits")).split(";")[0]
    ended = srv.get("/visits?reset", headers={"Cookie": value})
    assert ended.status == 200 and "Max-Age=0" in session_cookie(ended)
    assert visits(srv.get("/visits", headers={"Cookie": value})) == 1


def test_sessions_survive_keep_alive_and_share_one_connection(webserv):
    srv = serve_example(webserv, SESSIONS)
    with srv.client() as client:
        value = session_cookie(client.get("/visits")).split(";")[0]
        counts = [visits(client.get("/visits", headers={"Cookie": value})) for _ in range(5)]
        assert counts == [2, 3, 4, 5, 6]
        assert client.connections == 1


# -- echo_json -----------------------------------------------------------------------------
ECHO = """load_module echo_json;
server {
    listen 127.0.0.1:{port};
    location /echo {
        handler echo_json { max_body 1k; }
        allow_methods GET HEAD POST PUT;
        client_max_body_size 10m;
    }
}
"""


def test_echo_json_returns_the_parsed_request(webserv):
    srv = serve_example(webserv, ECHO)
    r = srv.request(
        "POST",
        "/echo/a%20b/../c?x=1&y=%20&flag",
        body="héllo".encode(),
        headers={"X-Test": "1", "Content-Type": "text/plain"},
    )
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    doc = json.loads(r.body)
    assert doc["method"] == "POST"
    assert doc["target"] == "/echo/a%20b/../c?x=1&y=%20&flag"
    assert doc["path"] == "/echo/c"
    assert doc["query"] == "x=1&y=%20&flag"
    assert doc["args"] == [["x", "1"], ["y", " "], ["flag", ""]]
    assert ["X-Test", "1"] in doc["headers"]
    assert doc["client"][0] == "127.0.0.1" and doc["server"] == ["127.0.0.1", srv.port]
    assert doc["http_version"] == "1.1"
    assert doc["body"] == {"length": 6, "truncated": False, "encoding": "text", "data": "héllo"}


def test_echo_json_encodes_binary_bodies_in_base64_and_bounds_what_it_keeps(webserv):
    srv = serve_example(webserv, ECHO)
    binary = bytes(range(256)) * 4
    doc = json.loads(srv.request("PUT", "/echo", body=binary).body)
    assert doc["body"]["encoding"] == "base64"
    assert base64.b64decode(doc["body"]["data"]) == binary[:1024]
    big = json.loads(srv.request("POST", "/echo", body=b"z" * 300_000).body)
    assert big["body"] == {
        "length": 300_000,
        "truncated": True,
        "encoding": "text",
        "data": "z" * 1024,
    }


def test_echo_json_reads_a_chunked_body(webserv):
    srv = serve_example(webserv, ECHO)
    raw = srv.raw(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    start = body.index(b"{")
    doc = json.loads(body[start : body.rindex(b"}") + 1])
    assert doc["body"]["data"] == "hello world" and doc["body"]["length"] == 11


# -- status --------------------------------------------------------------------------------
STATUS = """load_module status;
server {
    listen 127.0.0.1:{port};
    location = /status { handler status; }
    location = /status.txt { handler status { format text; } }
}
"""


def test_status_reports_this_workers_counters_as_json(webserv):
    srv = serve_example(webserv, STATUS)
    first = json.loads(srv.get("/status").body)
    assert first["scope"] == "worker" and first["pid"] == srv.pid
    for _ in range(3):
        srv.get("/status")
    later = json.loads(srv.get("/status").body)
    assert later["requests"] >= first["requests"] + 4
    assert later["connections"]["accepted"] >= first["connections"]["accepted"] + 4
    assert later["connections"]["active"] >= 1  # the connection asking
    assert later["connections"]["writing"] >= 1


def test_status_text_format_is_nginx_stub_status(webserv):
    srv = serve_example(webserv, STATUS)
    r = srv.get("/status.txt")
    assert r.status == 200
    lines = r.text.splitlines()
    assert re.fullmatch(r"Active connections: \d+ ", lines[0])
    assert lines[1] == "server accepts handled requests"
    assert re.fullmatch(r" \d+ \d+ \d+ ", lines[2])
    assert re.fullmatch(r"Reading: \d+ Writing: \d+ Waiting: \d+ ", lines[3])


def test_status_with_several_workers_names_the_worker_that_answered(webserv):
    srv = serve_example(webserv, "workers 2;\n" + STATUS)
    workers = set(srv.children())
    pids = {json.loads(srv.get("/status").body)["pid"] for _ in range(6)}
    assert pids and pids <= workers
