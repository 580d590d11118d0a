"""validate-config's TLS lints (framework/config/lint_tls.py): certificate/key files, names,
dates, an ssl listen without a certificate, and ssl on only some listens of an address."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from framework.certs import make_self_signed
from framework.config.build import LoadResult, load_config
from framework.config.lint_tls import name_matches


def _pair(directory: Path, stem: str, names: list[str], **kw: object) -> None:
    cert, key = make_self_signed(names, **kw)  # type: ignore[arg-type]
    (directory / f"{stem}.pem").write_bytes(cert)
    (directory / f"{stem}-key.pem").write_bytes(key)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("lintcerts")
    _pair(directory, "site", ["example.test", "*.example.test", "127.0.0.1"])
    _pair(directory, "other", ["other.test"])
    _pair(
        directory,
        "expired",
        ["example.test"],
        days=10,
        not_before=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
    )
    _pair(directory, "soon", ["example.test"], days=5)
    (directory / "garbage.pem").write_text("not a certificate\n")
    return directory


def _lint(certs: Path, body: str, *, listen: str = "8443 ssl", check_fs: bool = True) -> LoadResult:
    path = certs / "webserv.conf"
    path.write_text(f"server {{\n listen {listen};\n{body}}}\n")
    return load_config(path, check_fs=check_fs, env={})


def _pair_lines(cert: str = "site", key: str = "site") -> str:
    return f" ssl_certificate {cert}.pem;\n ssl_certificate_key {key}-key.pem;\n"


def _found(result: LoadResult) -> list[tuple[str, str, int, int]]:
    return [(d.severity, d.rule, d.span.line, d.span.col) for d in result.diagnostics]


def test_a_good_pair_with_covered_names_is_clean(certs: Path) -> None:
    body = " server_name example.test www.example.test .example.test *.example.test 127.0.0.1 _;\n"
    assert _lint(certs, body + _pair_lines()).diagnostics == []


def test_a_key_that_does_not_match_is_an_error_at_the_key(certs: Path) -> None:
    result = _lint(certs, " server_name other.test;\n" + _pair_lines("other", "site"))
    assert _found(result) == [("error", "tls-key-mismatch", 5, 22)]


@pytest.mark.parametrize(
    ("cert", "key", "expected"),
    [
        ("garbage", "site", ("error", "tls-certificate-invalid", 3, 18)),
        ("missing", "site", ("error", "tls-certificate-invalid", 3, 18)),
        ("site", "garbage", ("error", "tls-key-invalid", 4, 22)),
    ],
)
def test_an_invalid_or_missing_pem_is_an_error_with_a_caret_at_the_argument(
    certs: Path, cert: str, key: str, expected: tuple[str, str, int, int]
) -> None:
    if key == "garbage":
        body = " ssl_certificate site.pem;\n ssl_certificate_key garbage.pem;\n"
    else:
        body = _pair_lines(cert, key)
    result = _lint(certs, body)
    assert _found(result) == [expected]


def test_an_encrypted_key_says_to_decrypt_it(certs: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((certs / "site-key.pem").read_bytes(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    path = tmp_path / "enc-key.pem"
    path.write_bytes(encrypted)
    result = _lint(certs, f" ssl_certificate site.pem;\n ssl_certificate_key {path};\n")
    (diag,) = result.diagnostics
    assert diag.rule == "tls-key-invalid" and "encrypted" in diag.message
    assert "openssl pkey" in (diag.hint or "")


def test_an_expired_certificate_is_an_error_and_one_expiring_soon_a_warning(certs: Path) -> None:
    body = " server_name example.test;\n"
    assert _found(_lint(certs, body + _pair_lines("expired", "expired"))) == [
        ("error", "tls-certificate-expired", 4, 18)
    ]
    soon = _lint(certs, body + _pair_lines("soon", "soon"))
    assert _found(soon) == [("warning", "tls-certificate-expiring", 4, 18)]
    assert "expires in 4 days" in soon.diagnostics[0].message


def test_names_the_certificate_does_not_cover_are_warned_about_at_the_name(certs: Path) -> None:
    body = " server_name example.test a.b.example.test *.other.test 10.0.0.1 ~^re$;\n"
    result = _lint(certs, body + _pair_lines())
    assert _found(result) == [
        ("warning", "tls-name-not-covered", 3, 27),
        ("warning", "tls-name-not-covered", 3, 44),
        ("warning", "tls-name-not-covered", 3, 57),
    ]


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("example.test", "EXAMPLE.test", True),
        ("*.example.test", "www.example.test", True),
        ("*.example.test", "example.test", False),
        ("*.example.test", "a.b.example.test", False),
        ("*.test", "example.test", False),  # no wildcard over a public suffix-like label
        ("w*.example.test", "www.example.test", False),
        ("example.test.", "example.test", True),
    ],
)
def test_rfc_6125_name_matching(pattern: str, host: str, expected: bool) -> None:
    assert name_matches(pattern, host) is expected


def test_ssl_listen_without_certificate_is_an_error_even_with_no_fs(certs: Path) -> None:
    result = _lint(certs, "", check_fs=False)
    assert _found(result) == [("error", "ssl-without-certificate", 2, 2)]


def test_file_checks_are_skipped_with_no_fs(certs: Path) -> None:
    assert _lint(certs, _pair_lines("garbage", "site"), check_fs=False).diagnostics == []


def test_ssl_on_one_listen_of_an_address_makes_all_of_it_tls(certs: Path) -> None:
    path = certs / "webserv.conf"
    path.write_text(
        "server {\n listen 8443 ssl;\n server_name example.test;\n"
        + _pair_lines()
        + "}\nserver {\n listen 8443;\n server_name www.example.test;\n}\n"
    )
    result = load_config(path, env={})
    assert _found(result) == [("warning", "mixed-ssl-listen", 8, 2)]
    assert "TLS for every server" in result.diagnostics[0].message


def test_a_non_default_server_without_certificate_gets_a_warning(certs: Path) -> None:
    path = certs / "webserv.conf"
    path.write_text(
        "server {\n listen 8443 ssl;\n server_name example.test;\n"
        + _pair_lines()
        + "}\nserver {\n listen 8443 ssl;\n server_name nocert.test;\n}\n"
    )
    result = load_config(path, env={})
    assert _found(result) == [("warning", "ssl-without-certificate", 8, 2)]
