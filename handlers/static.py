"""The static file handler: GET/HEAD of files under root/alias, and DELETE.

Every file is opened beneath the root (``framework.routing.paths.open_file``) and served
from that descriptor, sent with sendfile by the engine. Small files are cached once read
that way; a hit is validated by ``lstat`` (same inode and version) and serves the cached
bytes, so it can never read a file outside the root. Validators (ETag, Last-Modified)
answer conditional requests with 304, one satisfiable ``Range`` with 206; neither applies
to an ``error_page`` target, which keeps the error's status.
With ``brotli_static``/``gzip_static``, ``FILE.br``/``FILE.gz`` is served instead when it
exists and the client accepts it (``always``: whatever it accepts), opened beneath the root
like the file itself, with the file's Content-Type and the variant's own validators; Range
counts the compressed bytes.
Directories: without a trailing slash, 301 to ``uri/``; with one, the first existing
``index`` file by internal redirect (location matching runs again), else autoindex (next in
the chain) when it is on, else 403.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod

from framework.bounded_cache import BoundedCache
from framework.config.models import LocationConfig
from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import FileBody, Response
from framework.http.wire import header_block
from framework.registry import registry
from framework.routing.locations import matcher_for
from framework.routing.paths import (
    OpenFile,
    file_opener,
    fs_mapper,
    open_parent,
    resolve_stat,
)
from framework.routing.urls import absolute_url, quote_path, quote_query
from handlers.conditional import evaluate, http_date, make_etag, range_allowed
from handlers.content_coding import add_vary, may_compress, request_codings
from handlers.ranges import parse_range
from handlers.static_cache import MAX_FILE, CachedFile, FileCache


class StaticHandler(Handler[HandlerSettings]):
    """Serves files from the location's root or alias."""

    name = "static"
    methods = frozenset({"GET", "HEAD", "DELETE"})

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        self._types = location.types
        self._default_type = location.default_type
        self._index = list(location.index)
        self._autoindex = location.autoindex
        self._mime_cache: dict[str, str] = {}  # extension as written -> MIME type
        self._cache = FileCache()  # small files, validated by lstat
        self._cached_entries = self._cache.entries
        self._map = fs_mapper(location)
        self._open = file_opener(location)
        self._variants = _variants(location)
        self._variant_vary = location.gzip_vary
        # variants apart: a request for FILE.gz itself must not get FILE's variant headers
        self._variant_cache = FileCache()

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
        if self._variants and path[-1:] != "/":
            response, vary = self._precompressed(request, path)
            if response is not None:
                return response
            if vary:
                response = self._get_original(request, path)
                if response is not None:
                    add_vary(response.headers)
                return response
        return self._get_original(request, path)

    def _get_original(self, request: Request, path: str) -> Response | None:
        if self._cached_entries:  # a dict: no Python-level __len__ on the hot path
            entry = self._cached(path)
            if entry is not None:
                return self._cached_response(request, entry)
        try:
            file, fs_path, st = self._open(path)
        except HTTPError as exc:
            if len(self._cache):
                self._forget(path)
            if exc.status == 404:
                self._missing_slash(request)
            raise
        if file is None:
            if stat_mod.S_ISDIR(st.st_mode):
                return self._directory(request, path)
            raise HTTPError(403)  # a device, FIFO or socket
        try:
            return self._file_response(request, file, fs_path, st)
        except BaseException:
            file.close()
            raise

    def _file_response(
        self,
        request: Request,
        file: OpenFile,
        fs_path: str,
        st: os.stat_result,
        cache: FileCache | None = None,
        original: str | None = None,
        coding: str | None = None,
        vary: bool = False,
    ) -> Response:
        """The answer from the open ``file``; for a precompressed variant, ``original`` is
        the path whose type it has and ``coding`` its Content-Encoding."""
        size = st.st_size
        etag, last_modified = _validators(st.st_mtime_ns, size)
        items = [
            ("content-type", "Content-Type", self._content_type(original or request.path)),
            ("last-modified", "Last-Modified", last_modified),
            ("etag", "ETag", etag),
            ("accept-ranges", "Accept-Ranges", "bytes"),
        ]
        if coding is not None:
            items.append(("content-encoding", "Content-Encoding", coding))
            if vary:
                items.append(("vary", "Vary", "Accept-Encoding"))
        if size <= MAX_FILE:
            extra = (items, header_block(Headers.from_items(items)))
            entry = (cache if cache is not None else self._cache).store(
                fs_path, file.fd, st, etag, last_modified, extra
            )
            if entry is not None:
                file.close()
                return self._cached_response(request, entry)
        headers = Headers.from_items(items)
        status, offset, length = _decide(
            request, headers, etag, last_modified, st.st_mtime_ns // 1_000_000_000, size
        )
        if status == 304:
            file.close()
            return Response(304, b"", headers)
        # HEAD: the engine sizes the body from the open file and sends none of it
        return Response(status, FileBody(file, offset, length), headers)  # type: ignore[arg-type]

    # -- gzip_static / brotli_static ----------------------------------------------------------
    def _precompressed(self, request: Request, path: str) -> tuple[Response | None, bool]:
        """``(response, vary)``: the answer from ``path``.br or ``path``.gz when one exists
        and the client takes it (``always``: whatever it accepts), else None; ``vary`` says
        whether a variant exists in ``on`` mode with ``gzip_vary``, so that the original
        answer needs ``Vary: Accept-Encoding`` too (nginx's rule). Each variant is opened
        beneath the root exactly as the file itself; a missing or unreadable variant, or a
        directory, is skipped."""
        accepted: frozenset[str] | None = None
        vary = False
        for suffix, coding, always in self._variants:
            if always:
                taken = True
            else:
                if accepted is None:
                    accepted = request_codings(request)
                taken = coding in accepted and may_compress(request, self.location, None)
                if not taken and not self._variant_vary:
                    continue  # its existence would change nothing
            variant = path + suffix
            entry = self._cached_variant(variant)
            opened: tuple[OpenFile, str, os.stat_result] | None = None
            if entry is None:
                try:
                    file, fs_path, st = self._open(variant)
                except HTTPError:
                    continue
                if file is None:
                    continue  # a directory (or a device) is not a variant
                opened = (file, fs_path, st)
            if not always and self._variant_vary:
                vary = True
            if not taken:
                if opened is not None:
                    opened[0].close()
                continue
            if entry is not None:
                return self._cached_response(request, entry), vary
            assert opened is not None
            file, fs_path, st = opened
            try:
                response = self._file_response(
                    request, file, fs_path, st, self._variant_cache, path, coding, vary
                )
            except BaseException:
                file.close()
                raise
            return response, vary
        return None, vary

    def _cached_response(self, request: Request, entry: CachedFile) -> Response:
        headers = Headers.from_items(*entry.extra)  # type: ignore[misc]
        data = entry.data
        status, offset, length = _decide(
            request, headers, entry.etag, entry.last_modified, entry.mtime, len(data)
        )
        if status == 304:
            return Response(304, b"", headers)
        if status == 206:
            data = data[offset : offset + length]
        return Response(status, data, headers)

    def _cached(self, path: str) -> CachedFile | None:
        """The cache entry for ``path`` if ``lstat`` of its file shows the very inode and
        version that was cached. Safe against a directory swapped for a symlink: an entry
        was filled from a file opened beneath the root, and a hit serves those cached
        bytes, never the file the path may lead to now (which has another inode, so it
        misses and the contained open decides)."""
        try:
            return self._cache.lookup(self._map(path))
        except HTTPError:
            return None  # an alias mapping that climbs: never cached

    def _cached_variant(self, path: str) -> CachedFile | None:
        if not self._variant_cache.entries:
            return None
        try:
            return self._variant_cache.lookup(self._map(path))
        except HTTPError:
            return None

    def _forget(self, path: str) -> None:
        try:
            self._cache.discard(self._map(path))
        except HTTPError:
            pass  # an alias mapping that climbs: never cached

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
        _, st = resolve_stat(self.location, request.path)
        assert st is not None
        if stat_mod.S_ISDIR(st.st_mode):
            raise HTTPError(409)
        # unlink by name in a directory opened beneath the root: a directory on the way
        # swapped for a symlink meanwhile cannot redirect the removal outside
        dir_fd, name = open_parent(self.location, request.path)
        try:
            os.unlink(name, dir_fd=dir_fd)
        except FileNotFoundError:
            raise HTTPError(404) from None
        except IsADirectoryError:
            raise HTTPError(409) from None
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise HTTPError(403) from None
            raise
        finally:
            os.close(dir_fd)
        return Response(204)


