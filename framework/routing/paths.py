"""Request-target normalisation and the one URI -> filesystem mapping.

``normalize_target`` turns a raw request-target into ``(path, query)``: decoded exactly once,
dot segments removed, ``//`` merged, and refused (400) when it holds a fragment, NUL or
control bytes, an encoded ``/`` or any backslash, bad escapes, or climbs above ``/``.

``resolve_path`` maps a normalised path through a location's ``root``/``alias`` and checks
containment on the *real* path (symlinks leaving the root are refused with 404). Every
handler that touches the filesystem goes through it.

Non-UTF-8 bytes in a decoded path are kept with ``surrogateescape``, exactly like Python's
own file-system encoding, so ``os.fsencode(path)`` gives the bytes the client sent.
"""

from __future__ import annotations

import errno
import os
import re
import stat as stat_mod
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from framework.http.errors import HTTPError

if TYPE_CHECKING:
    from framework.config.models import LocationConfig

# Anything that needs the slow path: non-ASCII, controls and space, escapes, backslashes,
# fragments, dot segments (and dotfiles, harmlessly) and empty segments.
_NEEDS_WORK = re.compile(r"[^\x21-\x7e]|[%\\#]|/\.|//")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_FORBIDDEN_DECODED = frozenset(range(0x20)) | {0x7F, 0x2F, 0x5C}  # controls, '/', '\'


_targets: dict[str, tuple[str, str]] = {}  # raw target -> result, for the ones that repeat
_TARGETS_MAX = 4096
_TARGET_LEN_MAX = 256


def normalize_target(raw_target: str | bytes) -> tuple[str, str]:
    """Split and normalise a request-target into ``(path, query)``.

    ``raw_target`` is the target as received (bytes, or a str holding them 1:1 as latin-1).
    The query is returned raw (not decoded). ``*`` (for OPTIONS) is returned as ``("*", "")``.
    Raises ``HTTPError(400)`` for anything that cannot be a safe origin path.
    """
    if isinstance(raw_target, bytes):
        raw_target = raw_target.decode("latin-1")
    found = _targets.get(raw_target)
    if found is not None:
        return found
    result = _normalize(raw_target)  # raises for a bad target: those are never cached
    if len(raw_target) <= _TARGET_LEN_MAX:
        if len(_targets) >= _TARGETS_MAX:
            _targets.clear()
        _targets[raw_target] = result
    return result


def _normalize(raw_target: str) -> tuple[str, str]:
    if raw_target[:1] != "/":
        if raw_target == "*":
            return "*", ""
        raw_target = _path_of_absolute_form(raw_target)
    q = raw_target.find("?")
    if q < 0:
        path, query = raw_target, ""
    else:
        path, query = raw_target[:q], raw_target[q + 1 :]
        if "#" in query:
            raise HTTPError(400, "fragment in request target")
    if _NEEDS_WORK.search(path) is None:
        return path, query
    return _normalize_slow(path), query


def _path_of_absolute_form(target: str) -> str:
    lowered = target[:8].lower()
    if lowered.startswith("http://"):
        rest = target[7:]
    elif lowered.startswith("https://"):
        rest = target[8:]
    else:
        raise HTTPError(400, "invalid request target")
    cut = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if 0 <= i < cut:
            cut = i
    if cut == 0:
        raise HTTPError(400, "missing authority in request target")
    path = rest[cut:]
    if not path.startswith("/"):
        path = "/" + path
    return path


def _to_bytes(path: str) -> bytes:
    try:
        return path.encode("latin-1")
    except UnicodeEncodeError:  # the engine handed us already-decoded text
        return path.encode("utf-8", "surrogateescape")


def _percent_decode(data: bytes) -> bytes:
    parts = data.split(b"%")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if len(part) < 2 or part[0] not in _HEX or part[1] not in _HEX:
            raise HTTPError(400, "invalid percent-escape in request target")
        byte = int(part[:2], 16)
        if byte in _FORBIDDEN_DECODED:
            raise HTTPError(400, "forbidden encoded byte in request target")
        out.append(byte)
        out += part[2:]
    return bytes(out)


