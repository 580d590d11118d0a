"""The upload handler: ``upload_store DIR`` turns on POST/PUT/DELETE of files in DIR.

- ``POST`` with ``multipart/form-data`` to a directory URL: every file part is streamed to a
  hidden temp file and, once the whole form has arrived intact, published under its
  sanitised name; an existing name gets a numeric suffix (never overwritten). 201 with an
  HTML or JSON listing (per ``Accept``) of every stored file and one ``Location``, the
  first file's (browsers refuse a response with several). A form with no file part
  answers 200 with an empty listing.
- ``PUT /prefix/NAME``: the body replaces DIR/NAME atomically; 201 for a new file, 204 when
  one was replaced. A partial PUT (``Content-Range``) is refused with 400 (RFC 9110 14.5).
- ``POST /prefix/NAME`` with any other content type: stored as DIR/NAME, but like a form
  upload it never overwrites: an existing NAME gets a numeric suffix (the ``Location``
  says which). ``POST`` to a directory URL stores under a generated unique name.
- ``DELETE /prefix/NAME``: 204; missing 404; a directory 409.

NAME may contain subdirectories only if they already exist inside DIR (none are created;
PUT into a missing one is 409 as in WebDAV). Every URL component must already be a safe
name (no dotfiles, no control characters), else 400. The target's directory is opened
beneath DIR (``framework.routing.paths.open_beneath``) and held open while the body
arrives; every create, rename and unlink is relative to that descriptor. So nothing is
written, replaced or removed outside DIR, symlinks leaving it are refused, and swapping a
directory for a symlink mid-request changes nothing.

An upload that fails for any reason -- client gone (the task is cancelled), timeout, 413,
malformed form, disk full (507) -- leaves neither a file nor a temp file behind.
"""

from __future__ import annotations

import html
import json
import os
import stat as stat_mod
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from framework.config.mime_types import MIME_TYPES
from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.http.response import Response
from framework.registry import registry
from framework.routing.paths import open_beneath, resolve_stat
from handlers.multipart import (
    MultipartError,
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
    boundary_from_content_type,
    is_multipart_form,
)
from handlers.upload_files import StoreDirectory, TempUpload, storage_error
from handlers.upload_names import generated_name, is_safe_name, sanitize_filename

if TYPE_CHECKING:
    from framework.config.models import LocationConfig

_UPLOAD_METHODS = frozenset({"POST", "PUT", "DELETE"})


@dataclass(slots=True)
class _Target:
    """Where a request points inside the store."""

    directory: StoreDirectory  # an existing directory inside the store, open
    url_dir: str  # its URL path, ending in '/'
    name: str | None  # a file name in it; None for a directory URL
    exists: bool = False  # ``name`` exists (a file or a link to one)


@dataclass(slots=True)
class _Stored:
    name: str
    url: str
    size: int
    field: str | None = None


