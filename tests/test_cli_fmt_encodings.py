"""``webserv fmt`` reads a file's bytes the way ``validate-config`` does: Latin-1 in a
comment is formatted and written back byte for byte, non-UTF-8 bytes elsewhere and binary
files are diagnosed at file:line:col with exit 1, never a UnicodeDecodeError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def webserv(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "framework", *args], capture_output=True, timeout=60, cwd=cwd
    )


LATIN1_COMMENTS = b"# caf\xe9 \xa9 2024\nserver {  listen 8080; # na\xefve\n  # \xff\n}\n"
FORMATTED = b"# caf\xe9 \xa9 2024\nserver {\n    listen 8080; # na\xefve\n    # \xff\n}\n"


def test_latin1_comments_are_formatted_with_their_bytes_unchanged(tmp_path: Path) -> None:
    (tmp_path / "site.conf").write_bytes(LATIN1_COMMENTS)
    printed = webserv("fmt", "site.conf", cwd=tmp_path)
    assert (printed.returncode, printed.stdout, printed.stderr) == (0, FORMATTED, b"")
    assert webserv("fmt", "--check", "site.conf", cwd=tmp_path).returncode == 1
    diff = webserv("fmt", "--diff", "site.conf", cwd=tmp_path)
    assert diff.returncode == 0 and b"+    # \xff\n" in diff.stdout
    assert webserv("fmt", "--write", "site.conf", cwd=tmp_path).returncode == 0
    assert (tmp_path / "site.conf").read_bytes() == FORMATTED
    assert webserv("fmt", "--check", "site.conf", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("data", "where", "rule"),
    [
        (b'server {\n  root "/srv/\xe9t\xe9";\n}\n', "site.conf:2:14:", "invalid-utf8"),
        (b"server { listen 80; }\x00\x01\x02", "site.conf:1:22:", "binary-file"),
    ],
)
def test_bytes_fmt_cannot_keep_are_diagnosed_like_validate_config(
    tmp_path: Path, data: bytes, where: str, rule: str
) -> None:
    (tmp_path / "site.conf").write_bytes(data)
    for flags in ((), ("--write",), ("--check",)):
        proc = webserv("fmt", *flags, "site.conf", cwd=tmp_path)
        err = proc.stderr.decode()
        assert (proc.returncode, proc.stdout) == (1, b""), err
        assert err.startswith(f"{where} error[{rule}]") and "Traceback" not in err
        assert "UnicodeDecodeError" not in err and "codec" not in err
        assert (tmp_path / "site.conf").read_bytes() == data  # never rewritten
    check = webserv("validate-config", "--no-fs", "site.conf", cwd=tmp_path)
    assert check.returncode == 1 and f"{where} error[{rule}]" in check.stdout.decode()
