"""webserv: an HTTP/1.1 server framework with an nginx-style configuration.

The public plugin API: ``Handler``, ``Request``, ``Response``, ``Headers``, the control-flow
exceptions ``HTTPError`` and ``InternalRedirect``, and for settings and their checks
``ConfigPath`` and ``CheckContext``.
"""

from framework.handler import CallNext, CheckContext, ConfigPath, Handler, HandlerSettings
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import FileBody, Response
from framework.version import __version__

__all__ = [
    "CallNext",
    "CheckContext",
    "ConfigPath",
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
