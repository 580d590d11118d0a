"""Built-in handler: ``add_header``, ``expires`` and ``charset`` (nginx's
ngx_http_headers_module and the header half of ngx_http_charset_module).

An ``on_response`` filter, enabled only in locations that set one of them. As nginx 1.22
does:

- ``expires`` and ``add_header`` apply to 200, 201, 204, 206, 301, 302, 303, 304, 307 and
  308 answers; ``add_header ... always`` to every answer. ``expires`` goes first and replaces
  any ``Expires`` and ``Cache-Control``; then each ``add_header`` in order, its value with
  nginx variables expanded: an empty value adds nothing, and ``ETag``/``Last-Modified``
  replace the field (an empty value removes it).
- ``charset`` appends ``; charset=X`` to a ``Content-Type`` among ``charset_types``
  (``text/html`` always; ``*`` any) that has no charset yet, except on 301 and 302.
- For an error that ``error_page`` answers, only the page's location applies, with the
  status the client gets (the hook of the failing location adds nothing).

``server_tokens`` is the engine's (it writes ``Server``, ``framework.http.wire``); with
``server_tokens off`` this filter only swaps a built-in error page for the one without the
version before a later filter (gzip) re-encodes it.
"""

from __future__ import annotations

import time
from email.utils import formatdate, mktime_tz, parsedate_tz

from framework.bounded_cache import BoundedCache
from framework.config.directives_headers import Expires, parse_expires_value
from framework.config.models import LocationConfig
from framework.handler import Handler, HandlerSettings
from framework.http.errorpage import ErrorResponse, without_version
from framework.http.request import Request
from framework.http.response import Response
from framework.http.variables import expand
from framework.logs import error_log
from framework.pipeline import MAX_REDIRECTS
from framework.registry import registry

# the statuses nginx's headers filter calls "safe": expires and add_header apply to them
SAFE_STATUSES = frozenset({200, 201, 204, 206, 301, 302, 303, 304, 307, 308})
NO_CHARSET_STATUSES = frozenset({301, 302})  # nginx: old browsers kept it for the next page
EPOCH = ("Thu, 01 Jan 1970 00:00:01 GMT", "no-cache")
MAX = ("Thu, 31 Dec 2037 23:55:55 GMT", "max-age=315360000")
# fields nginx's add_header replaces instead of appending (an empty value removes them)
_REPLACED = frozenset({"etag", "last-modified"})
FINAL_STATUS_KEY = "error_page_status"  # request.state: the status an error page is sent with
CHARSET_CACHE_SIZE = 256  # distinct Content-Type values remembered per location


def http_date(when: float) -> str:
    return formatdate(when, usegmt=True)


