"""Directory listings, formatted like nginx's ``autoindex`` (HTML) or as JSON.

Only for GET/HEAD of URIs ending in ``/`` whose directory opens beneath the root
(``open_beneath``); the listing is read from that descriptor, and a symlink in it is shown
only when it resolves beneath the root too. Dotfiles are hidden; directories come first, then names
sorted bytewise; names are HTML-escaped and hrefs percent-encoded.
"""

from __future__ import annotations

import json
import os
import stat as stat_mod
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from framework.config.models import LocationConfig
from framework.handler import CallNext, Handler
from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.http.response import Response
from framework.registry import registry
from framework.routing.paths import open_beneath, resolve_stat
from handlers.conditional import http_date

NAME_WIDTH = 50
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Like nginx: only unreserved characters stay as they are. Escaping ':' also keeps a name such
# as "javascript:alert(1)" a relative reference instead of a script URL.
_HREF_SAFE = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """One listed name: ``name`` is text (undecodable bytes surrogate-escaped)."""

    name: str
    is_dir: bool
    mtime: float
    size: int


def escape_html(text: str) -> str:
    """Escape ``& < > "`` like nginx's ``ngx_escape_html``."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _href(name: str) -> str:
    return quote(name.encode("utf-8", "surrogateescape"), safe=_HREF_SAFE)


def _listing_date(mtime: float) -> str:
    t = time.gmtime(mtime)
    return f"{t.tm_mday:02d}-{_MONTHS[t.tm_mon - 1]}-{t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}"


def read_entries(
    directory: str | int, stat_link: Callable[[str], os.stat_result] | None = None
) -> list[Entry]:
    """The visible entries of ``directory`` (a path or an open directory fd): no dotfiles,
    directories first, then bytewise. Entries that cannot be stat'ed (dangling links) are
    left out. ``stat_link(name)`` stats a symlink's target beneath the root, raising
    ``OSError`` or ``HTTPError`` when it leaves, so such a link is left out too (listing it
    would show the size and date of a file outside); without it links are followed."""
    entries: list[Entry] = []
    with os.scandir(directory) as it:
        for item in it:
            if item.name.startswith("."):
                continue
            try:
                if not item.is_symlink():
                    st = item.stat(follow_symlinks=False)
                elif stat_link is not None:
                    st = stat_link(item.name)
                else:
                    st = item.stat()
            except (OSError, HTTPError):
                continue
            is_dir = stat_mod.S_ISDIR(st.st_mode)
            entries.append(Entry(item.name, is_dir, st.st_mtime, 0 if is_dir else st.st_size))
    entries.sort(key=lambda e: (not e.is_dir, e.name.encode("utf-8", "surrogateescape")))
    return entries


def render_html(uri: str, entries: list[Entry]) -> bytes:
    """nginx's autoindex page for ``uri`` (the decoded request path)."""
    title = escape_html(uri)
    lines = [
        f"<html>\r\n<head><title>Index of {title}</title></head>\r\n<body>\r\n"
        f'<h1>Index of {title}</h1><hr><pre><a href="../">../</a>\r\n'
    ]
    for entry in entries:
        name = entry.name
        href = _href(name) + ("/" if entry.is_dir else "")
        width = len(name)
        if width > NAME_WIDTH:
            link = f'<a href="{href}">{escape_html(name[: NAME_WIDTH - 3])}..&gt;</a>'
        else:
            shown = name
            if entry.is_dir and width < NAME_WIDTH:
                shown += "/"
                width += 1
            link = f'<a href="{href}">{escape_html(shown)}</a>' + " " * (NAME_WIDTH - width)
        size = "-" if entry.is_dir else str(entry.size)
        lines.append(f"{link} {_listing_date(entry.mtime)} {size:>19}\r\n")
    lines.append("</pre><hr></body>\r\n</html>\r\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


def render_json(entries: list[Entry]) -> bytes:
    """A JSON array of ``{name, type, mtime[, size]}`` (size for files only, like nginx)."""
    items = []
    for entry in entries:
        item: dict[str, object] = {
            "name": entry.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
            "type": "directory" if entry.is_dir else "file",
            "mtime": http_date(entry.mtime),
        }
        if not entry.is_dir:
            item["size"] = entry.size
        items.append(item)
    return json.dumps(items, ensure_ascii=False).encode()


class AutoindexHandler(Handler):
    """Lists directories for URIs ending in ``/`` (``autoindex on``)."""

    name = "autoindex"
    methods = frozenset({"GET", "HEAD"})

    @classmethod
    def from_location(cls, location: LocationConfig) -> AutoindexHandler | None:
        """Enabled only where ``autoindex on``."""
        return cls(cls.Settings(), location) if location.autoindex else None

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        if request.method not in ("GET", "HEAD") or not request.path.endswith("/"):
            return await call_next(request)
        path = request.path
        dir_fd, _ = open_beneath(self.location, path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            entries = read_entries(
                dir_fd, stat_link=lambda name: _stat_beneath(self.location, path + name)
            )
        except PermissionError:
            raise HTTPError(403) from None
        except (FileNotFoundError, NotADirectoryError):
            raise HTTPError(404) from None
        finally:
            os.close(dir_fd)
        if self.location.autoindex_format == "json":
            body, ctype = render_json(entries), "application/json"
        else:
            body, ctype = render_html(request.path, entries), "text/html; charset=utf-8"
        return Response(200, body, {"Content-Type": ctype})


def _stat_beneath(location: LocationConfig, path: str) -> os.stat_result:
    st = resolve_stat(location, path)[1]
    assert st is not None
    return st


registry.register(AutoindexHandler)