def _variants(location: LocationConfig) -> tuple[tuple[str, str, bool], ...]:
    """``(suffix, coding, always)`` of the precompressed variants a location serves, in
    order of preference (brotli compresses better)."""
    out = []
    if location.brotli_static != "off":
        out.append((".br", "br", location.brotli_static == "always"))
    if location.gzip_static != "off":
        out.append((".gz", "gzip", location.gzip_static == "always"))
    return tuple(out)


def _decide(
    request: Request, headers: Headers, etag: str, last_modified: str, mtime: int, size: int
) -> tuple[int, int, int]:
    """(status, offset, length) for a GET/HEAD of a file: 304 when a precondition says
    not modified, 206 for one satisfiable range (Content-Range added to ``headers``), else
    200 for the whole file; raises 412/416. An ``error_page`` target is always sent whole:
    its status is the error's, never 206/304/412/416 (as nginx)."""
    state = request.state
    if state and "error_status" in state:
        return 200, 0, size
    req_headers = request.headers
    conditional = ranged = False
    for lower, _, _ in req_headers._items:
        if lower[:3] == "if-":
            conditional = True
        elif lower == "range":
            ranged = True
    if conditional:
        status = evaluate(req_headers, etag, mtime, request.method)
        if status is not None:
            if status == 304:
                return 304, 0, 0
            raise HTTPError(status)
    if ranged and request.method == "GET":
        range_header = req_headers.get("range")
        if range_header is not None and range_allowed(req_headers, etag, last_modified):
            decision = parse_range(range_header, size)
            if decision.kind == "partial":
                offset, length = decision.offset, decision.length
                headers.add("Content-Range", f"bytes {offset}-{offset + length - 1}/{size}")
                return 206, offset, length
            if decision.kind == "unsatisfiable":
                raise HTTPError(416, headers={"Content-Range": f"bytes */{size}"})
    return 200, 0, size


_validator_cache: BoundedCache[tuple[int, int], tuple[str, str]] = BoundedCache(4096)


def _validators(mtime_ns: int, size: int) -> tuple[str, str]:
    """(ETag, Last-Modified) for a file version, cached."""
    key = (mtime_ns, size)
    found = _validator_cache.get(key)
    if found is None:
        seconds = mtime_ns // 1_000_000_000
        found = (make_etag(mtime_ns, size), http_date(seconds))
        _validator_cache.put(key, found)
    return found


def _with_query(uri: str, query: str) -> str:
    return f"{uri}?{quote_query(query)}" if query else uri


def _redirect(request: Request, path: str) -> None:
    """301 to ``path`` (decoded, normalised) keeping the query; ``Location`` is absolute
    unless the location has ``absolute_redirect off`` (``absolute_url``)."""
    location = absolute_url(request, path, request.query)
    raise HTTPError(301, headers={"Location": location})


registry.register(StaticHandler)
