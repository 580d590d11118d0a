"""Cookie-based sessions (the 42 subject's bonus) and a visit counter page.

    load_module sessions;
    location /visits {
        handler sessions { secret "${SESSION_SECRET}"; max_age 30m; }
        handler visits;
    }

``sessions`` is a wrapping handler: it finds the session named by the signed cookie (or
starts a fresh one), exposes it to the rest of the chain as ``request.state["session"]`` (a
dict), and sets the cookie on the way back. ``visits`` is a terminal handler that counts the
visits of the current session (``?reset`` ends the session).

- The cookie holds a random session id and its HMAC-SHA256 under ``secret``. A forged,
  tampered or expired cookie gets a fresh session, never an error.
- Session data stays in this worker's memory and expires after ``max_age`` without a
  visit; at most ``max_sessions`` are kept (the least recently used go first).
- Without a ``secret`` each worker draws a random one, so sessions do not survive a
  restart and, with ``workers > 1``, not a change of worker either: set one in production.
- The cookie is ``HttpOnly`` and ``SameSite=Lax`` (``secure on;`` adds ``Secure``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated

from pydantic import BeforeValidator, Field

from framework import Handler, Request, Response

_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> object:
    """``"30m"`` -> 1800.0 (units ms, s, m, h, d; a bare number is seconds)."""
    if isinstance(value, str):
        for unit in ("ms", "s", "m", "h", "d"):
            number = value[: -len(unit)]
            if value.endswith(unit) and number.replace(".", "", 1).isdigit():
                return float(number) * _SECONDS[unit]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]


class Session(dict):
    """One session's data (a dict) plus its id and expiry."""

    def __init__(self, sid: str, expires: float, *, new: bool) -> None:
        super().__init__()
        self.id = sid
        self.expires = expires
        self.new = new
        self.ended = False

    def end(self) -> None:
        """Forget this session; the response expires the cookie."""
        self.clear()
        self.ended = True


class SessionStore:
    """In-memory sessions, least recently used first, with idle expiry."""

    def __init__(self, *, max_sessions: int, clock: Callable[[], float] = time.monotonic):
        self.max_sessions = max_sessions
        self.clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, sid: str, ttl: float) -> Session | None:
        """The live session ``sid`` (its expiry pushed back by ``ttl``), or None."""
        now = self.clock()
        session = self._sessions.get(sid)
        if session is None:
            return None
        if session.expires <= now:
            del self._sessions[sid]
            return None
        session.expires = now + ttl
        session.new = False
        self._sessions.move_to_end(sid)
        return session

    def create(self, ttl: float) -> Session:
        now = self.clock()
        self._purge(now)
        while len(self._sessions) >= self.max_sessions:
            self._sessions.popitem(last=False)
        session = Session(secrets.token_urlsafe(18), now + ttl, new=True)
        self._sessions[session.id] = session
        return session

    def discard(self, sid: str) -> None:
        self._sessions.pop(sid, None)

    def _purge(self, now: float) -> None:
        # ordered by last use, so the expired ones are at the front
        while self._sessions:
            sid, oldest = next(iter(self._sessions.items()))
            if oldest.expires > now:
                break
            del self._sessions[sid]


class CookieSigner:
    """``sid.mac`` cookie values, where mac = base64url(HMAC-SHA256(key, sid))."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _mac(self, sid: str) -> str:
        digest = hmac.new(self.key, sid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, sid: str) -> str:
        return f"{sid}.{self._mac(sid)}"

    def unsign(self, value: str) -> str | None:
        """The session id if ``value`` carries a valid signature, else None."""
        sid, dot, mac = value.rpartition(".")
        if not dot or not sid or not hmac.compare_digest(mac, self._mac(sid)):
            return None
        return sid


def cookie_value(request: Request, name: str) -> str | None:
    """The value of cookie ``name`` from the request's ``Cookie`` header(s)."""
    for header in request.headers.get_all("cookie"):
        for pair in header.split(";"):
            key, eq, value = pair.strip().partition("=")
            if eq and key == name:
                return value.strip().strip('"')
    return None


