"""nginx variables (``$host``, ``$uri``, ``$1``...) in directive values that expand them:
``return``, ``try_files``, ``add_header`` and ``error_page``."""

from __future__ import annotations

import re

from framework.http.request import Request
from framework.routing.urls import origin_form, quote_path, quote_query, safe_host

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def _variables(request: Request) -> dict[str, str]:
    query = quote_query(request.query)
    names = request.server_config.server_names if request.server_config else [""]
    return {
        "scheme": request.scheme,
        "host": safe_host(request),
        "request_uri": quote_query(origin_form(request.original_uri)),
        "uri": quote_path(request.path),
        "args": query,
        "query_string": query,
        "is_args": "?" if request.query else "",
        "server_port": str(request.server[1]),
        "server_name": names[0] if names else "",
    }


def expand(template: str, request: Request) -> str:
    """Replace known ``$variables`` in ``template``; unknown ones are left as written."""
    if "$" not in template:
        return template
    values = _variables(request)

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(sub, template)
