"""The ``cgi`` handler: CGI/1.1 (RFC 3875) with streaming in both directions.

``cgi EXT [INTERPRETER] [virtual];`` in a location makes paths whose first segment ending
in EXT run as scripts (``/cgi-bin/a.py/extra`` runs ``a.py`` with PATH_INFO ``/extra``).
The request body is streamed into stdin while stdout is streamed back to the client, with
backpressure both ways (see ``handlers.cgi_run``); the script's output header block decides
between a document, a local redirect (re-routed internally as GET) and a client redirect.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import AsyncIterable

from framework.config.models import LocationConfig
from framework.core.child import ChildProcess
from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from framework.logs import error_log as log
from framework.registry import registry
from framework.routing.paths import open_parent, resolve_stat
from handlers.cgi_dechunk import dechunked
from handlers.cgi_env import build_environ, is_nph, split_script_path
from handlers.cgi_output import CgiOutputError, interpret_head
from handlers.cgi_run import CgiRun, CgiTimeout, SpoolReader, spool

SMALL_RESPONSE = 64 * 1024  # output up to this size, if complete at once, is sent as bytes


class CgiHandler(Handler):
    """Runs CGI scripts for the extensions configured with ``cgi`` in this location."""

    name = "cgi"

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        self.methods = location.allow_methods  # every allowed method reaches the script

    @classmethod
    def from_location(cls, location: LocationConfig) -> CgiHandler | None:
        """The handler for ``location``, or None when it has no ``cgi`` rule."""
        if not location.cgi:
            return None
        return cls(cls.Settings(), location)

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        location = self.location
        match = split_script_path(request.path, location.cgi)
        if match is None:
            return await call_next(request)
        rule = match.rule
        script, exists = self._script_path(match.script_name, virtual=rule.virtual)
        if rule.interpreter is None and not os.access(script, os.X_OK):
            raise HTTPError(403, "CGI script is not executable")

        body = request.body
        source: AsyncIterable[bytes] | None = None
        content_length: int | None = None
        if body.length is None:  # chunked
            if location.cgi_buffer_request_body:
                spooled, content_length = await spool(body, location.client_max_body_size)
                source = SpoolReader(spooled)
            else:
                source = body
        elif body.length > 0:
            source, content_length = body, body.length

        document_root = location.alias or location.root
        env = build_environ(
            request,
            script_name=match.script_name,
            path_info=match.path_info,
            script_filename=script,
            document_root=str(document_root),
            content_length=content_length,
        )
        dir_fd = -1
        cwd: str | int
        if exists:
            # the child starts in the script's directory opened beneath the root and the
            # script is named relative to it: a directory on the way swapped for a symlink
            # after the check above cannot redirect the exec
            dir_fd, name = open_parent(location, match.script_name)
            program = f"./{name}"
            cwd = dir_fd
        else:  # virtual: the interpreter gets the path, nothing of ours is executed
            program = script
            directory = os.path.dirname(script)
            cwd = directory if os.path.isdir(directory) else str(document_root)
        argv = [program] if rule.interpreter is None else [str(rule.interpreter), program]
        label = f"cgi {match.script_name}"
        try:
            child = ChildProcess.spawn(argv, env=env, cwd=cwd, stdin=source is not None)
        except OSError as exc:
            if source is not None and hasattr(source, "aclose"):
                await source.aclose()
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                raise  # out of fds: the pipeline answers 503
            log.error("%s: cannot execute %s: %s", label, argv[0], exc.strerror or exc)
            status = 403 if exc.errno in (errno.EACCES, errno.EPERM) else 502
            raise HTTPError(status, "cannot execute the CGI script") from None
        finally:
            if dir_fd >= 0:
                os.close(dir_fd)
        request.answer_after_half_close()  # a FIN after the whole body: answer (lighttpd)
        run = CgiRun(child, timeout=location.cgi_timeout, log=log, label=label)
        try:
            run.feed(source)
            if is_nph(match.script_name):
                return await self._nph_response(run, label)
            return await self._response(run, label)
        except BaseException:
            run.close()
            raise

    def _script_path(self, script_name: str, *, virtual: bool) -> tuple[str, bool]:
        """The script's file and whether it exists. It is looked up beneath the root/alias
        (``resolve_stat`` opens it relative to the root's directory fd, so a symlink swapped
        in cannot pass the check); the spawn then runs it from its directory opened the same
        way. What is left is the script's own name in that directory: replacing it needs
        write access to the CGI directory, which is already the power to run code."""
        script, st = resolve_stat(self.location, script_name, must_exist=not virtual)
        if st is None:
            return script, False  # virtual: the interpreter gets the path anyway
        if stat.S_ISDIR(st.st_mode):
            raise HTTPError(403, "CGI script is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise HTTPError(404)
        return script, True

    async def _response(self, run: CgiRun, label: str) -> Response:
        try:
            head = await run.read_head()
            meaning = interpret_head(head.fields)
        except CgiTimeout:
            raise HTTPError(504, "CGI script timed out") from None
        except CgiOutputError as exc:
            log.error("%s: bad output: %s", label, exc)
            raise HTTPError(502, "bad CGI output") from None
        if meaning.kind == "local-redirect":
            assert meaning.location is not None
            run.close()
            raise InternalRedirect(meaning.location, method="GET")
        if meaning.chunked:  # decoded as it streams; the engine frames it again
            body = dechunked(run.body(head.rest), label)
            return Response(meaning.status, body, meaning.headers, reason=meaning.reason)
        return await self._document(run, meaning.status, meaning.reason, meaning.headers, head.rest)

    async def _document(
        self, run: CgiRun, status: int, reason: str | None, headers: Headers, first: bytes
    ) -> Response:
        # Output that is complete already (the common small page) goes out as bytes, in one
        # write with a Content-Length; anything else is streamed as the script writes it.
        whole = await run.read_complete(first, SMALL_RESPONSE)
        if whole is None:
            return Response(status, run.body(), headers, reason=reason)
        declared = headers.pop("content-length")
        if declared is not None and int(declared) < len(whole):
            whole = whole[: int(declared)]
        return Response(status, whole, headers, reason=reason)

    async def _nph_response(self, run: CgiRun, label: str) -> Response:
        # Non-parsed headers: the script writes the whole HTTP message, passed through raw.
        # Only its first bytes are awaited here, so silence or a timeout still gets an answer.
        first = await run.stdout.read()
        if run.timed_out:
            raise HTTPError(504, "CGI script timed out")
        if not first:
            log.error("%s: bad NPH output: script produced no output", label)
            raise HTTPError(502, "bad CGI output")
        status = 200
        if first[:5] == b"HTTP/" and first[9:12].isdigit():
            status = int(first[9:12])  # for the access log only
        return Response(status, run.body(first), raw=True)


registry.register(CgiHandler)
