"""The built-in HTML error pages (nginx's layout), cached per status, with the product and
version in the footer (``server_tokens off``: the product alone, as nginx)."""

from __future__ import annotations

from framework.http.headers import Headers
from framework.http.response import Response
from framework.http.wire import reason_phrase
from framework.version import PRODUCT, PRODUCT_VERSION

_PAGES: dict[int, bytes] = {}
# id() of a page in _PAGES (kept alive there) -> the same page without the version
_WITHOUT_VERSION: dict[int, bytes] = {}


def _render(status: int, footer: str) -> bytes:
    title = f"{status} {reason_phrase(status)}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>{footer}</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def error_page_bytes(status: int) -> bytes:
    """The built-in page body for ``status`` (the footer names the version)."""
    page = _PAGES.get(status)
    if page is None:
        page = _PAGES[status] = _render(status, PRODUCT_VERSION)
        _WITHOUT_VERSION[id(page)] = _render(status, PRODUCT)
    return page


def without_version(body: bytes) -> bytes:
    """``body`` itself, or, when it is a built-in page (``error_page_bytes``), the same
    page with the product alone in its footer (``server_tokens off``)."""
    # pages are never dropped from _PAGES, so no other object can have a page's id()
    return _WITHOUT_VERSION.get(id(body), body)


class ErrorResponse(Response):
    """A response for an error status that webserv decided (an ``HTTPError``, a method not
    allowed, a body too large, a failing handler): the built-in page, which ``error_page``
    may replace. A response a handler builds itself keeps its own body, as in nginx.

    ``close``: the connection is closed after it (the request framing cannot be trusted)."""

    __slots__ = ("close",)

    def __init__(self, status: int, body: bytes, headers: Headers, close: bool = False) -> None:
        super().__init__(status, body, headers)
        self.close = close


def builtin_error_response(
    status: int, headers: Headers | None = None, *, close: bool = False
) -> ErrorResponse:
    """A fresh ``ErrorResponse`` with the built-in page (204/304/1xx get no body); with
    ``close``, it carries ``Connection: close``."""
    out = Headers(headers) if headers is not None else Headers()
    if close:
        out["Connection"] = "close"
    if status < 200 or status in (204, 304):
        return ErrorResponse(status, b"", out, close)
    out["Content-Type"] = "text/html"
    return ErrorResponse(status, error_page_bytes(status), out, close)