def _normalize_slow(path: str) -> str:
    data = _to_bytes(path)
    for byte in (0x23, 0x5C):  # '#', '\'
        if byte in data:
            raise HTTPError(400, "fragment or backslash in request target")
    if any(b < 0x21 or b == 0x7F for b in data):
        raise HTTPError(400, "control byte in request target")
    if b"%" in data:
        data = _percent_decode(data)
    text = data.decode("utf-8", "surrogateescape")
    return remove_dot_segments(text)


def remove_dot_segments(path: str) -> str:
    """Merge ``//``, drop ``.`` and resolve ``..`` in an absolute path (400 above ``/``).
    A trailing slash (or a trailing ``.``/``..`` segment) leaves the result ending in ``/``."""
    out: list[str] = []
    segments = path.split("/")
    for seg in segments:
        if seg == "" or seg == ".":
            continue
        if seg == "..":
            if not out:
                raise HTTPError(400, "request target climbs above the root")
            out.pop()
        else:
            out.append(seg)
    last = segments[-1]
    trailing = last in ("", ".", "..")
    if not out:
        return "/"
    return "/" + "/".join(out) + ("/" if trailing else "")


# -- URI -> filesystem ------------------------------------------------------------------------

_DIR_CACHE_TTL = 1.0
_DIR_CACHE_MAX = 4096
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO must not hang us


class _Base:
    """A location's root/alias, precomputed once: the lexical base string, its real path,
    how URIs map onto it, and the directories already checked to lie inside it."""

    __slots__ = ("location", "lexical", "real", "strip", "dirs")

    def __init__(self, location: LocationConfig) -> None:
        self.location = location
        alias = location.alias
        self.lexical = str(alias if alias is not None else location.root).rstrip("/") or "/"
        self.real = os.path.realpath(self.lexical)
        # length of the URI prefix that alias replaces (None: root semantics)
        self.strip: int | None = None
        if alias is not None and location.modifier in ("", "^~", "="):
            self.strip = len(location.pattern)
        self.dirs: dict[str, float] = {}  # directory -> expiry of its "inside" verdict

    def map(self, path: str) -> str:
        if self.strip is None:
            if self.location.alias is None:
                return self.lexical + path if self.lexical != "/" else path
            rest = path  # alias in a regex location: no prefix to strip
        else:
            rest = path[self.strip :]
        # `location /files` + `alias /x/` + `/files../etc` would climb ("alias traversal")
        if ".." in rest and ".." in rest.split("/"):
            raise HTTPError(404)
        if not rest:
            return self.lexical
        if rest[0] != "/":
            rest = "/" + rest
        return self.lexical + rest if self.lexical != "/" else rest

    def parent_inside(self, bare: str) -> bool:
        """True when ``bare`` (no trailing slash) is the base or its directory really lies
        inside the base (verdicts cached for a second)."""
        if bare == self.lexical:
            return True
        parent = bare.rpartition("/")[0] or "/"
        if parent == self.lexical:
            return True
        dirs = self.dirs
        now = time.monotonic()
        expiry = dirs.get(parent)
        if expiry is not None and expiry > now:
            return True
        if not _contained(os.path.realpath(parent), self.real):
            return False
        if len(dirs) >= _DIR_CACHE_MAX:
            dirs.clear()
        dirs[parent] = now + _DIR_CACHE_TTL
        return True


_bases: dict[int, _Base] = {}


def _base(location: LocationConfig) -> _Base:
    base = _bases.get(id(location))
    if base is None or base.location is not location:
        if len(_bases) > 4096:
            _bases.clear()
        base = _bases[id(location)] = _Base(location)
    return base


def real_base(location: LocationConfig) -> str:
    """The real path of ``location``'s alias (or root), computed once and cached."""
    return _base(location).real


def map_path(location: LocationConfig, path: str) -> Path:
    """Lexical mapping of a normalised URI path: ``root + path``, or for an ``alias``
    location ``alias + (path minus the location prefix)``. No filesystem access (404 for an
    alias mapping that would climb out with ``..``)."""
    return Path(_base(location).map(path))


