"""The CGI/1.1 environment (RFC 3875 section 4.1) and the SCRIPT_NAME / PATH_INFO split.

Pure functions: no I/O, so every rule is unit-tested byte by byte.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from framework.config.models import CgiRule
from framework.http.request import Request
from framework.routing.urls import origin_form
from framework.version import PRODUCT_VERSION

SERVER_SOFTWARE = PRODUCT_VERSION
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

_FIELD_NAME = re.compile(r"[A-Za-z0-9-]+")
# Header fields never turned into HTTP_* variables: Proxy (httpoxy, CVE-2016-5385), and the
# two that RFC 3875 already carries as CONTENT_LENGTH / CONTENT_TYPE.
_SKIPPED_FIELDS = frozenset({"proxy", "content-length", "content-type"})


@dataclass(frozen=True, slots=True)
class ScriptMatch:
    """Where the script ends in a request path."""

    script_name: str  # the URI path of the script, e.g. /cgi-bin/a.py
    path_info: str  # the rest, e.g. /extra/path ('' when none)
    rule: CgiRule


def split_script_path(path: str, rules: Sequence[CgiRule]) -> ScriptMatch | None:
    """Find the first path segment ending in a configured extension.

    ``/cgi-bin/a.py/extra/path`` with ``cgi .py`` gives (``/cgi-bin/a.py``, ``/extra/path``).
    Rules are tried in order for each segment; the leftmost matching segment wins.
    """
    if not rules:
        return None
    end = 0
    while True:
        slash = path.find("/", end + 1)
        segment_end = len(path) if slash == -1 else slash
        segment = path[end:segment_end]
        for rule in rules:
            ext = rule.extension
            if len(segment) > len(ext) + 1 and segment.endswith(ext):
                return ScriptMatch(path[:segment_end], path[segment_end:], rule)
        if slash == -1:
            return None
        end = slash


def is_nph(script_name: str) -> bool:
    """``nph-`` scripts write the status line and headers themselves."""
    return script_name.rsplit("/", 1)[-1].startswith("nph-")


def build_environ(
    request: Request,
    *,
    script_name: str,
    path_info: str,
    script_filename: str,
    document_root: str,
    content_length: int | None,
    path: str | None = None,
) -> dict[str, str]:
    """The script's complete environment: the RFC 3875 meta-variables, REQUEST_URI,
    SCRIPT_FILENAME, DOCUMENT_ROOT, REDIRECT_STATUS, PATH, and one HTTP_* per request
    header. Nothing else from the server's environment."""
    client_host, client_port = request.client
    server_host, server_port = request.server
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
        "SERVER_PROTOCOL": f"HTTP/{request.http_version}",
        "SERVER_NAME": request.host or server_host,
        "SERVER_PORT": str(server_port),
        "REQUEST_METHOD": request.method,
        "REQUEST_URI": origin_form(request.original_uri),  # never a foreign authority
        "SCRIPT_NAME": script_name,
        "SCRIPT_FILENAME": script_filename,
        "DOCUMENT_ROOT": document_root,
        "QUERY_STRING": request.query,  # raw, never decoded; "" when absent
        "REMOTE_ADDR": client_host,
        "REMOTE_HOST": client_host,  # RFC 3875 4.1.9: the address when not resolved
        "REMOTE_PORT": str(client_port) if client_port else "",  # a forwarded address without one
        "REDIRECT_STATUS": "200",  # php-cgi refuses to run without it
        "REQUEST_SCHEME": request.scheme,
        "PATH": path if path is not None else os.environ.get("PATH", DEFAULT_PATH),
    }
    if request.scheme == "https":  # TLS, or a trusted proxy's X-Forwarded-Proto
        env["HTTPS"] = "on"  # nginx's fastcgi_params: HTTPS $https if_not_empty
    if path_info:
        env["PATH_INFO"] = path_info
        env["PATH_TRANSLATED"] = document_root.rstrip("/") + path_info
    if content_length is not None:
        env["CONTENT_LENGTH"] = str(content_length)
    content_type = request.headers.get("content-type")
    if content_type is not None:
        env["CONTENT_TYPE"] = content_type
    authorization = request.headers.get("authorization")
    if authorization:
        env["AUTH_TYPE"] = authorization.split(" ", 1)[0]
    if request.remote_user:  # auth_basic accepted this user (RFC 3875 4.1.1, 4.1.11)
        env["AUTH_TYPE"] = "Basic"
        env["REMOTE_USER"] = request.remote_user
    env.update(header_variables(request, dechunked=content_length is not None))
    return env


def header_variables(request: Request, *, dechunked: bool = False) -> dict[str, str]:
    """HTTP_* variables from the request headers (``field_variables``)."""
    return field_variables(request.headers.items(), dechunked=dechunked)


def field_variables(
    fields: Iterable[tuple[str, str]], *, dechunked: bool = False
) -> dict[str, str]:
    """HTTP_* variables from header fields (also the WSGI bridge's environ).

    Names with characters outside ``[A-Za-z0-9-]`` are dropped (so ``X_Foo`` cannot pose as
    ``X-Foo``); repeated fields are joined with ``, `` (cookies with ``; ``, RFC 6265).
    ``dechunked``: the body was spooled, so Transfer-Encoding no longer describes stdin.
    """
    joined: dict[str, list[str]] = {}
    for name, value in fields:
        lower = name.lower()
        if lower in _SKIPPED_FIELDS or not _FIELD_NAME.fullmatch(name):
            continue
        if dechunked and lower == "transfer-encoding":
            continue
        joined.setdefault(lower, []).append(value)
    out = {}
    for lower, values in joined.items():
        sep = "; " if lower == "cookie" else ", "
        out["HTTP_" + lower.upper().replace("-", "_")] = sep.join(values)
    return out
