"""The built-in HTML error pages (nginx's layout), cached per status."""

from __future__ import annotations

from framework.http.headers import Headers
from framework.http.response import Response
from framework.http.wire import reason_phrase

_PAGES: dict[int, bytes] = {}


def error_page_bytes(status: int) -> bytes:
    """The built-in page body for ``status``."""
    page = _PAGES.get(status)
    if page is None:
        title = f"{status} {reason_phrase(status)}"
        page = _PAGES[status] = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>webserv</center>\r\n"
            "</body>\r\n</html>\r\n"
        ).encode()
    return page


def builtin_error_response(status: int, headers: Headers | None = None) -> Response:
    """A fresh ``Response`` with the built-in page (204/304/1xx get no body)."""
    out = Headers(headers) if headers is not None else Headers()
    if status < 200 or status in (204, 304):
        return Response(status, b"", out)
    out["Content-Type"] = "text/html"
    return Response(status, error_page_bytes(status), out)
