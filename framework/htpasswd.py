"""htpasswd files for ``auth_basic_user_file``: parsing, hash schemes, verification.

The format is nginx's: one ``user:hash[:comment]`` per line, ``#`` starts a comment line,
lines without ``:`` are ignored, the first line naming a user wins. Hashes are checked with
passlib (the ``libpass`` distribution) and ``bcrypt``, never by hand:

========================  ============================================
``$2y$`` ``$2b$`` ``$2a$``  bcrypt (``htpasswd -B``); only the first 72 bytes of a
                          password count, as with ``crypt()``
``$5$`` ``$6$``            SHA-256 / SHA-512 crypt
``$apr1$`` ``$1$``          Apache MD5 (``htpasswd -m``), MD5 crypt
``{SHA}`` ``{SSHA}``        LDAP SHA-1, salted SHA-1 (``htpasswd -s``)
``{PLAIN}``                plain text (nginx's scheme; compared in constant time)
========================  ============================================

Anything else (DES crypt, yescrypt ``$y$``, scrypt ``$7$``...) is refused by
``validate-config`` and never matches at run time.

``UserFile`` re-reads its file when ``stat`` shows another inode, size or mtime (one
``stat`` per request; nginx re-reads the whole file every time), and remembers successful
checks in a small LRU keyed by a digest of the credentials and the file's identity, so a
client sending the same good credentials again costs no second bcrypt run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from passlib.context import CryptContext  # type: ignore[import-untyped]

from framework.bounded_cache import BoundedCache

MAX_FILE_SIZE = 4 * 1024 * 1024  # ~60 000 bcrypt users; a larger file is an error
MAX_VERIFIED = 1024  # successful checks remembered per file
BCRYPT_MAX_PASSWORD = 72  # crypt(3) and `htpasswd -B` ignore what follows

# identify() and verify() for every scheme webserv checks; {PLAIN} is handled apart
_CONTEXT = CryptContext(
    schemes=[
        "bcrypt",
        "sha512_crypt",
        "sha256_crypt",
        "apr_md5_crypt",
        "md5_crypt",
        "ldap_salted_sha1",
        "ldap_sha1",
    ]
)
SCHEME_NAMES = {
    "bcrypt": "bcrypt",
    "sha512_crypt": "SHA-512 crypt",
    "sha256_crypt": "SHA-256 crypt",
    "apr_md5_crypt": "Apache MD5 (apr1)",
    "md5_crypt": "MD5 crypt",
    "ldap_salted_sha1": "{SSHA}",
    "ldap_sha1": "{SHA}",
    "plain": "{PLAIN}",
}
_DES = re.compile(r"[./0-9A-Za-z]{13}")
_CRYPT_ID = re.compile(r"\$([^$]{1,16})\$")
_KNOWN_UNSUPPORTED = {
    "y": "yescrypt ($y$)",
    "gy": "gost-yescrypt ($gy$)",
    "7": "scrypt ($7$)",
    "argon2i": "argon2 ($argon2i$)",
    "argon2id": "argon2 ($argon2id$)",
    "argon2d": "argon2 ($argon2d$)",
    "sha1": "SHA-1 crypt ($sha1$)",
    "md5": "Sun MD5 crypt ($md5$)",
}


def scheme_of(hashed: str) -> str | None:
    """The scheme of an htpasswd hash that webserv can check (a key of ``SCHEME_NAMES``),
    or None."""
    if hashed.startswith("{PLAIN}"):
        return "plain"
    handler = _CONTEXT.identify(hashed, resolve=True, required=False)
    if handler is None:
        return None
    try:  # a recognised prefix with a malformed body (or no checksum) cannot match
        parsed = handler.from_string(hashed)
    except ValueError:
        return None
    if not getattr(parsed, "checksum", True):
        return None
    return str(handler.name)


def unsupported_reason(hashed: str) -> str:
    """Why ``hashed`` (for which ``scheme_of`` is None) cannot be checked, for messages."""
    if not hashed:
        return "the password field is empty"
    if _DES.fullmatch(hashed):
        return "DES crypt is not supported (8-character passwords, broken)"
    if hashed.startswith("_") and len(hashed) == 20:
        return "BSDi extended DES crypt is not supported"
    match = _CRYPT_ID.match(hashed)
    if match is not None:
        ident = match.group(1)
        known = _KNOWN_UNSUPPORTED.get(ident)
        if known is not None:
            return f"{known} is not supported"
        if ident in ("2a", "2b", "2y", "5", "6", "apr1", "1"):
            return f"malformed ${ident}$ hash"
        return f"unknown hash scheme ${ident}$"
    if hashed.startswith("{"):
        end = hashed.find("}")
        scheme = hashed[: end + 1] if end > 0 else hashed[:10]
        if scheme in ("{SHA}", "{SSHA}"):
            return f"malformed {scheme} hash"
        return f"unknown hash scheme {scheme}"
    return "not a known hash (plain text? write {PLAIN}password, or hash it)"


@dataclass(frozen=True, slots=True)
class Entry:
    """One user's line: the hash, its line number and its scheme (None: unsupported)."""

    hashed: str
    line: int
    scheme: str | None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A later line naming a user already defined (the first line wins)."""

    user: bytes
    line: int
    first: int


def parse_htpasswd(data: bytes) -> tuple[dict[bytes, Entry], list[Duplicate]]:
    """The entries of an htpasswd file (first definition of each user) and the later
    lines that define a user again."""
    entries: dict[bytes, Entry] = {}
    duplicates: list[Duplicate] = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = raw.split(b"\r", 1)[0]  # nginx ends the password at CR too
        if not line or line.startswith(b"#"):
            continue
        user, colon, rest = line.partition(b":")
        if not colon:
            continue
        hashed_bytes = rest.split(b":", 1)[0]
        try:
            hashed = hashed_bytes.decode("ascii")
            scheme = scheme_of(hashed)
        except UnicodeDecodeError:
            hashed, scheme = hashed_bytes.decode("latin-1"), None
        first = entries.get(user)
        if first is not None:
            duplicates.append(Duplicate(user, number, first.line))
            continue
        entries[user] = Entry(hashed, number, scheme)
    return entries, duplicates


def verify(password: bytes, entry: Entry) -> bool:
    """Whether ``password`` matches ``entry`` (False for an unsupported scheme or a
    password the scheme cannot take, e.g. a NUL byte for bcrypt)."""
    scheme = entry.scheme
    if scheme is None:
        return False
    if scheme == "plain":
        return hmac.compare_digest(password, entry.hashed[7:].encode("latin-1"))
    if scheme == "bcrypt":
        password = password[:BCRYPT_MAX_PASSWORD]
    try:
        return bool(_CONTEXT.verify(password, entry.hashed))
    except ValueError:  # passlib's PasswordValueError (NUL for bcrypt...), a bad hash
        return False


class Outcome(Enum):
    """The result of checking one user's credentials."""

    ACCEPTED = "accepted"
    NO_SUCH_USER = "no such user"
    MISMATCH = "password mismatch"
    UNSUPPORTED = "unsupported hash"