def next_time_of_day(seconds: int, now: int) -> int:
    """The next moment (local time, after ``now``) that is ``seconds`` after midnight
    (nginx's ngx_next_time)."""
    tm = time.localtime(now)
    hour, rest = divmod(seconds, 3600)
    fields = (tm.tm_year, tm.tm_mon, tm.tm_mday, hour, rest // 60, rest % 60, 0, 0, -1)
    moment = int(time.mktime(fields))
    if moment > now:
        return moment
    return int(time.mktime((*fields[:2], fields[2] + 1, *fields[3:])))


def expires_fields(expires: Expires, last_modified: str | None, now: int) -> tuple[str, str]:
    """``(Expires, Cache-Control)`` values for ``expires`` at ``now`` (nginx's
    ngx_http_set_expires)."""
    if expires.mode == "epoch":
        return EPOCH
    if expires.mode == "max":
        return MAX
    seconds = expires.seconds
    if seconds == 0 and expires.mode != "daily":
        return http_date(now), "max-age=0"
    modified = None
    if expires.mode == "modified" and last_modified is not None:
        parsed = parsedate_tz(last_modified)
        modified = mktime_tz(parsed) if parsed is not None else None
    if expires.mode == "daily":
        moment = next_time_of_day(seconds, now)
        max_age = moment - now
    elif modified is None:  # "access", or "modified" without a Last-Modified
        moment, max_age = now + seconds, seconds
    else:
        moment = modified + seconds
        max_age = moment - now
    if seconds < 0 or max_age < 0:
        return http_date(moment), "no-cache"
    return http_date(moment), f"max-age={max_age}"


class HeadersHandler(Handler[HandlerSettings]):
    """Adds the location's ``add_header`` fields, ``expires`` and ``charset``."""

    name = "headers"
    methods = frozenset()  # a filter: answers no method itself

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        self._expires = location.expires
        self._access_cache: tuple[int, str, str] = (0, "", "")
        self._headers = [
            (h.name, h.value, h.always, "$" in h.value, h.name.lower() in _REPLACED)
            for h in location.add_headers
        ]
        self._charset = f"; charset={location.charset}" if location.charset else None
        types = frozenset(location.charset_types)
        self._any_type = "*" in types
        self._types = types | {"text/html"}
        # Content-Type -> with the charset
        self._charset_cache: BoundedCache[str, str] = BoundedCache(CHARSET_CACHE_SIZE)
        self._error_pages = location.error_pages
        self._bare_pages = not location.server_tokens

    @classmethod
    def from_location(cls, location: LocationConfig) -> HeadersHandler | None:
        """Enabled where ``add_header``, ``expires`` or ``charset`` is set."""
        if (
            location.add_headers
            or location.expires is not None
            or location.charset
            or not location.server_tokens
        ):
            return cls(cls.Settings(), location)
        return None

    async def on_response(self, request: Request, response: Response) -> None:
        if self._bare_pages and isinstance(response.body, bytes):
            # before any filter (gzip) re-encodes the page; the engine does the same for
            # errors answered before a location is chosen
            response.body = without_version(response.body)
        status = response.status
        state = request.state
        serving_page = bool(state) and "error_status" in state
        if response.__class__ is ErrorResponse:
            if not serving_page and request.redirects < MAX_REDIRECTS:
                page = self._error_pages.get(status)
                if page is not None and not page.uri.startswith(("http://", "https://")):
                    # error_page answers this error: only the page's location applies, to
                    # the status the page is sent with
                    state[FINAL_STATUS_KEY] = page.status_override or status
                    return
            # else: no error_page answers it (error_page applies once: this may be the
            # page itself failing), so it is sent with its own status
        elif serving_page and not (300 <= status < 400 and status != 304):
            status = state.get(FINAL_STATUS_KEY) or state["error_status"]
        safe = status in SAFE_STATUSES
        headers = response.headers
        if self._expires is not None and safe:
            self._set_expires(request, response)
        for name, value, always, variables, replaced in self._headers:
            if not (safe or always):
                continue
            if variables:
                value = expand(value, request, response)
            if replaced:
                if value:
                    headers[name] = value
                else:
                    headers.pop(name)
            elif value:
                headers.add(name, value)
        if self._charset is not None and status not in NO_CHARSET_STATUSES:
            self._add_charset(response)

    def _set_expires(self, request: Request, response: Response) -> None:
        configured = self._expires
        assert configured is not None
        expires = configured
        if expires.template is not None:
            text = expand(expires.template, request, response)
            parsed = parse_expires_value(text)
            if isinstance(parsed, str):
                error_log.error('invalid "expires" value "%s"', text)
                return
            if parsed is None:
                return
            if expires.mode == "modified" and parsed.mode == "access":
                parsed.mode = "modified"
            expires = parsed
        now = int(time.time())
        headers = response.headers
        # only a fixed configured value may share the per-second cache: a variable's
        # value differs from one response to the next
        if expires.mode == "access" and configured.template is None:
            cached = self._access_cache
            if cached[0] != now:
                cached = self._access_cache = (now, *expires_fields(expires, None, now))
            values = cached[1], cached[2]
        else:
            values = expires_fields(expires, headers.get("last-modified"), now)
        if headers.get("cache-control") is not None or headers.get("expires") is not None:
            headers.pop("expires")
            headers.pop("cache-control")
        headers.add("Expires", values[0])
        headers.add("Cache-Control", values[1])

    def _add_charset(self, response: Response) -> None:
        headers = response.headers
        ctype = headers.get("content-type")
        if not ctype:
            return
        cache = self._charset_cache
        changed = cache.get(ctype)
        if changed is None:
            changed = self._with_charset(ctype)
            cache.put(ctype, changed)
        if changed is not ctype:
            headers["Content-Type"] = changed

    def _with_charset(self, ctype: str) -> str:
        """``ctype`` with ``; charset=X`` appended, or ``ctype`` itself when it is not a
        charset type or already names a charset."""
        mime, _, params = ctype.partition(";")
        if not self._any_type and mime.strip(" \t").lower() not in self._types:
            return ctype
        if "charset=" in params.lower():
            return ctype
        return ctype.rstrip(" \t;") + self._charset  # type: ignore[operator]


registry.register(HeadersHandler)
