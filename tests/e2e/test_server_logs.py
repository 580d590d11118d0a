"""Access logs (combined and JSON, stdout and file, per location) and the error log."""

from __future__ import annotations

import json
import re

from http_fixtures import start_server

COMBINED = re.compile(
    r"127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
    r'"GET /index\.html\?q=1 HTTP/1\.1" 200 14 "http://ref/" "tester/1\.0"'
)


def test_access_log_in_combined_format_on_stdout(tmp_path):
    config = "server { listen 127.0.0.1:{port}; root www; }"
    srv = start_server(tmp_path, config=config)
    try:
        r = srv.get(
            "/index.html?q=1", headers={"Referer": "http://ref/", "User-Agent": "tester/1.0"}
        )
        assert r.status == 200
        assert srv.wait_for_log(COMBINED.pattern, stream="stdout")
    finally:
        srv.stop()


def test_access_log_json_to_a_file_and_off_per_location(tmp_path):
    config = """
    access_log logs/access.json json;
    error_log logs/error.log info;
    server {
        listen 127.0.0.1:{port};
        root www;
        location /quiet/ { access_log off; }
    }
    """
    (tmp_path / "logs").mkdir()
    srv = start_server(tmp_path, config=config)
    try:
        assert srv.get("/index.html").status == 200
        assert srv.get("/quiet/x").status == 404
        assert srv.get("/missing").status == 404
    finally:
        assert srv.stop() == 0
    lines = (tmp_path / "logs" / "access.json").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [(e["uri"], e["status"]) for e in entries] == [("/index.html", 200), ("/missing", 404)]
    assert entries[0]["bytes_sent"] == 14 and entries[0]["method"] == "GET"
    assert "[info]" in (tmp_path / "logs" / "error.log").read_text()


def test_access_log_keeps_the_method_an_error_page_turned_into_get(tmp_path):
    config = """
    server {
        listen 127.0.0.1:{port};
        root www;
        error_page 405 /index.html;
        location / { allow_methods GET POST; }
    }
    """
    srv = start_server(tmp_path, config=config)
    try:
        r = srv.request("POST", "/missing?x=1", body=b"data")
        assert (r.status, r.body) == (405, b"<h1>home</h1>\n")  # the page, served as GET
        assert srv.wait_for_log(r'"POST /missing\?x=1 HTTP/1\.1" 405 ', stream="stdout")
    finally:
        srv.stop()