class UploadHandler(Handler):
    """Stores request bodies in the location's ``upload_store`` (see the module doc)."""

    name = "upload"
    methods = frozenset({"POST", "PUT", "DELETE"})

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        store = location.upload_store
        # The store seen as an alias of the location, so the one URI -> file mapping (and
        # its containment check) of framework.routing.paths applies unchanged.
        self._store_view = (
            location.model_copy(update={"alias": store, "upload_store": None})
            if store is not None
            else None
        )
        self._extensions: dict[str, str] = {}  # MIME type -> its first extension
        for ext, mime in (location.types or MIME_TYPES).items():
            self._extensions.setdefault(mime, ext)

    def _extension(self, content_type: str | None) -> str:
        """``.txt`` for ``text/plain`` and so on ('' when unknown), for generated names."""
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        ext = self._extensions.get(media_type)
        return f".{ext}" if ext else ""

    @classmethod
    def from_location(cls, location: LocationConfig) -> UploadHandler | None:
        """The handler for a location with ``upload_store``; None without one."""
        if location.upload_store is None:
            return None
        return cls(HandlerSettings(), location)

    async def startup(self) -> None:
        """Create the store directory if it is missing (its parents must be writable)."""
        store = self.location.upload_store
        if store is not None:
            try:
                os.makedirs(store, exist_ok=True)
            except OSError:
                pass  # every upload then answers 500 "upload store directory is missing"

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        if request.method not in _UPLOAD_METHODS or self._store_view is None:
            return await call_next(request)
        target = self._target(request)
        try:
            if request.method == "DELETE":
                return self._delete(target)
            content_type = request.headers.get("Content-Type")
            if request.method == "POST" and is_multipart_form(content_type):
                return await self._store_form(request, target, content_type)
            return await self._store_raw(request, target)
        finally:
            target.directory.close()

    # -- mapping the URL -----------------------------------------------------------------
    def _relative(self, request: Request) -> str:
        """The part of the path below the location prefix ('' or starting with '/')."""
        location = self.location
        path = request.path
        if location.modifier in ("~", "~*"):
            return path[path.rfind("/") :]  # regex: the last segment, in the store's root
        if not path.startswith(location.pattern):
            raise HTTPError(404)
        rest = path[len(location.pattern) :]
        if rest and not rest.startswith("/"):
            if not location.pattern.endswith("/"):
                raise HTTPError(404)  # `/uploadsx` is not inside `location /upload`
            rest = "/" + rest
        return rest

    def _target(self, request: Request) -> _Target:
        rest = self._relative(request)
        parts = [p for p in rest.split("/") if p]
        for part in parts:
            if not is_safe_name(part):
                raise HTTPError(400, f"invalid file name {part!r}")
        url_base = request.path[: len(request.path) - len(rest)].rstrip("/")
        if not parts:
            return _Target(self._directory([]), url_base + "/", None)
        st = self._stat(parts)
        if st is not None and stat_mod.S_ISDIR(st.st_mode):
            return _Target(self._directory(parts), _url(url_base, parts) + "/", None)
        if rest.endswith("/"):
            raise HTTPError(404 if st is None else 409)
        directory = self._directory(parts[:-1], missing=409)
        return _Target(directory, _url(url_base, parts[:-1]) + "/", parts[-1], st is not None)

    def _stat(self, parts: list[str]) -> os.stat_result | None:
        """stat of the store entry, following links (404 if one leaves the store)."""
        assert self._store_view is not None
        uri = _store_uri(self._store_view, parts)
        return resolve_stat(self._store_view, uri, must_exist=False)[1]

    def _directory(self, parts: list[str], *, missing: int = 404) -> StoreDirectory:
        """An existing directory inside the store, opened beneath it (``missing`` status if
        it is not there, 409 if it is not a directory)."""
        assert self._store_view is not None
        uri = _store_uri(self._store_view, parts)
        try:
            fd, fs_path = open_beneath(self._store_view, uri, os.O_PATH)
        except HTTPError as exc:
            if exc.status != 404:
                raise
            if not parts:
                raise HTTPError(500, "upload store directory is missing") from None
            raise HTTPError(missing) from None
        directory = StoreDirectory(fd, fs_path)
        try:
            is_dir = stat_mod.S_ISDIR(os.fstat(fd).st_mode)
        except BaseException:
            directory.close()
            raise
        if not is_dir:
            directory.close()
            raise HTTPError(409)
        return directory

    # -- DELETE --------------------------------------------------------------------------
    def _delete(self, target: _Target) -> Response:
        if target.name is None:
            raise HTTPError(409, "cannot delete a directory")
        if not target.exists:
            raise HTTPError(404)
        directory = target.directory
        try:
            os.unlink(target.name, dir_fd=directory.fd)
        except FileNotFoundError as exc:
            raise HTTPError(404) from exc
        except IsADirectoryError as exc:
            raise HTTPError(409) from exc
        except OSError as exc:
            raise storage_error(exc, directory.where(target.name)) from exc
        return Response(204)

    # -- raw bodies ----------------------------------------------------------------------
    async def _store_raw(self, request: Request, target: _Target) -> Response:
        replace = request.method == "PUT"
        if replace and target.name is None:
            raise HTTPError(409, "cannot PUT a directory")
        if replace and "Content-Range" in request.headers:
            # RFC 9110 14.5: partial PUT is not supported, so it must not be taken as whole
            raise HTTPError(400, "PUT with Content-Range is not supported")
        name = target.name or generated_name(self._extension(request.headers.get("Content-Type")))
        temp = TempUpload(target.directory)
        try:
            async for chunk in request.body:
                temp.write(chunk)
            if replace:
                existed = target.directory.has(name)
                temp.replace(name)
                if existed:
                    return Response(204)
            else:
                name = temp.link_new(name)
            stored = [_Stored(name, target.url_dir + quote(name), temp.size)]
        finally:
            temp.discard()
        return _created(request, stored, [])

    # -- multipart/form-data -------------------------------------------------------------
    async def _store_form(
        self, request: Request, target: _Target, content_type: str | None
    ) -> Response:
        if target.name is not None:
            raise HTTPError(404 if not target.exists else 409, "POST a form to a directory")
        try:
            parser = MultipartParser(boundary_from_content_type(content_type))
        except MultipartError as exc:
            raise HTTPError(400, str(exc), close=True) from exc
        parts = _FormParts(target.directory)
        try:
            try:
                async for chunk in request.body:
                    for event in parser.feed(chunk):
                        parts.on_event(event)
                parser.close()
            except MultipartError as exc:
                raise HTTPError(400, f"malformed multipart body: {exc}", close=True) from exc
            stored: list[_Stored] = []
            for temp, part in parts.files:
                if part.filename == "" and temp.size == 0:
                    continue  # a file input left empty in a browser form
                name = sanitize_filename(part.filename) or generated_name(
                    self._extension(part.content_type)
                )
                name = temp.link_new(name)
                stored.append(_Stored(name, target.url_dir + quote(name), temp.size, part.name))
        finally:
            parts.discard()
        return _created(request, stored, parts.fields)


