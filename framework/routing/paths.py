"""Request-target normalisation and the one URI -> filesystem mapping.

``normalize_target`` turns a raw request-target into ``(path, query)``: decoded exactly once,
dot segments removed, ``//`` merged, and refused (400) when it holds a fragment, NUL or
control bytes, an encoded ``/`` or any backslash, bad escapes, or climbs above ``/``.

``open_beneath``/``open_file``/``open_parent`` map a normalised path through a location's
``root``/``alias`` and open it beneath the root's directory fd, so containment holds at the
moment of each open (symlinks leaving the root are refused with 404, also when one is
swapped in between two requests). ``resolve_stat``/``resolve_path`` are the same check
without keeping the fd. Every handler that touches the filesystem goes through them.

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

from framework.bounded_cache import BoundedCache, bounded_memo
from framework.http.errors import HTTPError
from framework.routing.beneath import RootDir

if TYPE_CHECKING:
    from framework.config.models import LocationConfig

# Anything that needs the slow path: non-ASCII, controls and space, escapes, backslashes,
# fragments, dot segments (and dotfiles, harmlessly) and empty segments.
_NEEDS_WORK = re.compile(r"[^\x21-\x7e]|[%\\#]|/\.|//")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_FORBIDDEN_DECODED = frozenset(range(0x20)) | {0x7F, 0x2F, 0x5C}  # controls, '/', '\'


# raw targets remembered: a site's working set of paths fits (about 360 bytes an entry)
TARGET_ENTRIES = 16384
_TARGET_LEN_MAX = 256  # longer targets are normalised every time: they would fill memory


def normalize_target(raw_target: str | bytes) -> tuple[str, str]:
    """Split and normalise a request-target into ``(path, query)``.

    ``raw_target`` is the target as received (bytes, or a str holding them 1:1 as latin-1).
    The query is returned raw (not decoded). ``*`` (for OPTIONS) is returned as ``("*", "")``.
    Raises ``HTTPError(400)`` for anything that cannot be a safe origin path.
    """
    if isinstance(raw_target, bytes):
        raw_target = raw_target.decode("latin-1")
    if len(raw_target) <= _TARGET_LEN_MAX:
        return _normalize_remembered(raw_target)  # a bad target raises: never remembered
    return _normalize(raw_target)


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


_normalize_remembered = bounded_memo(TARGET_ENTRIES)(_normalize)


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

_ROOT_TTL = 1.0  # how long a location's open root directory is reused before reopening it
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO must not hang us


class _Base:
    """A location's root/alias, precomputed once: the lexical base string, how URIs map
    onto it, and its open directory.

    Only the open directory is cached (for ``_ROOT_TTL``, so a root replaced by a deploy is
    picked up): it cannot go stale dangerously, because every path is resolved beneath it
    at the moment of the open (``framework.routing.beneath``). No verdict about a path is
    ever remembered."""

    __slots__ = ("location", "lexical", "strip", "_root", "_root_expiry")

    def __init__(self, location: LocationConfig) -> None:
        self.location = location
        alias = location.alias
        self.lexical = str(alias if alias is not None else location.root).rstrip("/") or "/"
        # length of the URI prefix that alias replaces (None: root semantics)
        self.strip: int | None = None
        if alias is not None and location.modifier in ("", "^~", "="):
            self.strip = len(location.pattern)
        self._root: RootDir | None = None
        self._root_expiry = 0.0

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

    def relative(self, fs_path: str) -> str:
        """``fs_path`` (a result of ``map``) relative to the base, without slashes around."""
        rest = fs_path if self.lexical == "/" else fs_path[len(self.lexical) :]
        return rest.strip("/")

    def root(self) -> RootDir:
        """The base directory, open (reopened after ``_ROOT_TTL``); raises ``OSError``."""
        root = self._root
        now = time.monotonic()
        if root is None or now >= self._root_expiry:
            self._root = None
            root = self._root = RootDir(self.lexical)
            self._root_expiry = now + _ROOT_TTL
        return root

    def open(self, path: str, flags: int) -> tuple[int, str]:
        """``(fd, fs_path)`` of the normalised URI ``path``, opened beneath the base (a
        trailing slash requires a directory). Raises ``OSError`` (``EXDEV``: it leaves)."""
        if self.location.alias is None:  # root: the URI path is the path below the base
            lexical = self.lexical
            fs_path = lexical + path if lexical != "/" else path
            rel = path.strip("/")
        else:
            fs_path = self.map(path)
            rel = self.relative(fs_path)
        if fs_path[-1] == "/":
            flags |= os.O_DIRECTORY
        if not rel:  # the base itself, which may be a file (`location = /x { alias f; }`)
            return os.open(self.lexical, flags | os.O_CLOEXEC), fs_path
        root = self._root
        if root is None or time.monotonic() >= self._root_expiry:
            root = self.root()
        return root.open(rel, flags), fs_path

    def open_file(self, path: str) -> tuple[OpenFile | None, str, os.stat_result]:
        """``open_file`` for this base (the static handler's hot path)."""
        if path[-1:] == "/":
            fs_path, st = resolve_stat(self.location, path)
            assert st is not None
            return None, fs_path, st
        try:
            fd, fs_path = self.open(path, _OPEN_FLAGS)
        except OSError as exc:
            if exc.errno != errno.EACCES:
                raise _os_error(exc) from None
            # a directory that may be searched but not read is still a directory (index, 301)
            fs_path, st = resolve_stat(self.location, path)
            if st is None or not stat_mod.S_ISDIR(st.st_mode):
                raise HTTPError(403) from None
            return None, fs_path, st
        try:
            st = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        if not stat_mod.S_ISREG(st.st_mode):
            os.close(fd)
            return None, fs_path, st
        return OpenFile(fd), fs_path, st


_bases: BoundedCache[int, _Base] = BoundedCache(4096)  # by id(location): checked below


def _base(location: LocationConfig) -> _Base:
    base = _bases.get(id(location))
    if base is None or base.location is not location:
        base = _Base(location)
        _bases.put(id(location), base)
    return base


def map_path(location: LocationConfig, path: str) -> Path:
    """Lexical mapping of a normalised URI path: ``root + path``, or for an ``alias``
    location ``alias + (path minus the location prefix)``. No filesystem access (404 for an
    alias mapping that would climb out with ``..``)."""
    return Path(_base(location).map(path))


def fs_mapper(location: LocationConfig) -> Callable[[str], str]:
    """``map_path`` for one location as a function returning a plain string (the hot
    path's form: look the location up once, not per request)."""
    return _base(location).map


def open_beneath(location: LocationConfig, path: str, flags: int) -> tuple[int, str]:
    """Open what the normalised URI ``path`` maps to, beneath the location's root/alias,
    with ``flags`` (``O_CLOEXEC`` added; ``O_DIRECTORY`` too for a trailing slash).

    Containment holds at the moment of the open: symlinks are followed only while they stay
    inside the root. Returns ``(fd, fs_path)``, the caller closes ``fd``. Raises
    ``HTTPError`` 404 (missing, outside, not a directory) or 403 (not permitted).
    """
    try:
        return _base(location).open(path, flags)
    except OSError as exc:
        raise _os_error(exc) from None


def open_parent(location: LocationConfig, path: str) -> tuple[int, str]:
    """``(dir_fd, name)``: the directory holding the target of ``path``, opened beneath
    the root (an ``O_PATH`` fd for ``*at`` calls, the caller closes it), and the target's
    name in it. ``HTTPError`` 404/403 as ``open_beneath``; 404 for the root itself."""
    base = _base(location)
    rel = base.relative(base.map(path))
    parent, _, name = rel.rpartition("/")
    if not name:
        raise HTTPError(404)
    try:
        return base.root().open(parent, os.O_PATH | os.O_DIRECTORY), name
    except OSError as exc:
        raise _os_error(exc) from None


def resolve_path(location: LocationConfig, path: str, *, must_exist: bool = True) -> Path:
    """Map ``path`` (normalised URI path) to a file under the location's root/alias and
    enforce containment (resolved beneath the root's directory, see ``open_beneath``).

    Raises ``HTTPError(404)`` when the target lies outside the root -- e.g. through a
    symlink -- or, with ``must_exist``, when it does not exist; ``HTTPError(403)`` when a
    directory on the way is not searchable. With ``must_exist=False`` a missing target (or
    directory on the way) is fine as long as the lookup stayed inside (uploads). The
    returned path is the lexical one: this is only a check, so a caller that then opens
    the file must use ``open_beneath`` instead.
    """
    fs_path, _ = resolve_stat(location, path, must_exist=must_exist)
    return Path(fs_path)


def resolve_stat(
    location: LocationConfig, path: str, *, must_exist: bool = True
) -> tuple[str, os.stat_result | None]:
    """Like ``resolve_path`` but returns ``(path_str, stat)`` (stat following symlinks
    that stay inside; None when the target is missing and ``must_exist`` is False)."""
    base = _base(location)
    try:
        fd, fs_path = base.open(path, os.O_PATH)
    except OSError as exc:
        # ENOENT: the lookup met a missing name while still beneath the root (leaving it
        # is EXDEV), which is fine for a target about to be created
        if must_exist or exc.errno != errno.ENOENT:
            raise _os_error(exc) from None
        return base.map(path), None
    try:
        return fs_path, os.fstat(fd)
    finally:
        os.close(fd)


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
    """Open the file ``path`` maps to for reading, beneath the root (``open_beneath``).

    Returns ``(file, fs_path, stat)``; ``file`` is None when the target is a directory (or
    not a regular file), which the caller handles from ``stat``. Serve from ``file``: the
    path may lead elsewhere a moment later. Raises ``HTTPError`` 404 (missing, outside) or
    403 (not readable).
    """
    return _base(location).open_file(path)


def file_opener(
    location: LocationConfig,
) -> Callable[[str], tuple[OpenFile | None, str, os.stat_result]]:
    """``open_file`` for one location (the hot path's form, like ``fs_mapper``)."""
    return _base(location).open_file


def _os_error(exc: OSError) -> HTTPError | OSError:
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return exc  # out of fds is not "missing": the pipeline answers 503
    if exc.errno in (errno.EACCES, errno.EPERM):
        return HTTPError(403)
    return HTTPError(404)  # ENOENT, ENOTDIR, EXDEV (outside the root), ELOOP, ...
