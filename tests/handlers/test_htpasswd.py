"""htpasswd files: nginx's line format, every hash scheme webserv checks (entries made
with passlib and bcrypt, as htpasswd would), re-reading on change, the verified cache, and
file errors (403 when missing, 500 otherwise, as nginx)."""

from __future__ import annotations

import os
from pathlib import Path

import bcrypt
import pytest
from passlib.hash import (
    apr_md5_crypt,
    des_crypt,
    ldap_salted_sha1,
    ldap_sha1,
    md5_crypt,
    sha256_crypt,
    sha512_crypt,
)

from framework import htpasswd
from framework.htpasswd import (
    Entry,
    Outcome,
    UserFile,
    UserFileError,
    parse_htpasswd,
    scheme_of,
    verify,
)


def _bcrypt(password: bytes, ident: str = "2y", cost: int = 4) -> str:
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(cost)).decode()
    return hashed.replace("$2b$", f"${ident}$", 1)


HASHES = {
    "bcrypt-2y": lambda pw: _bcrypt(pw, "2y"),
    "bcrypt-2b": lambda pw: _bcrypt(pw, "2b"),
    "bcrypt-2a": lambda pw: _bcrypt(pw, "2a"),
    "sha256": lambda pw: sha256_crypt.using(rounds=5000).hash(pw),
    "sha512": lambda pw: sha512_crypt.using(rounds=5000).hash(pw),
    "apr1": lambda pw: apr_md5_crypt.hash(pw),
    "md5": lambda pw: md5_crypt.hash(pw),
    "sha": lambda pw: ldap_sha1.hash(pw),
    "ssha": lambda pw: ldap_salted_sha1.hash(pw),
    "plain": lambda pw: "{PLAIN}" + pw.decode(),
}


@pytest.mark.parametrize("kind", list(HASHES))
def test_each_supported_scheme_accepts_the_password_and_nothing_else(kind):
    hashed = HASHES[kind](b"s3cret pw")
    entry = Entry(hashed, 1, scheme_of(hashed))
    assert entry.scheme is not None
    assert verify(b"s3cret pw", entry)
    assert not verify(b"s3cret pX", entry)
    assert not verify(b"", entry)


@pytest.mark.parametrize(
    "hashed",
    [
        des_crypt.using(salt="ab").hash("pw"),  # a fixed salt: one test id per run
        "$y$j9T$F5Jx5fExrKuJdvkRtA1tZ/$J3I3WbRqSJqEEJz1x5M0eGp0aTT8AN.6Rg0gMvRPvM7",
        "$2y$05$tooshort",
        "$6$saltsalt$",
        "$apr1$x$y",
        "{SHA}not base64!",
        "{MD5}abc",
        "plaintext",
        "",
    ],
)
def test_hashes_webserv_cannot_check_never_match(hashed):
    assert scheme_of(hashed) is None
    assert not verify(b"pw", Entry(hashed, 1, None))
    assert htpasswd.unsupported_reason(hashed)


def test_bcrypt_uses_the_first_72_bytes_like_crypt_and_refuses_nul():
    long = b"p" * 72
    entry = Entry(_bcrypt(long), 1, "bcrypt")
    assert verify(long + b"anything after", entry)
    assert not verify(b"a\x00b", Entry(_bcrypt(b"a"), 1, "bcrypt"))


def test_the_line_format_is_nginxs():
    data = (
        b"# comment:with colon\n"
        b"\n"
        b"alice:{PLAIN}one:a comment field\r\n"
        b"no colon here\n"
        b"bob:{PLAIN}two\n"
        b"alice:{PLAIN}again\n"
        b"caf\xc3\xa9:{PLAIN}three"
    )
    entries, duplicates = parse_htpasswd(data)
    assert {user: e.hashed for user, e in entries.items()} == {
        b"alice": "{PLAIN}one",
        b"bob": "{PLAIN}two",
        "café".encode(): "{PLAIN}three",
    }
    assert entries[b"bob"].line == 5
    assert [(d.user, d.line, d.first) for d in duplicates] == [(b"alice", 6, 3)]


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    # a distinct mtime even on coarse-timestamp filesystems
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_outcomes_and_reload_when_the_file_changes(tmp_path):
    path = tmp_path / "users"
    _write(path, f"alice:{_bcrypt(b'one')}\nold:{des_crypt.hash('pw')}\n")
    users = UserFile(path)
    assert users.check(b"alice", b"one") is Outcome.ACCEPTED
    assert users.check(b"alice", b"two") is Outcome.MISMATCH
    assert users.check(b"carol", b"one") is Outcome.NO_SUCH_USER
    assert users.check(b"old", b"pw") is Outcome.UNSUPPORTED
    _write(path, f"alice:{_bcrypt(b'two')}\n")
    assert users.check(b"alice", b"one") is Outcome.MISMATCH  # the cached success is gone
    assert users.check(b"alice", b"two") is Outcome.ACCEPTED
    os.replace(tmp_path / "users", tmp_path / "gone")
    with pytest.raises(UserFileError) as missing:
        users.check(b"alice", b"two")
    assert missing.value.status == 403 and "No such file or directory" in missing.value.message


def test_repeated_good_credentials_are_verified_once(tmp_path, monkeypatch):
    path = tmp_path / "users"
    _write(path, f"alice:{_bcrypt(b'one')}\n")
    calls = []
    real = htpasswd.verify
    monkeypatch.setattr(htpasswd, "verify", lambda pw, e: calls.append(pw) or real(pw, e))
    users = UserFile(path)
    for _ in range(3):
        assert users.check(b"alice", b"one") is Outcome.ACCEPTED
        assert users.check(b"alice", b"bad") is Outcome.MISMATCH
    assert calls == [b"one", b"bad", b"bad", b"bad"]


def test_the_verified_cache_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(htpasswd, "MAX_VERIFIED", 3)
    path = tmp_path / "users"
    _write(path, "".join(f"u{i}:{{PLAIN}}p\n" for i in range(10)))
    users = UserFile(path)
    for i in range(10):
        assert users.check(f"u{i}".encode(), b"p") is Outcome.ACCEPTED
    assert len(users._verified) == 3


def test_file_errors_are_500_except_a_missing_file(tmp_path, monkeypatch):
    (tmp_path / "dir").mkdir()
    with pytest.raises(UserFileError) as not_regular:
        UserFile(tmp_path / "dir").entries()
    assert not_regular.value.status == 500
    os.mkfifo(tmp_path / "fifo")  # opened without blocking, refused
    with pytest.raises(UserFileError) as fifo:
        UserFile(tmp_path / "fifo").entries()
    assert fifo.value.status == 500
    monkeypatch.setattr(htpasswd, "MAX_FILE_SIZE", 10)
    (tmp_path / "big").write_text("alice:{PLAIN}0123456789\n")
    with pytest.raises(UserFileError) as big:
        UserFile(tmp_path / "big").entries()
    assert big.value.status == 500 and "larger than 10 bytes" in big.value.message
    with pytest.raises(UserFileError) as missing:
        UserFile(tmp_path / "none").entries()
    assert missing.value.status == 403


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_500(tmp_path):
    path = tmp_path / "users"
    path.write_text("alice:{PLAIN}x\n")
    path.chmod(0)
    with pytest.raises(UserFileError) as denied:
        UserFile(path).entries()
    assert denied.value.status == 500 and "Permission denied" in denied.value.message
