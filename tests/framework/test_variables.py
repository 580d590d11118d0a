"""nginx variables: values, the three expansions (header-safe, URI, path), captures of the
location regex, ``map`` and response variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from framework.config.directives_map import MapTable
from framework.config.models import LocationConfig, ServerConfig
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from framework.http.variables import (
    KNOWN_VARIABLES,
    captures_of,
    expand,
    expand_path,
    expand_uri,
    variable_names,
)
from framework.routing.locations import LocationMatcher


def make_request(target: str = "/a b/x?q=1&Page=2&e=%0d%0a", path: str = "/a b/x") -> Request:
    query = target.partition("?")[2]
    headers = Headers(
        {"User-Agent": "ua/1", "Content-Type": "text/plain", "Cookie": "sid=42; theme=dark"}
    )
    headers.add("X-Multi", "one")
    headers.add("X-Multi", "two")
    request = Request(
        "POST", target, path, query, headers, client=("10.0.0.9", 5555), server=("127.0.0.1", 8080)
    )
    request.host = "example.test"
    return request


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("$uri", "/a b/x"),
        ("$document_uri", "/a b/x"),
        ("$request_uri", "/a b/x?q=1&Page=2&e=%0d%0a"),
        ("$args|$query_string", "q=1&Page=2&e=%0d%0a|q=1&Page=2&e=%0d%0a"),
        ("$is_args", "?"),
        ("$arg_page", "2"),  # names compare ignoring case, as nginx
        ("$arg_e", "%0d%0a"),  # not decoded
        ("[$arg_missing]", "[]"),
        ("$scheme://$host", "http://example.test"),
        ("$remote_addr:$remote_port", "10.0.0.9:5555"),
        ("$server_addr:$server_port", "127.0.0.1:8080"),
        ("$request_method $server_protocol", "POST HTTP/1.1"),
        ("$http_user_agent", "ua/1"),
        ("$http_x_multi", "one, two"),
        ("$content_type", "text/plain"),
        ("[$content_length]", "[]"),
        ("$cookie_theme", "dark"),
        ("[$remote_user]", "[]"),
        ("$nope and $", "$nope and $"),  # unknown: left as written
        ("${uri}x", "/a b/xx"),
    ],
)
def test_values(template: str, value: str) -> None:
    assert expand(template, make_request()) == value


def test_no_query_means_empty_args_and_is_args() -> None:
    request = make_request("/p", "/p")
    assert expand("[$is_args$args]", request) == "[]"


def test_server_name_document_root_and_host_fallback() -> None:
    server = ServerConfig(server_names=["main.test", "alias.test"])
    request = make_request()
    request.server_config = server
    request.location = LocationConfig(root=Path("/srv/www"))
    request.host = ""
    assert expand("$server_name $document_root $host", request) == "main.test /srv/www main.test"
    request.location = LocationConfig(alias=Path("/srv/alias"))
    assert expand("$document_root", request) == "/srv/alias"


def test_an_invalid_host_is_never_reflected() -> None:
    request = make_request()
    request.host = "evil\r\nX: y"
    assert expand("$host", request) == "127.0.0.1"


def test_header_expansion_never_yields_cr_lf_or_nul() -> None:
    request = make_request(path="/x\r\nSet-Cookie: a\x00")
    assert expand("$uri", request) == "/x%0D%0ASet-Cookie: a%00"
    request.headers.add("X-Evil", "a\nb\x01\tc")  # the parser refuses this; the fence holds
    assert expand("$http_x_evil", request) == "a%0Ab%01\tc"


def test_uri_expansion_encodes_decoded_values_and_keeps_raw_ones() -> None:
    request = make_request()
    assert expand_uri("/f$uri?$args", request) == "/f/a%20b/x?q=1&Page=2&e=%0d%0a"
    request.path = "/a?b#c%d"
    assert expand_uri("$uri", request) == "/a%3Fb%23c%25d"


def test_path_expansion_keeps_values_as_they_are() -> None:
    request = make_request()
    request.path = "/a?b%c"
    assert expand_path("$uri.html", request) == "/a?b%c.html"


def test_captures_digits_named_and_missing() -> None:
    request = make_request()
    match = re.search(r"^/(?P<first>[^/]+)/(x)(y)?", "/a b/x")
    assert match is not None
    request.captures = captures_of(match)
    assert expand("$1|$2|[$3]|$first|$0|[$7]", request) == "a b|x|[]|a b|/a b/x|[]"
    assert expand("$10", request) == "a b0"  # one digit, as nginx


def test_response_variables() -> None:
    request = make_request()
    response = Response(404, b"", {"Content-Type": "text/html"})
    assert expand("$status $sent_http_content_type", request, response) == "404 text/html"
    assert expand("[$status][$sent_http_content_type]", request) == "[][]"


def test_map_variables_are_looked_up_with_their_captures() -> None:
    table = MapTable(source="$uri", variable="to", default="none")
    table.exact["/old"] = "new"
    table.regexes.append((re.compile(r"^/u/(?P<id>\d+)$"), "/user/$id/$1"))
    kinds = MapTable(source="$sent_http_content_type", variable="cc", default="public")
    kinds.exact["text/html"] = "no-cache"
    request = make_request("/u/42", "/u/42")
    request.location = LocationConfig(maps={"to": table, "cc": kinds})
    assert expand("$to", request) == "/user/42/42"
    request.path = "/OLD"
    assert expand("$to", request) == "new"
    request.path = "/other"
    assert expand("$to", request) == "none"
    html = Response(200, b"", {"Content-Type": "text/html"})
    assert expand("$cc", request, html) == "no-cache"
    assert expand("$cc", request) == "public"


def test_a_map_that_refers_to_itself_is_a_500() -> None:
    table = MapTable(source="$loop", variable="loop", default="x$loop")
    request = make_request()
    request.location = LocationConfig(maps={"loop": table})
    with pytest.raises(HTTPError) as raised:  # nginx: cycle while evaluating variable
        expand("$loop", request)
    assert raised.value.status == 500


def test_variable_names() -> None:
    assert variable_names("$a-${b}/$1x") == ["a", "b", "1"]
    assert {"uri", "host", "args", "request_uri", "remote_addr", "scheme"} <= KNOWN_VARIABLES


# -- captures from location matching --------------------------------------------------------


def _server(*locations: LocationConfig) -> ServerConfig:
    return ServerConfig(locations=list(locations))


def _regex(pattern: str, **kw) -> LocationConfig:
    return LocationConfig(modifier="~", pattern=pattern, regex=re.compile(pattern), **kw)


def test_a_regex_location_gives_its_groups_and_a_prefix_none() -> None:
    regex = _regex(r"^/u/(?P<name>\w+)/(\d+)$")
    prefix = LocationConfig(pattern="/")
    matcher = LocationMatcher(_server(prefix, regex))
    loc, captures = matcher.lookup("/u/bob/7")
    assert loc is regex
    assert captures == {"0": "/u/bob/7", "1": "bob", "2": "7", "name": "bob"}
    assert matcher.lookup("/other") == (prefix, None)
    assert matcher.lookup("/u/bob/7")[1] == captures  # memoised
    assert matcher.match("/u/bob/7") is regex


def test_a_nested_regex_overrides_the_outer_captures_and_a_nested_prefix_keeps_them() -> None:
    inner_regex = _regex(r"/(\d+)$")
    inner_prefix = LocationConfig(pattern="/p/")
    outer = _regex(r"^/(\w)", children=[inner_prefix, inner_regex])
    matcher = LocationMatcher(_server(outer))
    assert matcher.lookup("/x/12") == (inner_regex, {"0": "/12", "1": "12"})
    loc, captures = matcher.lookup("/p/z")
    assert loc is inner_prefix and captures == {"0": "/p", "1": "p"}
