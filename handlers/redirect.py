"""``return CODE [URL|TEXT];`` -- redirects and fixed answers.

301/302/303/307/308 send ``Location``: a URL starting with ``/`` is made absolute with the
request's scheme and (validated) host as nginx does (``absolute_redirect``,
``port_in_redirect``), and never starts with ``//`` or ``/\\``. Other codes
answer with the text as body; nginx variables in either are expanded
(``framework.http.variables``).
"""

from __future__ import annotations

import re

from framework.config.models import LocationConfig
from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.errorpage import error_page_bytes
from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.http.response import Response
from framework.http.variables import expand
from framework.registry import registry
from framework.routing.urls import redirect_url

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_UNSAFE = re.compile(r"[^\x21-\x7e]")  # controls, space, DEL and non-ASCII


def _percent_encode(match: re.Match[str]) -> str:
    data = match.group(0).encode("utf-8", "surrogateescape")
    return "".join(f"%{byte:02X}" for byte in data)


def location_url(request: Request, url: str) -> str:
    """Make ``url`` safe for a ``Location`` header: a local one (starting with ``/``) has
    ``//`` and ``/\\`` collapsed so it can never become protocol-relative and is made
    absolute unless ``absolute_redirect`` is off (``redirect_url``); controls, spaces and
    non-ASCII characters are percent-encoded (as UTF-8)."""
    url = _UNSAFE.sub(_percent_encode, url)
    if url.startswith("/") or url.startswith("\\"):
        return redirect_url(request, "/" + url.lstrip("/\\"))
    return url


class RedirectHandler(Handler):
    """Answers every request of the location per its ``return`` directive."""

    name = "redirect"

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        self.methods = location.allow_methods  # `return` answers every allowed method

    @classmethod
    def from_location(cls, location: LocationConfig) -> RedirectHandler | None:
        """Enabled only where ``return`` is set."""
        return cls(cls.Settings(), location) if location.return_ is not None else None

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        spec = self.location.return_
        server = request.server_config
        if server is not None and server.context.return_ is not None:
            # nginx runs a server-level `return` before any location is chosen: it wins
            spec = server.context.return_
        if spec is None:
            return await call_next(request)
        status = spec.status
        if status in REDIRECT_CODES:
            headers = {"Content-Type": "text/html"}
            target = spec.url if spec.url is not None else spec.text
            if target is not None:  # `return 301;`: an empty Location, as nginx sends
                headers["Location"] = location_url(request, expand(target, request))
            return Response(status, error_page_bytes(status), headers)  # nginx's page
        text = spec.text if spec.text is not None else spec.url
        if text is None and status > 599:
            # nginx has no page for 600-999 (nor can error_page name them): empty, untyped
            return Response(status, b"", {})
        if text is None and status >= 400:
            # nginx: `return 403;` is an error like any other: its page, and error_page
            raise HTTPError(status)
        if text is None and status in (204, 304):
            return Response(status, b"", {})  # no body, so no Content-Type (nginx)
        body = expand(text, request) if text else ""
        # a non-UTF-8 byte of the request path ($uri of /b/%FF) goes out raw, as in nginx
        return Response(
            status,
            body.encode("utf-8", "surrogateescape"),
            {"Content-Type": "text/plain; charset=utf-8"},
        )


registry.register(RedirectHandler)
