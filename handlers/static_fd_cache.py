"""The small-file cache, validated from the file the request actually opened.

``FileCache.lookup`` validates an entry with ``lstat`` of the lexical path, which follows
whatever directories are on that path now: it trusts "this path is inside the root" from the
moment the entry was made. ``OpenedFileCache.lookup_opened`` instead compares the entry with
``fstat`` of the file the static handler has just opened beneath the root
(``framework.routing.paths.open_file``), so a hit can only ever serve the bytes of the very
file that the contained open found.
"""

from __future__ import annotations

import os

from handlers.static_cache import CachedFile, FileCache, stat_key


class OpenedFileCache(FileCache):
    """``FileCache`` whose hits are checked against an open file's ``fstat``."""

    __slots__ = ()

    def lookup_opened(self, fs_path: str, st: os.stat_result) -> CachedFile | None:
        """The entry for ``fs_path`` if ``st`` (``fstat`` of the file opened for this
        request) shows the very file and version that was cached."""
        entries = self._entries
        entry = entries.get(fs_path)
        if entry is None:
            return None
        if stat_key(st) != entry.key:
            self._drop(fs_path)
            return None
        # most recently used goes last (dicts keep insertion order)
        del entries[fs_path]
        entries[fs_path] = entry
        return entry

    def discard(self, fs_path: str) -> None:
        """Forget the entry for ``fs_path`` (its file is gone or unreachable)."""
        self._drop(fs_path)
