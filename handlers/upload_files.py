"""Atomic upload files: write to a hidden temp file in the target directory, then put it in
place in one step, so no reader ever sees a partial file and a failure leaves nothing.

Regular-file writes are done directly (disk files are not pollable); the caller's consumption
speed is the socket backpressure.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from framework.http.errors import HTTPError
from handlers.upload_names import temp_name, with_suffix

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_MAX_SUFFIX = 10_000
_NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


def storage_error(exc: OSError) -> HTTPError:
    """The HTTP error for a failed disk operation: 507 when the disk or quota is full."""
    if exc.errno in _DISK_FULL:
        return HTTPError(507, "no space left for the upload", close=True)
    if exc.errno == errno.EFBIG:
        return HTTPError(413, "file too large for the store", close=True)
    if exc.errno in (errno.EACCES, errno.EROFS):
        return HTTPError(403, "upload store is not writable", close=True)
    return HTTPError(500, f"upload failed: {exc.strerror}", close=True)


class TempUpload:
    """A hidden temp file in ``directory``; ``write`` to it, then ``link_new``/``replace``
    to publish it, or ``discard`` it. Always call ``discard`` in a ``finally``: it is a
    no-op once published."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.size = 0
        self._fd: int | None = None
        for _ in range(10):
            path = directory / temp_name()
            try:
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                continue
            except OSError as exc:
                raise storage_error(exc) from exc
            self.path: Path | None = path
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
            raise storage_error(exc) from exc

    def close(self) -> None:
        """Close the file descriptor (the temp file stays until published or discarded)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError as exc:  # NFS and friends report write errors on close
                raise storage_error(exc) from exc

    def link_new(self, directory: Path, name: str) -> str:
        """Publish under ``name`` in ``directory`` without ever replacing a file: an existing
        name gets a numeric suffix (``a.txt`` -> ``a-1.txt``). Returns the name used."""
        assert self.path is not None
        self.close()
        for n in range(_MAX_SUFFIX):
            candidate = with_suffix(name, n)
            target = directory / candidate
            try:
                os.link(self.path, target, follow_symlinks=False)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise storage_error(exc) from exc
                if not self._claim_and_replace(target):
                    continue
                return candidate
            self._unlink_temp()
            return candidate
        raise HTTPError(409, f"too many files named like {name!r}")

    def _claim_and_replace(self, target: Path) -> bool:
        # Filesystems without hard links: reserve the name with O_EXCL, then rename over it.
        # The reserved file is empty only for the instant before the rename.
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644))
        except FileExistsError:
            return False
        except OSError as exc:
            raise storage_error(exc) from exc
        self.replace(target)
        return True

    def replace(self, target: Path) -> None:
        """Publish as ``target``, atomically replacing a file already there."""
        assert self.path is not None
        self.close()
        try:
            os.replace(self.path, target)
        except IsADirectoryError as exc:
            raise HTTPError(409, "a directory has that name") from exc
        except OSError as exc:
            raise storage_error(exc) from exc
        self.path = None

    def _unlink_temp(self) -> None:
        if self.path is not None:
            path, self.path = self.path, None
            try:
                os.unlink(path)
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
