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


def test_return_takes_codes_up_to_999_like_nginx(load):
    for code in ("999", "600", "100"):
        result = load(f"server {{ listen 127.0.0.1:8080; location / {{ return {code}; }} }}\n")
        assert result.diagnostics == []
        assert result.config.servers[0].locations[0].return_.status == int(code)
    text = load('server { listen 127.0.0.1:8080; location / { return 999 "hi"; } }\n')
    assert text.config.servers[0].locations[0].return_.text == "hi"


def test_return_over_999_or_under_100_is_an_invalid_return_code(load):
    result = load("server { listen 127.0.0.1:8080; location / { return 1000; } }\n")
    (error,) = result.errors
    assert (error.rule, error.message) == ("invalid-status", 'invalid return code "1000"')
    assert (error.span.line, error.span.col) == (1, 53)  # at the code
    # nginx -t takes 0-99 but then sends "HTTP/1.1 099": refused, and the hint says why
    (error,) = load("server { listen 127.0.0.1:8080; location / { return 99; } }\n").errors
    assert error.message == 'invalid return code "99"'
    assert '"HTTP/1.1 099"' in (error.hint or "")


def test_a_redirect_without_url_is_accepted_with_a_warning(load, tmp_path, capsys):
    for body in ("return 301;", 'return 302 "";', "return 308;"):
        result = load(f"server {{ listen 127.0.0.1:8080;\n  location / {{ {body} }}\n}}\n")
        assert result.errors == []
        (warning,) = result.diagnostics
        assert (warning.severity, warning.rule) == ("warning", "redirect-without-url")
        assert 'the "Location" header is sent empty' in warning.message
        assert (warning.span.line, warning.span.col) == (2, 16)
        ret = result.config.servers[0].locations[0].return_
        assert (ret.status, ret.url) == (int(body[7:10]), "")
    # the command line: a warning, so exit 0, and 2 under --strict
    from framework.cli import main

    config = tmp_path / "redirect.conf"
    config.write_text("server { listen 127.0.0.1:8080; location / { return 301; } }\n")
    assert main(["validate-config", "--no-fs", str(config)]) == 0
    assert "warning[redirect-without-url]" in capsys.readouterr().out
    assert main(["validate-config", "--no-fs", "--strict", str(config)]) == 2
