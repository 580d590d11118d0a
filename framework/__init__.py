"""webserv: an HTTP/1.1 server framework with an nginx-style configuration.

The public plugin API: ``Handler``, ``Request``, ``Response``, ``Headers`` and the
control-flow exceptions ``HTTPError`` and ``InternalRedirect``.
"""

from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import FileBody, Response
from framework.version import __version__

__all__ = [
    "CallNext",
    "FileBody",
    "Handler",
    "HandlerSettings",
    "Headers",
    "HTTPError",
    "InternalRedirect",
    "Request",
    "Response",
    "__version__",
]