_stores: dict[str, SessionStore] = {}  # per worker, shared by the locations using a cookie
_worker_key: bytes | None = None


def _random_worker_key() -> bytes:
    global _worker_key
    if _worker_key is None:  # drawn at first use, i.e. in the worker after the fork
        _worker_key = secrets.token_bytes(32)
    return _worker_key


class Sessions(Handler):
    """Attaches ``request.state["session"]`` and maintains the signed session cookie."""

    name = "sessions"

    class Settings(Handler.Settings):
        secret: str | None = Field(default=None, min_length=16)
        cookie_name: str = Field(default="webserv_session", pattern=r"^[A-Za-z0-9_\-]+$")
        cookie_path: str = Field(default="/", pattern=r"^/[^;\s]*$")
        max_age: Duration = 1800.0
        max_sessions: int = Field(default=10_000, gt=0)
        secure: bool = False

    def __init__(self, settings, location) -> None:
        super().__init__(settings, location)
        self._signer: CookieSigner | None = None
        store = _stores.get(settings.cookie_name)
        if store is None:
            store = _stores[settings.cookie_name] = SessionStore(max_sessions=settings.max_sessions)
        self.store = store

    @property
    def signer(self) -> CookieSigner:
        if self._signer is None:
            secret = self.settings.secret
            self._signer = CookieSigner(secret.encode() if secret else _random_worker_key())
        return self._signer

    def load(self, request: Request) -> Session:
        """The request's session: the one its cookie names, or a fresh one."""
        ttl = self.settings.max_age
        value = cookie_value(request, self.settings.cookie_name)
        sid = self.signer.unsign(value) if value else None
        session = self.store.get(sid, ttl) if sid else None
        return session if session is not None else self.store.create(ttl)

    def set_cookie(self, session: Session) -> str:
        s = self.settings
        if session.ended:
            self.store.discard(session.id)
            value, max_age = "", 0
        else:
            value, max_age = self.signer.sign(session.id), int(s.max_age)
        cookie = f"{s.cookie_name}={value}; Path={s.cookie_path}; Max-Age={max_age}"
        cookie += "; HttpOnly; SameSite=Lax"
        return cookie + "; Secure" if s.secure else cookie

    async def handle(self, request: Request, call_next) -> Response:
        session = self.load(request)
        request.state["session"] = session
        response = await call_next(request)
        # sent every time: the expiry slides with each visit, in the browser as here
        response.headers.add("Set-Cookie", self.set_cookie(session))
        return response


class Visits(Handler):
    """A page counting the visits of the current session (needs ``sessions`` first)."""

    name = "visits"
    methods = frozenset({"GET", "HEAD"})

    async def handle(self, request: Request, call_next) -> Response:
        if request.method not in ("GET", "HEAD"):
            return await call_next(request)
        session = request.state.get("session")
        if session is None:
            raise RuntimeError('the "visits" handler needs "handler sessions;" before it')
        if request.query == "reset" or request.query.startswith("reset&"):
            session.end()
            return Response(200, _page("Session ended.", 0), headers=_HTML)
        visits = session.get("visits", 0)
        if request.method == "GET":  # HEAD looks without counting
            session["visits"] = visits = visits + 1
        message = "Welcome! This is your first visit." if visits <= 1 else "Welcome back!"
        headers = {**_HTML, "X-Visits": str(visits)}
        return Response(200, _page(message, visits), headers=headers)


_HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def _page(message: str, visits: int) -> str:
    return (
        "<!DOCTYPE html>\n<html><head><title>Visits</title></head><body>\n"
        f"<h1>{html.escape(message)}</h1>\n"
        f'<p>Visits in this session: <strong id="visits">{visits}</strong></p>\n'
        '<p><a href="?reset">End the session</a></p>\n'
        "</body></html>\n"
    )
