"""The built-in MIME table: the ``types`` used when a config defines none.

Keys are extensions without the dot, lower case, as the static handler looks them up.
"""

from __future__ import annotations

_TABLE: dict[str, tuple[str, ...]] = {
    "text/html": ("html", "htm", "shtml"),
    "text/css": ("css",),
    "text/plain": ("txt", "text", "log", "conf"),
    "text/markdown": ("md", "markdown"),
    "text/csv": ("csv",),
    "text/xml": ("xml",),
    "text/javascript": ("js", "mjs"),
    "application/json": ("json", "map"),
    "application/manifest+json": ("webmanifest",),
    "application/wasm": ("wasm",),
    "application/pdf": ("pdf",),
    "application/zip": ("zip",),
    "application/gzip": ("gz", "tgz"),
    "application/x-tar": ("tar",),
    "application/x-bzip2": ("bz2",),
    "application/x-xz": ("xz",),
    "application/x-7z-compressed": ("7z",),
    "application/rtf": ("rtf",),
    "application/rss+xml": ("rss",),
    "application/atom+xml": ("atom",),
    "application/xhtml+xml": ("xhtml",),
    "application/java-archive": ("jar",),
    "application/msword": ("doc",),
    "application/vnd.ms-excel": ("xls",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/gif": ("gif",),
    "image/svg+xml": ("svg", "svgz"),
    "image/webp": ("webp",),
    "image/avif": ("avif",),
    "image/x-icon": ("ico",),
    "image/bmp": ("bmp",),
    "image/tiff": ("tif", "tiff"),
    "font/woff": ("woff",),
    "font/woff2": ("woff2",),
    "font/ttf": ("ttf",),
    "font/otf": ("otf",),
    "audio/mpeg": ("mp3",),
    "audio/ogg": ("ogg", "oga"),
    "audio/wav": ("wav",),
    "audio/flac": ("flac",),
    "video/mp4": ("mp4", "m4v"),
    "video/webm": ("webm",),
    "video/ogg": ("ogv",),
    "video/quicktime": ("mov",),
    "video/x-msvideo": ("avi",),
}

MIME_TYPES: dict[str, str] = {ext: mime for mime, exts in _TABLE.items() for ext in exts}
"""Extension (no dot, lower case) -> MIME type."""
