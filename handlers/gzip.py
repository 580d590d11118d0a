"""Built-in handler: the ``gzip`` output filter (nginx's ngx_http_gzip_module).

An ``on_response`` filter, so it sees every final response of its location. As nginx 1.22
does, it compresses a response when ``gzip on``, the status is 200, 403 or 404, there is no
``Content-Encoding`` yet, the type is ``text/html`` or in ``gzip_types`` (``*``: any), the
length is unknown or at least ``gzip_min_length``, the client accepts gzip (q > 0) and
``gzip_http_version``/``gzip_disable``/``gzip_proxied`` allow it. Every response that passes
the first checks gets ``Vary: Accept-Encoding`` with ``gzip_vary on``, compressed or not.

A compressed response loses ``Content-Length`` (bytes bodies get the compressed length
back from the engine; streams go chunked or close-delimited) and ``Accept-Ranges``, and its
strong ETag becomes weak. A HEAD answer gets the same headers and no compression work. A
206 is never compressed (its status is not one of the three), nor is a raw (NPH) answer.
"""

from __future__ import annotations

from framework.config.models import LocationConfig
from framework.handler import Handler, HandlerSettings
from framework.http import wire
from framework.http.errorpage import ErrorResponse
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Body, FileBody, Response
from framework.registry import registry
from handlers.content_coding import add_vary, may_compress, request_codings
from handlers.gzip_bodies import (
    INLINE_LIMIT,
    close_file_body,
    compress_bytes,
    compress_cached_bytes,
    compress_file,
    compress_small_file,
    compress_stream,
    no_body,
)

COMPRESSED_STATUSES = frozenset({200, 403, 404})
CACHED_BYTES_LIMIT = 64 * 1024  # static content up to this size: compressed once, cached


class GzipHandler(Handler):
    """Compresses the location's responses with gzip, per the ``gzip*`` directives."""

    name = "gzip"
    methods = frozenset()  # a filter: answers no method itself

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        types = frozenset(location.gzip_types)
        self._any_type = "*" in types
        self._types = types | {"text/html"}
        self._min_length = location.gzip_min_length
        self._level = location.gzip_comp_level
        self._vary = location.gzip_vary
        self._error_pages = frozenset(location.error_pages)

    @classmethod
    def from_location(cls, location: LocationConfig) -> GzipHandler | None:
        """Enabled where ``gzip on``."""
        return cls(cls.Settings(), location) if location.gzip else None

    async def on_response(self, request: Request, response: Response) -> None:
        if response.status not in COMPRESSED_STATUSES or response.raw:
            return
        headers = response.headers
        if headers.get("content-encoding") or not self._type_matches(headers):
            return
        body = response.body
        try:
            length = _known_length(body, headers)
        except OSError:
            return  # a file body that cannot be stat-ed: the engine answers for it
        if length is not None and length < self._min_length:
            return
        if response.__class__ is ErrorResponse and response.status in self._error_pages:
            return  # error_page replaces this body; the page's own answer is filtered
        if self._vary:
            add_vary(headers)
        if "gzip" not in request_codings(request):
            return
        if not may_compress(request, self.location, headers):
            return
        _mark_encoded(headers)
        if request.original_method == "HEAD":
            if isinstance(body, FileBody):
                close_file_body(body)
            elif hasattr(body, "aclose"):
                await body.aclose()  # type: ignore[union-attr]
            response.body = no_body()
            return
        response.body = self._compressed(body, length, "etag" in headers)

    def _type_matches(self, headers: Headers) -> bool:
        if self._any_type:
            return True
        ctype = headers.get("content-type")
        if not ctype:
            return False
        return ctype.partition(";")[0].strip(" \t").lower() in self._types

    def _compressed(self, body: Body, length: int | None, static: bool) -> Body:
        level = self._level
        if isinstance(body, bytes):
            if static and len(body) <= CACHED_BYTES_LIMIT:
                return compress_cached_bytes(body, level)
            return compress_bytes(body, level)
        if isinstance(body, FileBody):
            if length is not None and length <= INLINE_LIMIT:
                return compress_small_file(body, length, level)
            return compress_file(body, level)
        return compress_stream(body, level)


def _known_length(body: object, headers: Headers) -> int | None:
    """The body's length when known without reading it (None for a stream without a
    Content-Length); ``OSError`` when a file body cannot be stat-ed."""
    if isinstance(body, bytes):
        given = headers.get("content-length")
        if not body and given is not None:  # a HEAD answer stating its GET's length
            return wire.parse_content_length(given)
        return len(body)
    if isinstance(body, FileBody):
        return body.size()
    given = headers.get("content-length")
    return wire.parse_content_length(given) if given is not None else None


def _mark_encoded(headers: Headers) -> None:
    headers.pop("content-length")
    headers.pop("accept-ranges")
    headers["Content-Encoding"] = "gzip"
    etag = headers.get("etag")
    if etag is not None and not etag.startswith("W/"):
        if etag.startswith('"'):
            headers["ETag"] = "W/" + etag
        else:
            headers.pop("etag")


registry.register(GzipHandler)
