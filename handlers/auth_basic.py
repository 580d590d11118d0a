"""Built-in handler: ``auth_basic`` with ``auth_basic_user_file`` (HTTP Basic, RFC 7617).

Enabled where ``auth_basic`` names a realm and a user file is set (as in nginx, a realm
without a file protects nothing: ``validate-config`` reports it as an error). A request
without valid credentials gets 401 with ``WWW-Authenticate: Basic realm="..."``; a
malformed ``Authorization`` header is a 401 too, never a 500. An accepted user is
``request.remote_user`` (the access log's third field, CGI ``REMOTE_USER``).

The user file is checked with one ``stat`` per request and re-read when it changes (see
``framework.htpasswd``). Verifying a hash runs on the event loop -- no threads in the I/O
core -- so its cost is every other client's latency: about 3 ms for a bcrypt cost-5 hash
and 90 ms for cost 10 on the reference machine. Successful checks are remembered (keyed on
a digest of the exact credentials and the file's identity, bounded), so a client repeating
good credentials pays that once; wrong passwords pay it every time.
"""

from __future__ import annotations

import base64
import binascii
import re

from framework.config.models import LocationConfig
from framework.handler import CallNext, Handler, HandlerSettings
from framework.htpasswd import Outcome, UserFile, UserFileError, user_file
from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.http.response import Response
from framework.logs import error_log
from framework.registry import registry

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_CREDENTIALS = 8192  # base64 characters; far above any real user:password


def printable(text: str) -> str:
    """``text`` with control characters as ``\\xHH`` (for log lines and CGI variables)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def challenge(realm: str) -> str:
    """The ``WWW-Authenticate`` value for ``realm`` (a quoted-string, RFC 9110 5.6.4)."""
    escaped = realm.replace("\\", "\\\\").replace('"', '\\"')
    return f'Basic realm="{escaped}"'


def basic_credentials(value: str) -> tuple[bytes, bytes] | None:
    """(user, password) from an ``Authorization: Basic ...`` value, or None when it is not
    one or is malformed. Lenient where nginx is (scheme case, extra spaces, missing
    base64 padding); an empty user name or a value without ``:`` is refused."""
    scheme, _, rest = value.strip(" \t").partition(" ")
    if scheme.lower() != "basic":
        return None
    token = rest.strip(" \t")
    if not token or len(token) > MAX_CREDENTIALS:
        return None
    token += "=" * (-len(token) % 4)
    try:
        decoded = base64.b64decode(token.encode("latin-1"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    if not colon or not user:
        return None
    return user, password


class AuthBasicHandler(Handler):
    """Answers 401 unless the request carries a user and password the user file accepts."""

    name = "auth_basic"
    methods = frozenset()  # a check: it answers no method itself

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        assert location.auth_basic is not None and location.auth_basic_user_file is not None
        self.realm = location.auth_basic
        self.users: UserFile = user_file(location.auth_basic_user_file)
        self._denied = {"WWW-Authenticate": challenge(self.realm)}

    @classmethod
    def from_location(cls, location: LocationConfig) -> AuthBasicHandler | None:
        """Enabled where ``auth_basic`` is on and ``auth_basic_user_file`` is set."""
        if location.auth_basic is None or location.auth_basic_user_file is None:
            return None
        return cls(cls.Settings(), location)

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        values = request.headers.get_all("authorization")
        if len(values) > 1:  # which one would count? nginx 1.22 answers 400 too
            raise HTTPError(400)
        credentials = basic_credentials(values[0]) if values else None
        if credentials is None:
            raise HTTPError(401, headers=self._denied)
        user, password = credentials
        try:
            outcome = self.users.check(user, password)
        except UserFileError as exc:
            error_log.error("%s, client: %s", exc.message, request.client[0])
            raise HTTPError(exc.status) from None
        name = printable(user.decode("utf-8", "backslashreplace"))
        if outcome is not Outcome.ACCEPTED:
            if outcome is Outcome.NO_SUCH_USER:
                why = f' was not found in "{self.users.path}"'
            else:
                why = f": {outcome.value}"
            error_log.error('user "%s"%s, client: %s', name, why, request.client[0])
            raise HTTPError(401, headers=self._denied)
        request.remote_user = name
        return await call_next(request)


registry.register(AuthBasicHandler)