def fs_mapper(location: LocationConfig) -> Callable[[str], str]:
    """``map_path`` for one location as a function returning a plain string (the hot
    path's form: look the location up once, not per request)."""
    return _base(location).map


def _contained(real: str, base: str) -> bool:
    return real == base or os.path.commonpath((real, base)) == base


def resolve_path(location: LocationConfig, path: str, *, must_exist: bool = True) -> Path:
    """Map ``path`` (normalised URI path) to a file under the location's root/alias and
    enforce containment on the real path.

    Raises ``HTTPError(404)`` when the target (or, for ``must_exist=False``, its real parent
    directory) lies outside the root -- e.g. through a symlink -- or, with ``must_exist``,
    when it does not exist; ``HTTPError(403)`` when a directory on the way is not
    searchable. With ``must_exist=False`` a missing target is fine as long as its parent
    directory is inside (uploads). The returned path is the lexical one.
    """
    fs_path, _ = resolve_stat(location, path, must_exist=must_exist)
    return Path(fs_path)


def resolve_stat(
    location: LocationConfig, path: str, *, must_exist: bool = True
) -> tuple[str, os.stat_result | None]:
    """Like ``resolve_path`` but returns ``(path_str, stat)`` (stat following symlinks;
    None when the target is missing and ``must_exist`` is False)."""
    base = _base(location)
    fs_path = base.map(path)
    # lstat of "name/" would follow a final symlink: look at the name itself
    bare = fs_path.rstrip("/") or "/"
    try:
        st = os.lstat(bare)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _os_error(exc) from None
    if st is None:
        if must_exist or not base.parent_inside(bare):
            raise HTTPError(404)
        return fs_path, None
    if stat_mod.S_ISLNK(st.st_mode):
        real = os.path.realpath(bare)
        if not _contained(real, base.real):
            raise HTTPError(404)
        try:
            st = os.stat(real)
        except FileNotFoundError:  # dangling link
            if must_exist:
                raise HTTPError(404) from None
            return fs_path, None
        except OSError as exc:
            raise _os_error(exc) from None
    elif not base.parent_inside(bare):
        raise HTTPError(404)
    if fs_path[-1] == "/" and not stat_mod.S_ISDIR(st.st_mode):
        raise HTTPError(404)  # "file/" is not a directory
    return fs_path, st


class OpenFile:
    """A bare file descriptor with ``fileno()``/``close()`` -- what ``FileBody`` needs for
    sendfile, without a Python file object's cost. Closed on garbage collection too."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def __del__(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1


def open_file(location: LocationConfig, path: str) -> tuple[OpenFile | None, str, os.stat_result]:
    """Open the file ``path`` maps to for reading, with containment enforced.

    Returns ``(file, fs_path, stat)``; ``file`` is None when the target is a directory (or
    not a regular file), which the caller handles from ``stat``. The final component is
    opened without following symlinks; a symlink goes through the full real-path check.
    Raises ``HTTPError`` 404 (missing, outside) or 403 (not readable).
    """
    base = _base(location)
    if path[-1:] == "/":
        fs_path, st = resolve_stat(location, path)
        assert st is not None
        return None, fs_path, st
    fs_path = base.map(path)
    try:
        fd = os.open(fs_path, _OPEN_FLAGS | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise _os_error(exc) from None
        fs_path, st = resolve_stat(location, path)  # a symlink: check where it leads
        assert st is not None
        if not stat_mod.S_ISREG(st.st_mode):
            return None, fs_path, st
        try:
            fd = os.open(os.path.realpath(fs_path), _OPEN_FLAGS)
        except OSError as err:
            raise _os_error(err) from None
    file = OpenFile(fd)
    try:
        st = os.fstat(fd)
        if not base.parent_inside(fs_path.rstrip("/") or "/"):
            raise HTTPError(404)
    except BaseException:
        file.close()
        raise
    if not stat_mod.S_ISREG(st.st_mode):
        file.close()
        return None, fs_path, st
    return file, fs_path, st


def _os_error(exc: OSError) -> HTTPError | OSError:
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return exc  # out of fds is not "missing": the pipeline answers 503
    if exc.errno in (errno.EACCES, errno.EPERM):
        return HTTPError(403)
    return HTTPError(404)
