"""Find the config file that includes a fragment (``conf.d/site.conf``), so that the fragment
is validated in the block its ``include`` puts it in rather than as a main file.

The candidates are the open documents first, then the ``*.conf`` files in the fragment's
directory and up to two directories above it, at most ``MAX_CANDIDATES`` files of at most
``MAX_BYTES`` each. A candidate includes the fragment when one of its ``include`` arguments,
resolved against the candidate's directory (as the main file's includes are), names the
fragment or is a glob that matches it. Only direct includes are followed.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

MAX_CANDIDATES = 64
MAX_BYTES = 1 << 20
PARENT_LEVELS = 2

_INCLUDE = re.compile(r"""(?:^|[;{}])\s*include\s+(?:"([^"]*)"|'([^']*)'|([^\s;"']+))\s*;""", re.M)


def include_patterns(text: str) -> list[str]:
    """The arguments of the ``include`` directives written in ``text``."""
    return [next(g for g in m.groups() if g is not None) for m in _INCLUDE.finditer(text)]


def includes(text: str, includer: Path, fragment: Path) -> bool:
    """True when ``text`` (the file ``includer``) includes the file ``fragment``."""
    if "include" not in text:
        return False
    target = os.path.realpath(fragment)
    for pattern in include_patterns(text):
        joined = os.path.normpath(os.path.join(includer.parent, pattern))
        if glob.has_magic(pattern):  # a glob's directory part holds no magic in practice
            directory = os.path.realpath(os.path.dirname(joined))
            if directory == os.path.dirname(target) and fnmatch.fnmatchcase(
                os.path.basename(target), os.path.basename(joined)
            ):
                return True
        elif os.path.realpath(joined) == target:
            return True
    return False


def _disk_candidates(fragment: Path, skip: set[str]) -> Iterator[Path]:
    directory = fragment.parent
    for _ in range(PARENT_LEVELS + 1):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            names = []
        for name in names:
            path = directory / name
            if name.endswith(".conf") and os.path.realpath(path) not in skip:
                yield path
        if directory.parent == directory:
            return
        directory = directory.parent


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def find_includer(fragment: Path, open_documents: Iterable[tuple[Path, str]]) -> Path | None:
    """The file that includes ``fragment``: an open document (``(path, text)`` pairs) first,
    then a ``*.conf`` file near it on disk; None when there is none within the bounds."""
    own = os.path.realpath(fragment)
    seen = {own}
    for path, text in open_documents:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            if includes(text, path, fragment):
                return path
    for count, path in enumerate(_disk_candidates(fragment, seen)):
        if count >= MAX_CANDIDATES:
            break
        found = _read(path)
        if found is not None and includes(found, path, fragment):
            return path
    return None
