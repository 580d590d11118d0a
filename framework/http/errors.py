"""Control-flow exceptions that handlers raise and the pipeline turns into responses."""

from __future__ import annotations

from framework.http.headers import Headers


class HTTPError(Exception):
    """Answer with ``status`` (through ``error_page`` or the built-in page).

    ``headers`` are added to the error response (e.g. ``Allow`` on 405).
    ``close`` asks the engine to close the connection after the response.
    """

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        headers: Headers | dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(f"{status} {detail}".strip())
        self.status = status
        self.detail = detail
        self.headers = Headers(headers)
        self.close = close


class InternalRedirect(Exception):  # noqa: N818 - control flow, not an error
    """Re-run location matching for ``uri`` (index files, ``error_page``, CGI local
    redirects). ``method`` replaces the request method when given (error pages use GET)."""

    def __init__(self, uri: str, *, method: str | None = None) -> None:
        super().__init__(uri)
        self.uri = uri
        self.method = method
