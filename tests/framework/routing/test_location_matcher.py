"""LocationMatcher: nginx's location selection order."""

import re

from framework.config.models import LocationConfig, ServerConfig
from framework.routing.locations import LocationMatcher, matcher_for


def prefix(pattern: str, *children: LocationConfig, modifier: str = "") -> LocationConfig:
    return LocationConfig(modifier=modifier, pattern=pattern, children=list(children))


def regex(pattern: str, *children: LocationConfig, icase: bool = False) -> LocationConfig:
    flags = re.IGNORECASE if icase else 0
    return LocationConfig(
        modifier="~*" if icase else "~",
        pattern=pattern,
        regex=re.compile(pattern, flags),
        children=list(children),
    )


def exact(pattern: str) -> LocationConfig:
    return LocationConfig(modifier="=", pattern=pattern)


def matcher(*locations: LocationConfig) -> tuple[LocationMatcher, ServerConfig]:
    server = ServerConfig(locations=list(locations))
    return LocationMatcher(server), server


def test_longest_prefix_wins_whatever_the_file_order():
    long, short = prefix("/images/"), prefix("/")
    m, _ = matcher(long, short)
    assert m.match("/images/a.png") is long
    m, _ = matcher(short, long)
    assert m.match("/images/a.png") is long
    assert m.match("/other") is short


def test_nothing_matching_gives_the_server_context():
    m, server = matcher(prefix("/a/"))
    assert m.match("/b") is server.context


def test_exact_match_stops_the_search():
    eq = exact("/")
    root = prefix("/")
    rx = regex(r"^/$")
    m, _ = matcher(root, rx, eq)
    assert m.match("/") is eq
    assert m.match("/x") is root


def test_regex_beats_a_plain_prefix():
    images = prefix("/images/")
    png = regex(r"\.png$")
    m, _ = matcher(images, png)
    assert m.match("/images/a.png") is png
    assert m.match("/images/a.gif") is images


def test_caret_tilde_prefix_skips_regexes():
    static = prefix("/static/", modifier="^~")
    png = regex(r"\.png$")
    m, _ = matcher(static, png)
    assert m.match("/static/a.png") is static
    assert m.match("/other/a.png") is png


def test_shorter_caret_tilde_does_not_block_regexes_when_a_longer_prefix_wins():
    outer = prefix("/a/", modifier="^~")
    longer = prefix("/a/b/")
    png = regex(r"\.png$")
    m, _ = matcher(outer, longer, png)
    assert m.match("/a/b/x.png") is png
    assert m.match("/a/x.png") is outer


def test_first_regex_in_file_order_wins():
    first = regex(r"^/a")
    second = regex(r"^/a/b")
    m, _ = matcher(first, second)
    assert m.match("/a/b/c") is first


def test_case_insensitive_regex():
    php = regex(r"\.php$", icase=True)
    case = regex(r"\.TXT$")
    m, server = matcher(php, case)
    assert m.match("/INDEX.PHP") is php
    assert m.match("/a.txt") is server.context


def test_nested_prefix_is_searched_inside_the_winning_prefix():
    inner = prefix("/a/b/")
    outer = prefix("/a/", inner)
    m, _ = matcher(outer)
    assert m.match("/a/b/c") is inner
    assert m.match("/a/c") is outer


def test_nested_regex_wins_before_outer_regexes():
    inner_rx = regex(r"\.png$")
    outer = prefix("/a/", inner_rx)
    outer_rx = regex(r"\.png$")
    m, _ = matcher(outer, outer_rx)
    assert m.match("/a/x.png") is inner_rx
    assert m.match("/b/x.png") is outer_rx


def test_outer_regex_beats_a_nested_prefix():
    inner = prefix("/a/b/")
    outer = prefix("/a/", inner)
    outer_rx = regex(r"\.png$")
    m, _ = matcher(outer, outer_rx)
    assert m.match("/a/b/x.png") is outer_rx
    assert m.match("/a/b/x.gif") is inner


def test_nested_exact_match_is_final():
    eq = exact("/a/x.png")
    outer = prefix("/a/", eq)
    m, _ = matcher(outer, regex(r"\.png$"))
    assert m.match("/a/x.png") is eq


def test_nested_locations_of_a_matching_regex_are_searched():
    inner = regex(r"/special/")
    rx = regex(r"\.php$", inner)
    m, _ = matcher(prefix("/"), rx)
    assert m.match("/special/a.php") is inner
    assert m.match("/a.php") is rx


def test_prefix_matching_is_case_sensitive():
    m, server = matcher(prefix("/Docs/"))
    assert m.match("/docs/x") is server.context


def test_prefix_without_trailing_slash_gets_a_redirect_target():
    d = prefix("/dir/")
    m, _ = matcher(prefix("/"), d)
    assert m.redirect_for_missing_slash("/dir") == "/dir/"
    assert m.redirect_for_missing_slash("/dir/") is None
    assert m.redirect_for_missing_slash("/other") is None


def test_no_slash_redirect_when_an_exact_location_claims_the_path():
    m, _ = matcher(prefix("/dir/"), exact("/dir"))
    assert m.redirect_for_missing_slash("/dir") is None


def test_matcher_for_caches_one_matcher_per_server_config():
    server = ServerConfig(locations=[prefix("/a/")])
    assert matcher_for(server) is matcher_for(server)
    assert matcher_for(server).match("/a/x").pattern == "/a/"
