"""``webserv cert NAME...``: a self-signed certificate and key for development.

The certificate names every NAME as a subjectAltName (IP addresses as IP SANs), the key is
EC P-256, and the files are PEM. For a certificate that browsers trust without clicking
through a warning, use mkcert (https://github.com/FiloSottile/mkcert), which installs a
local CA in the system and browser trust stores.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DAYS = 365


def subject_alt_names(names: list[str]) -> list[x509.GeneralName]:
    """A ``DNSName`` per host name and an ``IPAddress`` per literal IP (v4 or v6)."""
    result: list[x509.GeneralName] = []
    for name in names:
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
        except ValueError:
            result.append(x509.DNSName(name.lower()))
    return result


def check_name(name: str) -> str | None:
    """Why ``name`` cannot go into a certificate, or None."""
    try:
        ipaddress.ip_address(name.strip("[]"))
        return None
    except ValueError:
        pass
    label_text = name[2:] if name.startswith("*.") else name
    if not label_text or len(name) > 253:
        return "not a host name"
    for label in label_text.split("."):
        if not label or len(label) > 63:
            return "has an empty or too long label"
        if label.startswith("-") or label.endswith("-"):
            return "has a label starting or ending with '-'"
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in label):
            return "has characters other than letters, digits and '-' (use the xn-- form)"
    return None


def make_self_signed(
    names: list[str],
    days: int = DEFAULT_DAYS,
    not_before: datetime.datetime | None = None,
) -> tuple[bytes, bytes]:
    """A self-signed certificate for ``names`` valid ``days`` days from ``not_before`` (now
    by default) and its EC P-256 private key, both PEM: ``(certificate, key)``."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "webserv development certificate"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(subject_alt_names(names)), critical=False)
        # a leaf that is its own trust anchor (curl --cacert, a trust store): not a CA, so
        # trusting it cannot vouch for any other certificate
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def add_cert_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``cert`` subcommand's arguments."""
    parser.add_argument("names", nargs="+", metavar="NAME", help="DNS names or IP addresses")
    parser.add_argument(
        "--cert-file", type=Path, help="where to write the certificate (default: NAME.pem)"
    )
    parser.add_argument(
        "--key-file", type=Path, help="where to write the private key (default: NAME-key.pem)"
    )
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"days the certificate is valid (default: {DEFAULT_DAYS})",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


def _file_stem(name: str) -> str:
    stem = name.strip("[]").replace("*", "_wildcard").replace(":", "_").replace("/", "_")
    return stem or "cert"


def _write(path: Path, data: bytes, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def command_cert(args: argparse.Namespace) -> int:
    """Write the certificate and key; the exit code (0 written, 1 refused or failed)."""
    names: list[str] = list(dict.fromkeys(args.names))
    for name in names:
        problem = check_name(name)
        if problem is not None:
            print(f"webserv cert: {name!r} {problem}", file=sys.stderr)
            return 1
    if args.days < 1:
        print("webserv cert: --days must be at least 1", file=sys.stderr)
        return 1
    stem = _file_stem(names[0])
    cert_file: Path = args.cert_file or Path(f"{stem}.pem")
    key_file: Path = args.key_file or Path(f"{stem}-key.pem")
    if cert_file.resolve() == key_file.resolve():
        print("webserv cert: --cert-file and --key-file name the same file", file=sys.stderr)
        return 1
    if not args.force:
        existing = [str(p) for p in (cert_file, key_file) if p.exists()]
        if existing:
            print(
                f"webserv cert: {', '.join(existing)} already exists; not overwritten "
                "(use --force to replace)",
                file=sys.stderr,
            )
            return 1
    cert_pem, key_pem = make_self_signed(names, args.days)
    try:
        _write(key_file, key_pem, 0o600, args.force)
        _write(cert_file, cert_pem, 0o644, args.force)
    except OSError as exc:
        print(f"webserv cert: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    cert_abs, key_abs = cert_file.resolve(), key_file.resolve()
    print(
        f"wrote {cert_file} (certificate for {', '.join(names)}, {args.days} days) "
        f"and {key_file} (private key, mode 600)\n"
        "\n"
        "Add to the server block:\n"
        "    listen 443 ssl;\n"
        f"    ssl_certificate     {cert_abs};\n"
        f"    ssl_certificate_key {key_abs};\n"
        "\n"
        "It is self-signed: clients must be told to trust it, e.g.\n"
        f"    curl --cacert {cert_abs} https://{names[0]}/\n"
        "or add it to the system trust store (Debian/Ubuntu: copy it to\n"
        "/usr/local/share/ca-certificates/NAME.crt and run update-ca-certificates).\n"
        "For certificates browsers trust without warnings, use mkcert instead:\n"
        f"    mkcert -install && mkcert {' '.join(names)}"
    )
    return 0