class UserFileError(Exception):
    """The user file cannot be used: ``status`` is nginx's answer (403 when it does not
    exist, 500 otherwise), ``message`` goes to the error log."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


FileIdentity = tuple[int, int, int, int, int]


def _identity(st: os.stat_result) -> FileIdentity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_user_file(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes of the htpasswd file at ``path`` and its ``fstat``: opened without
    blocking (a FIFO cannot hang the worker), a regular file of at most
    ``MAX_FILE_SIZE`` bytes. Raises ``UserFileError``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        status = 403 if exc.errno == 2 else 500
        raise UserFileError(
            status, f'open() "{path}" failed ({exc.errno}: {exc.strerror})'
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserFileError(500, f'"{path}" is not a regular file')
        if st.st_size > MAX_FILE_SIZE:
            raise UserFileError(
                500, f'"{path}" is larger than {MAX_FILE_SIZE} bytes ({st.st_size})'
            )
        chunks = []
        left = MAX_FILE_SIZE + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise UserFileError(500, f'"{path}" is larger than {MAX_FILE_SIZE} bytes')
        return b"".join(chunks), st
    except OSError as exc:
        raise UserFileError(500, f'read() "{path}" failed ({exc.errno}: {exc.strerror})') from None
    finally:
        os.close(fd)


class UserFile:
    """One htpasswd file as a worker uses it: parsed once per version of the file,
    successful checks remembered (bounded)."""

    __slots__ = ("path", "_identity", "_entries", "_verified")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity: FileIdentity | None = None
        self._entries: dict[bytes, Entry] = {}
        self._verified: BoundedCache[bytes, bool] = BoundedCache(MAX_VERIFIED)

    def entries(self) -> dict[bytes, Entry]:
        """The current entries, re-read if the file changed. Raises ``UserFileError``."""
        try:
            st = os.stat(self.path)
        except OSError as exc:
            status = 403 if exc.errno == 2 else 500
            self._forget()
            raise UserFileError(
                status, f'open() "{self.path}" failed ({exc.errno}: {exc.strerror})'
            ) from None
        if self._identity != _identity(st):
            data, st = read_user_file(self.path)
            self._entries, _ = parse_htpasswd(data)
            self._identity = _identity(st)  # of what was read: a later change re-reads
            self._verified.clear()
        return self._entries

    def check(self, user: bytes, password: bytes) -> Outcome:
        """Check ``user``/``password`` against the file. Raises ``UserFileError``."""
        entry = self.entries().get(user)
        if entry is None:
            return Outcome.NO_SUCH_USER
        if entry.scheme is None:
            return Outcome.UNSUPPORTED
        # a digest, not the password, is what stays in memory; the file's identity is in
        # the key, so a changed file (a new hash, a removed user) never hits
        key = hashlib.sha256(
            repr(self._identity).encode() + b"\0" + user + b"\0" + password
        ).digest()
        if self._verified.get(key):
            return Outcome.ACCEPTED
        if not verify(password, entry):
            return Outcome.MISMATCH
        self._verified.put(key, True)
        return Outcome.ACCEPTED

    def _forget(self) -> None:
        self._identity = None
        self._entries = {}
        self._verified.clear()


_user_files: dict[Path, UserFile] = {}


def user_file(path: Path) -> UserFile:
    """The shared ``UserFile`` for ``path`` (one per path per process, whatever number of
    locations name it)."""
    found = _user_files.get(path)
    if found is None:
        found = _user_files[path] = UserFile(path)
    return found
