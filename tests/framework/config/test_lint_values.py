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
