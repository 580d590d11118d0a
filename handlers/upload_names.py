"""File names for uploads: sanitising client-supplied names, collision suffixes, temp names.

Pure functions, no I/O, so they can be tested exhaustively.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata

MAX_NAME_BYTES = 200  # leaves room for a collision suffix under NAME_MAX (255)
_MAX_EXTENSION_BYTES = 16
# C0 and C1 controls, DEL, and Unicode "format" characters such as RLO (U+202E), which
# can make "gpj.exe" display as "exe.jpg"
_UNWANTED = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
TEMP_PREFIX = ".upload-"


def sanitize_filename(raw: str | None) -> str | None:
    """A safe basename for a client-supplied file name, or None when nothing usable is left
    (the caller then generates a name).

    Keeps only the last path component (``/`` and ``\\`` both separate), removes NUL, control
    and bidi-format characters and unencodable surrogates, strips leading dots and spaces
    (no dotfiles, no ``..``) and trailing dots and spaces, and bounds the UTF-8 length to
    ``MAX_NAME_BYTES``, keeping a short extension.
    """
    if raw is None:
        return None
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    name = _UNWANTED.sub("", name)
    name = name.encode("utf-8", "ignore").decode("utf-8")  # drops lone surrogates
    name = name.lstrip(". \t").rstrip(". \t")
    if not name:
        return None
    return _truncate(name, MAX_NAME_BYTES)


def is_safe_name(name: str) -> bool:
    """True when ``name`` (one path component from a URL) is already a sanitised name."""
    return bool(name) and sanitize_filename(name) == name


def _truncate(name: str, limit: int) -> str:
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) + 1 > _MAX_EXTENSION_BYTES:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = limit - len(suffix.encode())
    stem = stem.encode()[:budget].decode("utf-8", "ignore").rstrip(". \t")
    return (stem or "file") + suffix


def with_suffix(name: str, n: int) -> str:
    """``a.txt`` -> ``a-1.txt``; ``archive.tar.gz`` -> ``archive-1.tar.gz``; ``README``
    -> ``README-1``. ``n == 0`` returns ``name`` unchanged."""
    if n == 0:
        return name
    stem, ext = _split_extension(name)
    return f"{stem}-{n}{ext}"


def _split_extension(name: str) -> tuple[str, str]:
    lower = name.lower()
    for double in (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst"):
        if lower.endswith(double) and len(name) > len(double):
            return name[: -len(double)], name[-len(double) :]
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        return stem, "." + ext
    return name, ""


def generated_name(extension: str = "") -> str:
    """A unique-looking name for an upload without one: ``upload-<time>-<random><ext>``."""
    return f"upload-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}{extension}"


def temp_name() -> str:
    """A hidden, unique temporary name (autoindex hides dotfiles)."""
    return f"{TEMP_PREFIX}{secrets.token_hex(8)}.part"
