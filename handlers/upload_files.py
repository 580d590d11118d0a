"""Atomic upload files: write to a hidden temp file in the target directory, then put it in
place in one step, so no reader ever sees a partial file and a failure leaves nothing.

Every operation names a single file in a directory held open (``StoreDirectory``, opened
beneath the store by the upload handler), never a path: a directory swapped for a symlink
after the request was checked cannot send a temp file, a rename or an unlink outside.

Regular-file writes are done directly (disk files are not pollable); the caller's consumption
speed is the socket backpressure.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from framework.http.errors import HTTPError
from framework.logs import error_log
from handlers.upload_names import temp_name, with_suffix

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_MAX_SUFFIX = 10_000
_NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


def storage_error(exc: OSError, where: str = "") -> HTTPError:
    """The HTTP error for a failed disk operation on ``where`` (a path, for the log): 507
    when the disk or quota is full, which is also logged (the operator must act)."""
    if exc.errno in _DISK_FULL:
        reason = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        error_log.error('upload: %s (%s) on "%s"', exc.strerror, reason, where or "?")
        return HTTPError(507, "no space left for the upload", close=True)
    if exc.errno == errno.EFBIG:
        return HTTPError(413, "file too large for the store", close=True)
    if exc.errno in (errno.EACCES, errno.EROFS):
        return HTTPError(403, "upload store is not writable", close=True)
    return HTTPError(500, f"upload failed: {exc.strerror}", close=True)


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class StoreDirectory:
    """A directory of the upload store, held open: ``fd`` (``O_PATH``, for the ``*at``
    calls) and ``path``, its lexical path, for messages only. Close it when done."""

    __slots__ = ("fd", "path")

    def __init__(self, fd: int, path: str) -> None:
        self.fd = fd
        self.path = path.rstrip("/") or "/"

    @classmethod
    def open(cls, path: str | Path) -> StoreDirectory:
        """Open the directory ``path`` itself (the store's root, or in tests)."""
        return cls(os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC), str(path))

    def where(self, name: str) -> str:
        """``path/name``, for messages."""
        return f"{self.path}/{name}" if self.path != "/" else f"/{name}"

    def has(self, name: str) -> bool:
        """``name`` exists in the directory (a dangling symlink counts)."""
        try:
            os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def close(self) -> None:
        """Close the directory fd (idempotent)."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> StoreDirectory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class TempUpload:
    """A hidden temp file in ``directory``; ``write`` to it, then ``link_new``/``replace``
    to publish it in that same directory, or ``discard`` it. Always call ``discard`` in a
    ``finally``: it is a no-op once published. ``directory`` must stay open until then."""

    def __init__(self, directory: StoreDirectory) -> None:
        self.directory = directory
        self.size = 0
        self._fd: int | None = None
        for _ in range(10):
            name = temp_name()
            try:
                self._fd = os.open(name, _CREATE, 0o644, dir_fd=directory.fd)
            except FileExistsError:
                continue
            except OSError as exc:
                raise storage_error(exc, directory.where(name)) from exc
            self.name: str | None = name
            return
        raise HTTPError(500, "could not create a temporary upload file")

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data``; disk full raises HTTPError(507)."""
        assert self._fd is not None, "write after close"
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
                self.size += written
        except OSError as exc:
            raise storage_error(exc, self._where()) from exc

    def _where(self) -> str:
        return self.directory.where(self.name or "?")

    def close(self) -> None:
        """Close the file descriptor (the temp file stays until published or discarded)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError as exc:  # NFS and friends report write errors on close
                raise storage_error(exc, self._where()) from exc

    def link_new(self, name: str) -> str:
        """Publish under ``name`` in the directory without ever replacing a file: an
        existing name gets a numeric suffix (``a.txt`` -> ``a-1.txt``). Returns the name
        used."""
        assert self.name is not None
        self.close()
        dir_fd = self.directory.fd
        for n in range(_MAX_SUFFIX):
            candidate = with_suffix(name, n)
            try:
                os.link(
                    self.name,
                    candidate,
                    src_dir_fd=dir_fd,
                    dst_dir_fd=dir_fd,
                    follow_symlinks=False,
                )
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise storage_error(exc, self.directory.where(candidate)) from exc
                if not self._claim_and_replace(candidate):
                    continue
                return candidate
            self._unlink_temp()
            return candidate
        raise HTTPError(409, f"too many files named like {name!r}")

    def _claim_and_replace(self, name: str) -> bool:
        # Filesystems without hard links: reserve the name with O_EXCL, then rename over it.
        # The reserved file is empty only for the instant before the rename.
        try:
            os.close(os.open(name, _CREATE, 0o644, dir_fd=self.directory.fd))
        except FileExistsError:
            return False
        except OSError as exc:
            raise storage_error(exc, self.directory.where(name)) from exc
        self.replace(name)
        return True

    def replace(self, name: str) -> None:
        """Publish as ``name``, atomically replacing a file already there (a symlink
        named so is replaced itself, never followed)."""
        assert self.name is not None
        self.close()
        dir_fd = self.directory.fd
        try:
            os.replace(self.name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except IsADirectoryError as exc:
            raise HTTPError(409, "a directory has that name") from exc
        except OSError as exc:
            raise storage_error(exc, self.directory.where(name)) from exc
        self.name = None

    def _unlink_temp(self) -> None:
        if self.name is not None:
            name, self.name = self.name, None
            try:
                os.unlink(name, dir_fd=self.directory.fd)
            except FileNotFoundError:
                pass

    def discard(self) -> None:
        """Close and remove the temp file unless it was published. Never raises."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self._unlink_temp()
        except OSError:
            pass
