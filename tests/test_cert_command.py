"""``webserv cert NAME...``: the files it writes, their contents, what it prints, and that
it never overwrites without --force."""

from __future__ import annotations

import ipaddress
import os
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from framework.cli import main


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_writes_a_p256_certificate_with_every_name_as_a_san(in_tmp: Path, capsys) -> None:
    assert main(["cert", "example.test", "www.example.test", "127.0.0.1", "::1"]) == 0
    cert = x509.load_pem_x509_certificate((in_tmp / "example.test.pem").read_bytes())
    key = load_pem_private_key((in_tmp / "example.test-key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert cert.public_key() == key.public_key()
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["example.test", "www.example.test"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 365
    assert stat.S_IMODE(os.stat(in_tmp / "example.test-key.pem").st_mode) == 0o600
    out = capsys.readouterr().out
    assert f"ssl_certificate     {in_tmp / 'example.test.pem'};" in out
    assert f"ssl_certificate_key {in_tmp / 'example.test-key.pem'};" in out
    assert "curl --cacert" in out and "mkcert" in out


def test_a_python_client_trusting_the_file_verifies_the_name(in_tmp: Path) -> None:
    assert main(["cert", "localhost", "127.0.0.1"]) == 0
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(in_tmp / "localhost.pem", in_tmp / "localhost-key.pem")
    client = ssl.create_default_context(cafile=str(in_tmp / "localhost.pem"))
    for name in ("localhost", "127.0.0.1"):
        c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
        cli = client.wrap_bio(c_in, c_out, server_hostname=name)
        srv = server.wrap_bio(s_in, s_out, server_side=True)
        for _ in range(10):  # drive both ends of the handshake in memory
            for end in (cli, srv):
                try:
                    end.do_handshake()
                except ssl.SSLWantReadError:
                    pass
            s_in.write(c_out.read())
            c_in.write(s_out.read())
        cli.do_handshake()
        assert cli.getpeercert()["subjectAltName"]


def test_files_can_be_named_and_the_validity_set(in_tmp: Path) -> None:
    argv = ["cert", "a.test", "--cert-file", "c.pem", "--key-file", "k.pem", "--days", "30"]
    assert main(argv) == 0
    cert = x509.load_pem_x509_certificate((in_tmp / "c.pem").read_bytes())
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 30
    assert (in_tmp / "k.pem").exists()


def test_refuses_to_overwrite_without_force(in_tmp: Path, capsys) -> None:
    (in_tmp / "a.test-key.pem").write_text("precious")
    assert main(["cert", "a.test"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (in_tmp / "a.test-key.pem").read_text() == "precious"
    assert not (in_tmp / "a.test.pem").exists()
    assert main(["cert", "a.test", "--force"]) == 0
    assert (in_tmp / "a.test-key.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")


@pytest.mark.parametrize(
    "argv",
    [
        ["cert", "bad name"],
        ["cert", "a..test"],
        ["cert", "a.test", "--days", "0"],
        ["cert", "a.test", "--cert-file", "x.pem", "--key-file", "x.pem"],
    ],
)
def test_bad_arguments_write_nothing(in_tmp: Path, argv: list[str], capsys) -> None:
    assert main(argv) == 1
    assert capsys.readouterr().err.startswith("webserv cert:")
    assert list(in_tmp.iterdir()) == []


def test_a_wildcard_name_is_allowed_and_names_the_files_plainly(in_tmp: Path) -> None:
    assert main(["cert", "*.example.test"]) == 0
    cert = x509.load_pem_x509_certificate((in_tmp / "_wildcard.example.test.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["*.example.test"]
