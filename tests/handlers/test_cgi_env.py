"""The CGI environment and the SCRIPT_NAME / PATH_INFO split (pure logic)."""

from __future__ import annotations

from framework.config.models import CgiRule
from framework.http.headers import Headers
from framework.http.request import Request
from handlers.cgi_env import build_environ, header_variables, is_nph, split_script_path

PY = CgiRule(extension=".py")
SH = CgiRule(extension=".sh")


def make_request(headers=(), **kw) -> Request:
    kw.setdefault("client", ("10.0.0.7", 51000))
    kw.setdefault("server", ("127.0.0.1", 8080))
    kw.setdefault("host", "example.test")
    return Request(
        kw.pop("method", "GET"),
        kw.pop("target", "/cgi-bin/a.py/x?q=1"),
        kw.pop("path", "/cgi-bin/a.py/x"),
        kw.pop("query", "q=1"),
        Headers(list(headers)),
        **kw,
    )


def environ(request: Request, **kw) -> dict[str, str]:
    kw.setdefault("script_name", "/cgi-bin/a.py")
    kw.setdefault("path_info", "/x")
    kw.setdefault("script_filename", "/srv/www/cgi-bin/a.py")
    kw.setdefault("document_root", "/srv/www")
    kw.setdefault("content_length", None)
    kw.setdefault("path", "/usr/bin:/bin")
    return build_environ(request, **kw)


def test_split_takes_the_first_segment_ending_in_an_extension():
    m = split_script_path("/cgi-bin/a.py/extra/path", [PY])
    assert (m.script_name, m.path_info, m.rule) == ("/cgi-bin/a.py", "/extra/path", PY)


def test_split_without_path_info():
    m = split_script_path("/a/b.sh", [PY, SH])
    assert (m.script_name, m.path_info, m.rule) == ("/a/b.sh", "", SH)


def test_split_returns_none_when_no_segment_matches():
    assert split_script_path("/a/b.pyc/c", [PY]) is None
    assert split_script_path("/a/python/", [PY]) is None
    assert split_script_path("/x.py", []) is None


def test_split_ignores_a_bare_extension_segment():
    assert split_script_path("/dir/.py", [PY]) is None


def test_split_leftmost_segment_wins():
    m = split_script_path("/a.py/b.py", [PY])
    assert (m.script_name, m.path_info) == ("/a.py", "/b.py")


def test_nph_is_decided_by_the_basename():
    assert is_nph("/cgi-bin/nph-status.sh")
    assert not is_nph("/nph-dir/status.sh")


def test_environment_holds_the_rfc3875_meta_variables():
    env = environ(make_request())
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == "/cgi-bin/a.py"
    assert env["PATH_INFO"] == "/x"
    assert env["PATH_TRANSLATED"] == "/srv/www/x"
    assert env["QUERY_STRING"] == "q=1"
    assert env["REQUEST_URI"] == "/cgi-bin/a.py/x?q=1"
    assert env["SERVER_NAME"] == "example.test"
    assert env["SERVER_PORT"] == "8080"
    assert env["REMOTE_ADDR"] == "10.0.0.7"
    assert env["REMOTE_PORT"] == "51000"
    assert env["SCRIPT_FILENAME"] == "/srv/www/cgi-bin/a.py"
    assert env["DOCUMENT_ROOT"] == "/srv/www"
    assert env["REDIRECT_STATUS"] == "200"
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["SERVER_SOFTWARE"].startswith("webserv/")


def test_optional_variables_are_absent_when_not_applicable():
    env = environ(make_request(query="", path="/cgi-bin/a.py"), path_info="")
    assert env["QUERY_STRING"] == ""
    for name in ("PATH_INFO", "PATH_TRANSLATED", "CONTENT_LENGTH", "CONTENT_TYPE", "AUTH_TYPE"):
        assert name not in env


def test_query_string_is_passed_undecoded():
    env = environ(make_request(query="a=%41+b&c"))
    assert env["QUERY_STRING"] == "a=%41+b&c"


def test_content_variables_are_set_only_with_a_body_and_type():
    req = make_request([("Content-Type", "text/plain"), ("Content-Length", "5")], method="POST")
    env = environ(req, content_length=5)
    assert env["CONTENT_LENGTH"] == "5"
    assert env["CONTENT_TYPE"] == "text/plain"
    assert "HTTP_CONTENT_LENGTH" not in env and "HTTP_CONTENT_TYPE" not in env


def test_http_1_0_request_reports_its_protocol():
    assert environ(make_request(http_version="1.0"))["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_headers_become_http_variables_joined_when_repeated():
    req = make_request([("X-Thing", "a"), ("x-thing", "b"), ("Accept", "*/*")])
    env = header_variables(req)
    assert env == {"HTTP_X_THING": "a, b", "HTTP_ACCEPT": "*/*"}


def test_repeated_cookie_fields_are_joined_with_semicolons():
    req = make_request([("Cookie", "a=1"), ("Cookie", "b=2")])
    assert header_variables(req)["HTTP_COOKIE"] == "a=1; b=2"


def test_proxy_header_never_becomes_http_proxy():
    env = environ(make_request([("Proxy", "http://evil:3128")]))
    assert "HTTP_PROXY" not in env


def test_header_names_with_underscores_or_other_characters_are_dropped():
    req = make_request([("X_Foo", "sneaky"), ("X-Foo", "real"), ("X.Bar", "1")])
    env = header_variables(req)
    assert env == {"HTTP_X_FOO": "real"}


def test_headers_cannot_overwrite_meta_variables():
    req = make_request([("Script-Name", "/evil"), ("Path", "/tmp")])
    env = environ(req)
    assert env["SCRIPT_NAME"] == "/cgi-bin/a.py"
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["HTTP_SCRIPT_NAME"] == "/evil"


def test_dechunked_body_hides_transfer_encoding():
    req = make_request([("Transfer-Encoding", "chunked")], method="POST")
    assert "HTTP_TRANSFER_ENCODING" not in environ(req, content_length=3)
    assert environ(req)["HTTP_TRANSFER_ENCODING"] == "chunked"


def test_nothing_from_the_server_environment_leaks(monkeypatch):
    monkeypatch.setenv("WEBSERV_SECRET_MARKER", "leak")
    env = environ(make_request())
    assert "WEBSERV_SECRET_MARKER" not in env
    assert all(k.isupper() for k in env)


def test_request_uri_of_an_absolute_form_target_is_origin_form():
    request = make_request(target="http://other.test:81/cgi-bin/a.py/x?q=1")
    assert environ(request)["REQUEST_URI"] == "/cgi-bin/a.py/x?q=1"
