"""Opening a path beneath a directory, with containment decided at the moment of the open.

A check such as "the real path of X lies inside the root", followed by ``open(X)``, is a race:
a directory on the way can be swapped for a symlink in between. ``RootDir.open`` instead
resolves the path relative to the root's directory fd in the same system call that opens it:

- on Linux >= 5.6, ``openat2(2)`` with ``RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`` (the kernel
  refuses with ``EXDEV`` any ``..`` or symlink that would leave the directory);
- elsewhere (no ``openat2``, or a seccomp filter answering ``ENOSYS``/``EPERM``) a walk that
  opens one component at a time with ``O_NOFOLLOW`` from the previous directory's fd and
  resolves symlinks itself.

Symlinks that stay inside the root are followed, ones that leave it fail with ``EXDEV``.
``openat2`` refuses every absolute symlink, so an ``EXDEV`` from it is retried with the walk,
which accepts an absolute target naming a place under the root (by the root's real or
configured path) and continues from the root's fd, never from the path.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat as stat_mod
from collections.abc import Callable

from framework.bounded_cache import BoundedCache

SYS_OPENAT2 = 437  # the same number on every Linux architecture (new syscall table)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_BENEATH = 0x08
MAX_SYMLINKS = 40  # Linux's own limit per lookup
_EAGAIN_RETRIES = 4  # openat2 says EAGAIN when a concurrent rename made ".." unverifiable
_DIR_STEP = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NOT_FOLLOWED = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)  # what O_NOFOLLOW says of a link


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_Openat2 = Callable[[int, str, int, int], int]


def _load_openat2() -> _Openat2 | None:
    """The ``openat2`` wrapper, or None when the kernel (or a sandbox) does not offer it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
    except (OSError, AttributeError):
        return None
    syscall.restype = ctypes.c_long
    syscall.argtypes = [
        ctypes.c_long,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_size_t,
    ]
    # one prepared struct per (flags, mode), passed by address: this runs per request
    hows: BoundedCache[int, tuple[_OpenHow, int]] = BoundedCache(64)
    size = ctypes.sizeof(_OpenHow)
    resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS

    def openat2(dir_fd: int, path: str, flags: int, mode: int) -> int:
        key = flags if not flags & os.O_CREAT else flags | mode << 32
        found = hows.get(key)
        if found is None:
            # openat2 refuses a mode without O_CREAT/O_TMPFILE (EINVAL)
            how = _OpenHow(flags, mode if flags & os.O_CREAT else 0, resolve)
            found = (how, ctypes.addressof(how))
            hows.put(key, found)
        fd: int = syscall(
            SYS_OPENAT2, dir_fd, path.encode("utf-8", "surrogateescape"), found[1], size
        )
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
        return fd

    try:
        os.close(openat2(-100, ".", os.O_PATH | os.O_CLOEXEC, 0))  # AT_FDCWD
    except OSError:
        return None  # ENOSYS (old kernel), EPERM (seccomp) or anything else: walk instead
    return openat2


_openat2: _Openat2 | None = _load_openat2()


def openat2_available() -> bool:
    """True when ``openat2(2)`` is used (False: every open goes through the walk)."""
    return _openat2 is not None


def _escape(path: str) -> OSError:
    return OSError(errno.EXDEV, "path leaves the root", path)


