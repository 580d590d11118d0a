"""The static file handler: GET/HEAD of files under root/alias, and DELETE.

Files are sent with sendfile by the engine (``Response.file``); validators (ETag,
Last-Modified) answer conditional requests with 304, one satisfiable ``Range`` with 206.
Directories: without a trailing slash, 301 to ``uri/``; with one, the first existing
``index`` file by internal redirect (location matching runs again), else autoindex (next in
the chain) when it is on, else 403.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod

from framework.config.models import LocationConfig
from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import FileBody, Response
from framework.registry import registry
from framework.routing.locations import matcher_for
from framework.routing.paths import OpenFile, open_file, resolve_stat
from framework.routing.urls import absolute_url, quote_path, quote_query
from handlers.conditional import evaluate, http_date, make_etag, range_allowed
from handlers.ranges import parse_range


class StaticHandler(Handler):
    """Serves files from the location's root or alias."""

    name = "static"

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        self._types = location.types
        self._default_type = location.default_type
        self._index = list(location.index)
        self._autoindex = location.autoindex
        self._mime_cache: dict[str, str] = {}  # extension as written -> MIME type

    @classmethod
    def from_location(cls, location: LocationConfig) -> StaticHandler:
        """Static is enabled in every location."""
        return cls(cls.Settings(), location)

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        method = request.method
        if method == "GET" or method == "HEAD":
            response = self._get(request)
            if response is None:  # a directory listing is autoindex's job
                return await call_next(request)
            return response
        if method == "DELETE":
            return self._delete(request)
        return await call_next(request)

    # -- GET / HEAD ---------------------------------------------------------------------------
    def _get(self, request: Request) -> Response | None:
        path = request.path
        try:
            file, _, st = open_file(self.location, path)
        except HTTPError as exc:
            if exc.status == 404:
                self._missing_slash(request)
            raise
        if file is None:
            if stat_mod.S_ISDIR(st.st_mode):
                return self._directory(request, path)
            raise HTTPError(403)  # a device, FIFO or socket
        try:
            return self._file_response(request, file, st)
        except BaseException:
            file.close()
            raise

    def _file_response(self, request: Request, file: OpenFile, st: os.stat_result) -> Response:
        size = st.st_size
        etag, last_modified = _validators(st.st_mtime_ns, size)
        headers = Headers(
            (
                ("Content-Type", self._content_type(request.path)),
                ("Last-Modified", last_modified),
                ("ETag", etag),
                ("Accept-Ranges", "bytes"),
            )
        )
        req_headers = request.headers
        # one cheap pass over the names; a false positive only costs the exact checks
        names = ",".join(req_headers.keys()).lower()
        if "if-" in names:
            status = evaluate(req_headers, etag, st.st_mtime_ns // 1_000_000_000, request.method)
            if status is not None:
                if status == 304:
                    file.close()
                    return Response(304, b"", headers)
                raise HTTPError(status)
        offset, length, status = 0, size, 200
        if request.method == "GET" and "range" in names:
            range_header = req_headers.get("range")
            if range_header is not None and range_allowed(req_headers, etag, last_modified):
                decision = parse_range(range_header, size)
                if decision.kind == "partial":
                    offset, length, status = decision.offset, decision.length, 206
                    end = offset + length - 1
                    headers.add("Content-Range", f"bytes {offset}-{end}/{size}")
                elif decision.kind == "unsatisfiable":
                    raise HTTPError(416, headers={"Content-Range": f"bytes */{size}"})
        # HEAD: the engine sizes the body from the open file and sends none of it
        return Response(status, FileBody(file, offset, length), headers)  # type: ignore[arg-type]

    def _content_type(self, path: str) -> str:
        name = path.rpartition("/")[2]
        dot = name.rfind(".")
        ext = name[dot + 1 :] if dot >= 0 else ""
        mime = self._mime_cache.get(ext)
        if mime is None:
            mime = self._types.get(ext.lower(), self._default_type) if ext else self._default_type
            if len(self._mime_cache) < 256:
                self._mime_cache[ext] = mime
        return mime

    def _directory(self, request: Request, path: str) -> Response | None:
        if not path.endswith("/"):
            _redirect(request, path + "/")
        last = len(self._index) - 1
        for i, name in enumerate(self._index):
            # nginx: an absolute index is used unconditionally only in the last position
            candidate = name if name.startswith("/") else path + name
            if name.startswith("/") and i == last:
                raise InternalRedirect(_with_query(quote_path(name), request.query))
            try:
                resolve_stat(self.location, candidate)
            except HTTPError:
                continue
            raise InternalRedirect(_with_query(quote_path(candidate), request.query))
        if self._autoindex:
            return None
        raise HTTPError(403)

    def _missing_slash(self, request: Request) -> None:
        server_config = request.server_config
        if server_config is None:
            return
        target = matcher_for(server_config).redirect_for_missing_slash(request.path)
        if target is not None:
            _redirect(request, target)

    # -- DELETE -------------------------------------------------------------------------------
    def _delete(self, request: Request) -> Response:
        fs_path, st = resolve_stat(self.location, request.path)
        assert st is not None
        if stat_mod.S_ISDIR(st.st_mode):
            raise HTTPError(409)
        try:
            os.unlink(fs_path.rstrip("/"))
        except FileNotFoundError:
            raise HTTPError(404) from None
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise HTTPError(403) from None
            raise
        return Response(204)


_validator_cache: dict[tuple[int, int], tuple[str, str]] = {}


def _validators(mtime_ns: int, size: int) -> tuple[str, str]:
    """(ETag, Last-Modified) for a file version, cached."""
    key = (mtime_ns, size)
    found = _validator_cache.get(key)
    if found is None:
        if len(_validator_cache) >= 4096:
            _validator_cache.clear()
        seconds = mtime_ns // 1_000_000_000
        found = _validator_cache[key] = (make_etag(mtime_ns, size), http_date(seconds))
    return found


def _with_query(uri: str, query: str) -> str:
    return f"{uri}?{quote_query(query)}" if query else uri


def _redirect(request: Request, path: str) -> None:
    """301 to ``path`` (decoded, normalised) keeping the query; Location is absolute."""
    location = absolute_url(request, path, request.query)
    raise HTTPError(301, headers={"Location": location})


registry.register(StaticHandler)
