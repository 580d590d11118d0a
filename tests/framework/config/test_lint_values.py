"""Values parsed as nginx 1.22 does (each case checked with ``nginx -t``)."""

from __future__ import annotations


def errors(result) -> list[str]:
    return [d.rule for d in result.diagnostics if d.severity == "error"]


def test_error_page_499_is_rejected_like_nginx(load):
    result = load("server { listen 127.0.0.1:8080; error_page 499 /x.html; }\n")
    assert errors(result) == ["invalid-status"]
    assert load("server { listen 127.0.0.1:8080; error_page 498 /x.html; }\n").errors == []


def test_compound_times_are_accepted_like_nginx(load):
    result = load(
        "server { listen 127.0.0.1:8080; keepalive_timeout 1h30m; send_timeout '1m 5s'; }\n"
    )
    assert result.errors == []
    server = result.config.servers[0]
    assert server.keepalive_timeout == 5400.0
    assert load("server { listen 127.0.0.1:8080; keepalive_timeout 1h3x; }\n").errors != []


def test_a_compound_time_over_the_limit_is_too_long_not_invalid(load):
    # nginx -t accepts "365d 1s" and "400d" (its limit is far higher); webserv's is 365d,
    # and a compound over it says so as a single number does, instead of "invalid time"
    for text in ("'365d 1s'", "366d", "'364d 48h'", "1d8761h"):
        result = load(f"server {{ listen 127.0.0.1:8080; keepalive_timeout {text}; }}\n")
        (error,) = result.errors
        assert error.rule == "invalid-time"
        assert error.message == (
            f'time "{text.strip(chr(39))}" in "keepalive_timeout" directive is too long'
        )
        assert error.hint == "the longest time accepted is 365d"
    exact = load("server { listen 127.0.0.1:8080; keepalive_timeout '364d 24h'; }\n")
    assert exact.errors == []
    assert exact.config.servers[0].keepalive_timeout == 365 * 86400.0