class _FormParts:
    """Where a form's parts go as the parser reports them: each file part into a temp file
    in ``directory`` (published only once the whole form is good), field names to ``fields``."""

    def __init__(self, directory: StoreDirectory) -> None:
        self.directory = directory
        self.files: list[tuple[TempUpload, PartStart]] = []
        self.fields: list[str] = []
        self._current: TempUpload | None = None  # the file part being received

    def on_event(self, event: PartStart | PartData | PartEnd) -> None:
        if isinstance(event, PartData):
            if self._current is not None:
                self._current.write(event.data)
        elif isinstance(event, PartStart):
            if event.filename is None:
                self.fields.append(event.name)
            else:
                self._current = TempUpload(self.directory)
                self.files.append((self._current, event))
        elif self._current is not None:  # PartEnd
            self._current.close()
            self._current = None

    def discard(self) -> None:
        """Remove every temp file that was not published."""
        for temp, _ in self.files:
            temp.discard()


def _store_uri(view: LocationConfig, parts: list[str]) -> str:
    """A URI path that ``resolve_stat`` maps (as an alias of ``view``) to store/parts."""
    rest = "/" + "/".join(parts) if parts else ""
    if view.modifier in ("~", "~*"):
        return rest or "/"
    prefix = view.pattern.rstrip("/") if rest else view.pattern
    return prefix + rest


def _url(base: str, parts: list[str]) -> str:
    return base + "".join("/" + quote(p) for p in parts)


def _prefers_json(request: Request) -> bool:
    accept = request.headers.get("Accept") or ""
    quality = {"application/json": 0.0, "text/html": 0.0}
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        if media in quality:
            q = 1.0
            for param in params.split(";"):
                key, _, value = param.strip().partition("=")
                if key.lower() == "q":
                    try:
                        q = float(value)
                    except ValueError:
                        q = 0.0
            quality[media] = q
    return quality["application/json"] > quality["text/html"]


def _created(request: Request, stored: list[_Stored], fields: list[str]) -> Response:
    """201 with a listing of every stored file and one ``Location``, the first file's
    (several make browsers refuse the response); 200 if nothing was stored."""
    if _prefers_json(request):
        document = {
            "files": [
                {"name": s.name, "url": s.url, "size": s.size}
                | ({"field": s.field} if s.field is not None else {})
                for s in stored
            ],
            "fields": fields,
        }
        body = json.dumps(document, ensure_ascii=False) + "\n"
        content_type = "application/json"
    else:
        items = "".join(
            f'<li><a href="{html.escape(s.url)}">{html.escape(s.name)}</a> ({s.size} bytes)</li>\n'
            for s in stored
        )
        body = (
            "<!DOCTYPE html>\n<html><head><title>Upload</title></head><body>\n"
            f"<h1>Stored {len(stored)} file{'s' if len(stored) != 1 else ''}</h1>\n"
            f"<ul>\n{items}</ul>\n</body></html>\n"
        )
        content_type = "text/html; charset=utf-8"
    response = Response(201 if stored else 200, body, headers={"Content-Type": content_type})
    if stored:
        response.headers.add("Location", stored[0].url)
    return response


registry.register(UploadHandler)
