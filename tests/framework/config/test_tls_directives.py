"""The ssl_* directives: parsing, nginx's defaults, inheritance from the top level and the
diagnostics of bad values (with the caret at the argument)."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.config.build import LoadResult


def _server(load, body: str, top: str = "") -> LoadResult:
    return load(f"{top}server {{\n listen 8443;\n{body}}}\n")


def _only_error(result: LoadResult):
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert len(errors) == 1, result.diagnostics
    return errors[0]


def test_defaults_are_nginxs(load) -> None:
    server = load("server { listen 8080; }\n").config.servers[0]
    assert server.ssl_certificate is None and server.ssl_certificate_key is None
    assert server.ssl_protocols == {"TLSv1.2", "TLSv1.3"}
    assert server.ssl_ciphers == "HIGH:!aNULL:!MD5"
    assert server.ssl_prefer_server_ciphers is False
    assert server.ssl_session_tickets is True
    assert server.ssl_session_timeout == 300.0
    assert server.ssl_session_cache == "none"
    assert server.ssl_ecdh_curve == "auto"
    assert server.ssl_dhparam is None


def test_every_directive_parses_and_paths_are_relative_to_the_config(load, tmp_path) -> None:
    result = _server(
        load,
        " ssl_certificate certs/site.pem;\n ssl_certificate_key certs/site-key.pem;\n"
        " ssl_protocols TLSv1.3 TLSv1.2;\n ssl_ciphers EECDH+CHACHA20:EECDH+AES;\n"
        " ssl_prefer_server_ciphers on;\n ssl_session_tickets off;\n"
        " ssl_session_timeout 24h;\n ssl_session_cache builtin:1000;\n"
        " ssl_ecdh_curve X25519:prime256v1;\n ssl_dhparam dh.pem;\n",
    )
    assert result.diagnostics == []
    server = result.config.servers[0]
    assert server.ssl_certificate == tmp_path / "certs/site.pem"
    assert server.ssl_certificate_key == tmp_path / "certs/site-key.pem"
    assert server.ssl_protocols == {"TLSv1.2", "TLSv1.3"}
    assert server.ssl_ciphers == "EECDH+CHACHA20:EECDH+AES"
    assert server.ssl_prefer_server_ciphers is True
    assert server.ssl_session_tickets is False
    assert server.ssl_session_timeout == 86400.0
    assert server.ssl_session_cache == "builtin:1000"
    assert server.ssl_ecdh_curve == "X25519:prime256v1"
    assert server.ssl_dhparam == tmp_path / "dh.pem"


def test_top_level_settings_are_inherited_and_a_server_overrides_them(load, tmp_path) -> None:
    result = load(
        "ssl_certificate top.pem;\nssl_certificate_key top-key.pem;\nssl_protocols TLSv1.3;\n"
        "server {\n listen 8443 ssl;\n}\n"
        "server {\n listen 8444 ssl;\n ssl_certificate own.pem;\n ssl_protocols TLSv1.2;\n}\n"
    )
    first, second = result.config.servers
    assert first.ssl_certificate == tmp_path / "top.pem"
    assert first.ssl_protocols == {"TLSv1.3"}
    assert second.ssl_certificate == tmp_path / "own.pem"
    assert second.ssl_certificate_key == tmp_path / "top-key.pem"
    assert second.ssl_protocols == {"TLSv1.2"}


def test_ssl_directives_are_refused_in_a_location(load) -> None:
    result = _server(load, " location / { ssl_protocols TLSv1.3; }\n")
    assert _only_error(result).rule == "not-allowed-here"


def test_an_unknown_protocol_is_an_error_at_its_argument(load) -> None:
    error = _only_error(_server(load, " ssl_protocols TLSv1.2 tlsv1.3;\n"))
    assert error.rule == "invalid-value"
    assert 'invalid value "tlsv1.3"' in error.message
    assert error.span.line == 3 and error.span.col == 24
    assert error.hint == 'did you mean "TLSv1.3"?'


def test_old_protocols_are_warned_about(load) -> None:
    result = _server(load, " ssl_protocols SSLv3 TLSv1 TLSv1.1 TLSv1.2;\n")
    assert result.config is not None
    warned = [(d.rule, d.span.col) for d in result.diagnostics]
    assert warned == [
        ("insecure-tls-protocol", 16),
        ("insecure-tls-protocol", 22),
        ("insecure-tls-protocol", 28),
    ]
    assert result.config.servers[0].ssl_protocols == {"TLSv1", "TLSv1.1", "TLSv1.2"}


def test_a_protocol_gap_is_warned_about(load) -> None:
    result = _server(load, " ssl_protocols TLSv1.3 TLSv1.1;\n")
    assert "tls-protocol-gap" in [d.rule for d in result.diagnostics]


def test_a_cipher_list_openssl_rejects_is_an_error_with_a_caret(load) -> None:
    error = _only_error(_server(load, " ssl_ciphers NOT-A-CIPHER:ALSO-NOT;\n"))
    assert error.rule == "invalid-value"
    assert "OpenSSL accepts no cipher" in error.message
    assert (error.span.line, error.span.col) == (3, 14)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("off", "off"),
        ("none", "none"),
        ("builtin", "builtin:20480"),
        ("builtin:1000", "builtin:1000"),
        ("shared:SSL:10m", "builtin:40000"),
        ("builtin:1000 shared:SSL:1m", "builtin:4000"),
        ("shared:SSL:1m builtin:1000", "builtin:4000"),
        ("builtin:50000 shared:SSL:1m", "builtin:50000"),
        ("builtin shared:SSL:1m", "builtin:20480"),
    ],
)
def test_ssl_session_cache_values(load, value: str, expected: str) -> None:
    result = _server(load, f" ssl_session_cache {value};\n")
    assert result.config.servers[0].ssl_session_cache == expected
    shared = [d for d in result.diagnostics if d.rule == "unsupported-nginx-directive"]
    assert bool(shared) == ("shared:" in value)
    if shared:
        (d,) = shared
        assert d.severity == "warning" and "did you mean" not in str(d.hint)
        assert f"`ssl_session_cache {expected};`" in str(d.hint)


@pytest.mark.parametrize(
    "value", ["shared:SSL", "shared:SSL:1k", "builtin:x", "bogus", "off builtin"]
)
def test_bad_ssl_session_cache_values_are_errors(load, value: str) -> None:
    assert _only_error(_server(load, f" ssl_session_cache {value};\n")).rule == "invalid-value"


def test_an_unknown_ecdh_curve_is_an_error(load) -> None:
    error = _only_error(_server(load, " ssl_ecdh_curve X25519:nosuchcurve;\n"))
    assert "nosuchcurve" in error.message


@pytest.mark.parametrize(
    "line",
    [
        "ssl_prefer_server_ciphers maybe;",
        "ssl_session_tickets yes;",
        "ssl_session_timeout forever;",
        'ssl_certificate "";',
    ],
)
def test_bad_flag_time_and_path_values_are_errors(load, line: str) -> None:
    assert _only_error(_server(load, f" {line}\n")).rule.startswith("invalid-")


def test_schema_lists_the_tls_directives() -> None:
    from framework.config.directives import DIRECTIVES  # noqa: PLC0415

    for name in (
        "ssl_certificate",
        "ssl_certificate_key",
        "ssl_protocols",
        "ssl_ciphers",
        "ssl_prefer_server_ciphers",
        "ssl_session_tickets",
        "ssl_session_timeout",
        "ssl_session_cache",
        "ssl_ecdh_curve",
        "ssl_dhparam",
    ):
        assert DIRECTIVES[name].contexts == frozenset("HS"), name


def test_h5bp_ssl_engine_and_policies_parse(load, tmp_path: Path) -> None:
    result = _server(
        load,
        " ssl_session_timeout 24h;\n ssl_session_cache shared:SSL:10m;\n"
        " ssl_session_tickets off;\n ssl_prefer_server_ciphers off;\n"
        " ssl_protocols TLSv1.2;\n ssl_ciphers EECDH+CHACHA20:EECDH+AES;\n"
        " ssl_ecdh_curve X25519:prime256v1:secp521r1:secp384r1;\n",
    )
    assert [d.rule for d in result.diagnostics] == ["unsupported-nginx-directive"]
