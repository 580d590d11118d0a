"""A small in-memory cache of small static files, so a hit costs one ``lstat`` instead of
open/fstat/read/close.

An entry is keyed by the file's lexical filesystem path (the mapping of root/alias + URI)
and filled only from a file opened beneath the root; it is valid only while ``lstat`` of
that path still shows the same inode, device, size, mtime and ctime. A hit serves the
cached bytes, so a path that now leads elsewhere (a directory swapped for a symlink) can
only miss: the file it reaches is another inode. A final-component symlink never hits
(``lstat`` sees the link); a replaced, rewritten, renamed-over or chmod-ed file misses; and
the slow path, with its contained open, runs again.

"Racy" files -- modified within ``SETTLE_NS`` of being read (or dated in the future) -- are
not cached: file timestamps are coarse (a few ms), so a same-size rewrite right after our
read could keep the same mtime. Once the mtime is older than that, any write moves it.
"""

from __future__ import annotations

import os
import stat as stat_mod
import time
import weakref

MAX_FILE = 64 * 1024  # larger files go out with sendfile
MAX_TOTAL = 16 * 1024 * 1024  # bytes of file content held, per process
MAX_ENTRIES = 4096
SETTLE_NS = 2_000_000_000

StatKey = tuple[int, int, int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    """The identity and version of a file as ``stat`` shows it."""
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class CachedFile:
    """One cached file: its content and validators, plus what the handler derives once
    (``extra``: e.g. the response header items)."""

    __slots__ = ("key", "data", "etag", "last_modified", "mtime", "extra")

    def __init__(
        self, key: StatKey, data: bytes, etag: str, last_modified: str, extra: object
    ) -> None:
        self.key = key
        self.data = data
        self.etag = etag
        self.last_modified = last_modified
        self.mtime = key[3] // 1_000_000_000
        self.extra = extra


class FileCache:
    """A bounded LRU of ``CachedFile`` by path; the byte budget is shared by every
    instance in the process (one per static location)."""

    __slots__ = ("_entries", "__weakref__")

    _total = 0  # bytes held by all instances
    _instances: weakref.WeakSet[FileCache] = weakref.WeakSet()

    def __init__(self) -> None:
        self._entries: dict[str, CachedFile] = {}
        FileCache._instances.add(self)

    def lookup(self, fs_path: str) -> CachedFile | None:
        """The entry for ``fs_path`` if the file on disk is still the one cached."""
        entries = self._entries
        entry = entries.get(fs_path)
        if entry is None:
            return None
        try:
            st = os.lstat(fs_path)
        except OSError:
            st = None
        if st is None or stat_key(st) != entry.key:
            self._drop(fs_path)
            return None
        # most recently used goes last (dicts keep insertion order)
        del entries[fs_path]
        entries[fs_path] = entry
        return entry

    def store(
        self,
        fs_path: str,
        fd: int,
        st: os.stat_result,
        etag: str,
        last_modified: str,
        extra: object,
    ) -> CachedFile | None:
        """Read and cache the open regular file ``fd`` (stat ``st``) found at ``fs_path``
        when it is small, settled, and ``fs_path`` itself (not a symlink) names it."""
        size = st.st_size
        if size > MAX_FILE or not stat_mod.S_ISREG(st.st_mode):
            return None
        if time.time_ns() - st.st_mtime_ns < SETTLE_NS:
            return None
        key = stat_key(st)
        try:
            if stat_key(os.lstat(fs_path)) != key:
                return None  # reached through a symlink, or replaced meanwhile
            data = os.pread(fd, size, 0)
            if len(data) != size or stat_key(os.fstat(fd)) != key:
                return None  # changing under us
        except OSError:
            return None
        self._drop(fs_path)
        self._make_room(size)
        entry = CachedFile(key, data, etag, last_modified, extra)
        self._entries[fs_path] = entry
        FileCache._total += size
        return entry

    def discard(self, fs_path: str) -> None:
        """Forget the entry for ``fs_path`` (its file is gone or unreachable)."""
        self._drop(fs_path)

    def clear(self) -> None:
        """Forget every entry."""
        for path in list(self._entries):
            self._drop(path)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> dict[str, CachedFile]:
        """The live entry dict (read-only use: e.g. a cheap emptiness test per request)."""
        return self._entries

    def __del__(self) -> None:
        cls = type(self)  # not the module global, which may be gone at interpreter exit
        cls._total -= sum(len(e.data) for e in self._entries.values())

    def _drop(self, fs_path: str) -> None:
        entry = self._entries.pop(fs_path, None)
        if entry is not None:
            FileCache._total -= len(entry.data)

    def _make_room(self, size: int) -> None:
        entries = self._entries
        while entries and len(entries) >= MAX_ENTRIES:
            self._drop(next(iter(entries)))
        if FileCache._total + size <= MAX_TOTAL:
            return
        # evict least recently used first here, then from the other locations' caches
        for cache in [self, *FileCache._instances]:
            while cache._entries and FileCache._total + size > MAX_TOTAL:
                cache._drop(next(iter(cache._entries)))
