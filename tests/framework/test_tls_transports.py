"""``framework.transports``: which listen addresses speak TLS and/or the PROXY protocol, and
how an accepted socket's local address finds its listen address (exact, then the wildcard
of its family; IPv4-mapped addresses of a dual-stack socket)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.config.build import load_config
from framework.transports import ListenTransport, TlsSetupError, Transports, build_transports

PROXY = ListenTransport(None, True)
PLAIN_V6 = ListenTransport(None, False)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (("10.0.0.1", 80), PROXY),  # exact
        (("192.0.2.1", 443), PROXY),  # the IPv4 wildcard of the port
        (("::ffff:10.0.0.1", 80), PROXY),  # mapped, exact
        (("::ffff:192.0.2.1", 8443), PLAIN_V6),  # mapped, on the "::" socket
        (("::1", 443), None),  # an IPv6 connection never came in on the IPv4 wildcard
        (("192.0.2.1", 8443), None),
        (("192.0.2.1", 81), None),
    ],
)
def test_local_address_finds_its_listen_address(local, expected):
    transports = Transports(
        {("0.0.0.0", 443): PROXY, ("::", 8443): PLAIN_V6, ("10.0.0.1", 80): PROXY}
    )
    assert transports.for_local(local) == expected


def _config(tmp_path: Path, text: str):
    path = tmp_path / "t.conf"
    path.write_text(text)
    result = load_config(path)
    assert result.config is not None, result.diagnostics
    return result.config


def test_build_transports_per_address(tmp_path: Path):
    cert, key = make_cert(tmp_path, ["localhost"])
    config = _config(
        tmp_path,
        f"""
        server {{
            listen 127.0.0.1:8080;
            listen 127.0.0.1:8081 proxy_protocol;
            listen 127.0.0.1:8443 ssl proxy_protocol;
            listen 127.0.0.1:9443 ssl;
            server_name localhost;
            ssl_certificate {cert};
            ssl_certificate_key {key};
        }}
        """,
    )
    transports = build_transports(config)
    assert transports.for_local(("127.0.0.1", 8080)) is None
    assert transports.for_local(("127.0.0.1", 8081)) == ListenTransport(None, True)
    both = transports.for_local(("127.0.0.1", 8443))
    tls_only = transports.for_local(("127.0.0.1", 9443))
    assert both is not None and both.proxy_protocol and isinstance(both.tls, ssl.SSLContext)
    assert tls_only is not None and not tls_only.proxy_protocol and tls_only.tls is not None
    assert tls_only.tls.options & ssl.OP_NO_RENEGOTIATION


def test_plain_config_has_no_transports(tmp_path: Path):
    config = _config(tmp_path, "server { listen 127.0.0.1:8080; }\n")
    assert not build_transports(config)


def test_unloadable_certificate_is_a_setup_error(tmp_path: Path):
    cert, key = make_cert(tmp_path, ["localhost"])
    config = _config(
        tmp_path,
        f"server {{ listen 127.0.0.1:9443 ssl; server_name localhost; "
        f"ssl_certificate {cert}; ssl_certificate_key {key}; }}\n",
    )
    key.write_text("not a key\n")  # broken after validation: as between check and start
    with pytest.raises(TlsSetupError):
        build_transports(config)
