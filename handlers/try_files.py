"""``try_files FILE... =CODE|URI;`` -- serve the first file that exists.

Each FILE is expanded (``$uri``, captures...) into a URI path and checked beneath the
location's root or alias with the same contained lookup the static handler uses (a symlink
or ``..`` can never make a file outside the root count). A FILE ending in ``/`` must be a
directory, any other must not be one. The first that exists becomes the request's path
(``$uri``) and the rest of the chain serves it in this location, as nginx does. When none
exists the last argument decides: ``=CODE`` answers with that status, a URI is an internal
redirect (location matching runs again; a query in it replaces the request's).

As in nginx, ``try_files`` applies only in the block that writes it: a server's
``try_files`` is used where no location matches, a location's is not inherited by the
locations nested in it.
"""

from __future__ import annotations

import stat as stat_mod

from framework.config.models import LocationConfig
from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.request import Request
from framework.http.response import Response
from framework.http.variables import expand_path, expand_uri
from framework.registry import registry
from framework.routing.paths import remove_dot_segments, resolve_stat


class TryFilesHandler(Handler):
    """Rewrites the request's path to the first existing FILE, else answers or redirects."""

    name = "try_files"
    methods: frozenset[str] = frozenset()  # it answers no method itself: 405/Allow stay true

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        spec = location.try_files
        assert spec is not None
        # nginx strips one trailing "/" and then requires a directory
        self._tries = [
            (name[:-1], True) if name[-1] == "/" else (name, False) for name in spec.files
        ]
        self._code = spec.code
        self._uri = spec.uri
        # an alias location maps only URIs under its prefix (nginx strips that prefix)
        self._prefix = (
            location.pattern
            if location.alias is not None and location.modifier in ("", "^~", "=")
            else ""
        )

    @classmethod
    def from_location(cls, location: LocationConfig) -> TryFilesHandler | None:
        """Enabled where ``try_files`` is written (never where it would be inherited)."""
        spec = location.try_files
        if spec is None or not spec.declared_in(location.span):
            return None
        return cls(cls.Settings(), location)

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        for template, want_dir in self._tries:
            path = self._candidate(expand_path(template, request))
            if path is not None and self._exists(path, want_dir):
                request.path = path
                return await call_next(request)
        if self._code is not None:
            raise HTTPError(self._code)
        assert self._uri is not None
        raise InternalRedirect(expand_uri(self._uri, request))

    def _candidate(self, path: str) -> str | None:
        """``path`` as a normalised URI path, or None when it cannot name a file here (a
        NUL, climbing above ``/``, outside an alias location's prefix)."""
        if "\x00" in path:
            return None
        if path[:1] != "/":
            path = "/" + path
        try:
            path = remove_dot_segments(path)
        except HTTPError:
            return None
        if self._prefix and not path.startswith(self._prefix):
            return None
        return path

    def _exists(self, path: str, want_dir: bool) -> bool:
        lookup = path if not want_dir or path[-1] == "/" else path + "/"
        try:
            _, st = resolve_stat(self.location, lookup)
        except HTTPError:  # missing, outside the root, not permitted: try the next one
            return False
        return st is not None and stat_mod.S_ISDIR(st.st_mode) == want_dir


registry.register(TryFilesHandler)