class RootDir:
    """An open root directory: open paths beneath it without ever leaving it.

    ``prefixes`` are the absolute names of the root (its real path, and the configured path
    when it differs) that an absolute symlink may use to point inside it. The fd is closed
    by ``close`` or when the object is garbage collected, so a caller that still holds the
    object may keep using it after a newer one replaced it.
    """

    __slots__ = ("fd", "prefixes")

    def __init__(self, path: str) -> None:
        self.fd = -1  # for __del__ when the open fails
        self.fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        absolute = os.path.abspath(path)
        real = os.path.realpath(path)
        self.prefixes = (real,) if real == absolute else (real, absolute)

    def open(self, rel: str, flags: int, mode: int = 0o644) -> int:
        """Open ``rel`` (relative to the root, "" for the root itself) with ``flags``
        (``O_CLOEXEC`` is added). Raises ``OSError`` as ``open`` does, ``EXDEV`` when the
        path or a symlink on it leaves the root."""
        flags |= os.O_CLOEXEC
        if "/" not in rel and rel != ".." and rel and not flags & os.O_PATH:
            # one name in the root: refusing a symlink is all the containment it needs, and
            # a plain openat is cheaper than openat2 through ctypes (a symlink goes below)
            try:
                return os.open(rel, flags | os.O_NOFOLLOW, mode, dir_fd=self.fd)
            except OSError as exc:
                if exc.errno not in _NOT_FOLLOWED or flags & os.O_NOFOLLOW:
                    raise
        openat2 = _openat2
        if openat2 is not None:
            path = rel or "."
            for _ in range(_EAGAIN_RETRIES):
                try:
                    return openat2(self.fd, path, flags, mode)
                except OSError as exc:
                    if exc.errno == errno.EXDEV:
                        break  # an absolute symlink may still point inside: the walk decides
                    if exc.errno != errno.EAGAIN:
                        raise
        return walk_beneath(self.fd, self.prefixes, rel, flags, mode)

    def stat(self, rel: str) -> os.stat_result:
        """``stat`` of ``rel`` (following symlinks that stay inside the root)."""
        fd = self.open(rel, os.O_PATH)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Close the directory fd (idempotent)."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass


def _components(path: str) -> list[str]:
    """Path components in reverse order (a stack: the next one is last), ``.`` dropped."""
    return [part for part in reversed(path.split("/")) if part and part != "."]


def walk_beneath(
    root_fd: int, prefixes: tuple[str, ...], rel: str, flags: int, mode: int = 0o644
) -> int:
    """Open ``rel`` beneath ``root_fd`` one component at a time (``O_NOFOLLOW`` from the
    previous directory's fd), resolving symlinks here: a relative target continues from the
    link's directory, an absolute one must name a place under one of ``prefixes`` and
    continues from ``root_fd``; ``..`` never goes above ``root_fd``. Raises ``OSError``
    (``EXDEV`` for an escape, ``ELOOP`` past ``MAX_SYMLINKS`` links or for a final symlink
    when ``flags`` has ``O_NOFOLLOW``)."""
    pending = _components(rel)
    dirs = [root_fd]  # the directories walked so far; all but the root are ours to close
    links = 0
    try:
        while True:
            if not pending:  # the root itself, or where ".." brought us
                return os.open(".", flags | os.O_CLOEXEC, mode, dir_fd=dirs[-1])
            name = pending.pop()
            if name == "..":
                if len(dirs) == 1:
                    raise _escape(rel)
                os.close(dirs.pop())
                continue
            final = not pending
            step = flags | os.O_NOFOLLOW | os.O_CLOEXEC if final else _DIR_STEP
            try:
                fd = os.open(name, step, mode, dir_fd=dirs[-1])
            except OSError as exc:
                if exc.errno not in _NOT_FOLLOWED or (final and flags & os.O_NOFOLLOW):
                    raise
                target = _link_target(name, dirs[-1], exc)
            else:
                if not (step & os.O_PATH and stat_mod.S_ISLNK(os.fstat(fd).st_mode)):
                    if final:
                        return fd
                    dirs.append(fd)
                    continue
                os.close(fd)  # O_PATH | O_NOFOLLOW opened the link itself
                if final and flags & os.O_NOFOLLOW:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), rel)
                target = os.readlink(name, dir_fd=dirs[-1])
            links += 1
            if links > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), rel)
            if target.startswith("/"):
                target = _under(target, prefixes, rel)
                while len(dirs) > 1:
                    os.close(dirs.pop())
            pending.extend(_components(target))
    finally:
        for fd in dirs[1:]:
            os.close(fd)


def _link_target(name: str, dir_fd: int, refused: OSError) -> str:
    """The target of the symlink ``name``, or ``refused`` re-raised when it is not one."""
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        raise refused from None


def _under(target: str, prefixes: tuple[str, ...], rel: str) -> str:
    """``target`` (absolute, from a symlink) relative to the root, or ``EXDEV``."""
    for prefix in prefixes:
        if prefix == "/":
            return target
        if target == prefix or target.startswith(prefix + "/"):
            return target[len(prefix) :]
    raise _escape(rel)
