"""ServerSelector: address first, then server_name by nginx precedence, then default."""

from framework.config.models import Config, Listen, ServerConfig
from framework.routing.servers import ServerSelector


def server(*names: str, listen: str = "0.0.0.0:8080", default: bool = False) -> ServerConfig:
    host, _, port = listen.rpartition(":")
    return ServerConfig(
        listens=[Listen(host=host.strip("[]"), port=int(port), default_server=default)],
        server_names=list(names),
    )


SOCK = ("127.0.0.1", 8080)


def test_exact_name_wins_over_every_wildcard_and_regex():
    regex = server("~^www\\..*$")
    trailing = server("www.*")
    leading = server("*.example.org")
    exact = server("www.example.org")
    selector = ServerSelector(Config(servers=[regex, trailing, leading, exact]))
    assert selector.select(SOCK, "www.example.org") is exact


def test_longest_leading_wildcard_wins_whatever_the_order():
    short = server("*.org")
    long = server("*.example.org")
    selector = ServerSelector(Config(servers=[short, long]))
    assert selector.select(SOCK, "a.example.org") is long
    assert selector.select(SOCK, "a.other.org") is short


def test_leading_wildcard_beats_trailing_wildcard():
    trailing = server("www.*")
    leading = server("*.example.org")
    selector = ServerSelector(Config(servers=[trailing, leading]))
    assert selector.select(SOCK, "www.example.org") is leading
    assert selector.select(SOCK, "www.example.net") is trailing


def test_longest_trailing_wildcard_wins():
    short = server("www.*")
    long = server("www.example.*")
    selector = ServerSelector(Config(servers=[short, long]))
    assert selector.select(SOCK, "www.example.net") is long


def test_dot_form_matches_the_name_itself_and_its_subdomains():
    dotted = server(".example.org")
    other = server("other")
    selector = ServerSelector(Config(servers=[other, dotted]))
    assert selector.select(SOCK, "example.org") is dotted
    assert selector.select(SOCK, "deep.a.example.org") is dotted
    assert selector.select(SOCK, "notexample.org") is other


def test_wildcard_does_not_match_the_bare_domain():
    wild = server("*.example.org")
    first = server("first")
    selector = ServerSelector(Config(servers=[first, wild]))
    assert selector.select(SOCK, "example.org") is first


def test_first_matching_regex_in_file_order_wins():
    one = server("~^api\\d+\\.example\\.org$")
    two = server("~example")
    selector = ServerSelector(Config(servers=[one, two]))
    assert selector.select(SOCK, "api7.example.org") is one
    assert selector.select(SOCK, "www.example.org") is two


def test_regex_names_match_case_insensitively():
    rx = server("~^WWW\\.")
    selector = ServerSelector(Config(servers=[server("x"), rx]))
    assert selector.select(SOCK, "www.example.org") is rx


def test_names_are_case_insensitive():
    named = server("Example.ORG")
    selector = ServerSelector(Config(servers=[server("x"), named]))
    assert selector.select(SOCK, "example.org") is named


def test_unknown_host_goes_to_the_first_server_of_the_address():
    first, second = server("a"), server("b")
    selector = ServerSelector(Config(servers=[first, second]))
    assert selector.select(SOCK, "unknown") is first
    assert selector.select(SOCK, "") is first
    assert selector.default_for(SOCK) is first


def test_default_server_flag_overrides_file_order():
    first, marked = server("a"), server("b", default=True)
    selector = ServerSelector(Config(servers=[first, marked]))
    assert selector.select(SOCK, "unknown") is marked
    assert selector.default_for(SOCK) is marked
    assert selector.select(SOCK, "a") is first


def test_empty_server_name_matches_a_request_without_host():
    named, empty = server("a"), server("")
    selector = ServerSelector(Config(servers=[named, empty]))
    assert selector.select(SOCK, "") is empty


def test_address_specific_servers_hide_the_wildcard_ones():
    wildcard = server("site", listen="0.0.0.0:8080")
    specific = server("other", listen="127.0.0.1:8080")
    selector = ServerSelector(Config(servers=[wildcard, specific]))
    # on 127.0.0.1 only the specific server is a candidate, even for the other's name
    assert selector.select(("127.0.0.1", 8080), "site") is specific
    assert selector.select(("10.1.2.3", 8080), "other") is wildcard


def test_ports_are_kept_apart():
    a = server("a", listen="0.0.0.0:8080")
    b = server("a", listen="0.0.0.0:9090")
    selector = ServerSelector(Config(servers=[a, b]))
    assert selector.select(("127.0.0.1", 9090), "a") is b
    assert selector.select(("127.0.0.1", 8080), "a") is a


def test_ipv6_and_ipv4_mapped_socket_addresses():
    v6 = server("v6", listen="[::]:8080")
    selector = ServerSelector(Config(servers=[v6]))
    assert selector.select(("::1", 8080, 0, 0), "x") is v6
    mapped = server("m", listen="127.0.0.1:8080")
    selector = ServerSelector(Config(servers=[v6, mapped]))
    assert selector.select(("::ffff:127.0.0.1", 8080, 0, 0), "x") is mapped


def test_repeated_lookups_are_memoised_but_stay_correct():
    a, b = server("a"), server("b")
    selector = ServerSelector(Config(servers=[a, b]))
    for _ in range(3):
        assert selector.select(SOCK, "b") is b
        assert selector.select(SOCK, "a") is a
