"""Validation of a parsed request head (sans-I/O): HTTP version, ``Host``, the body framing
(``Content-Length`` / ``Transfer-Encoding``), ``Expect`` and the request target.

``Connection`` collects the head with httptools and hands the pieces here; the answer is either
the status to reject the request with or the checked values a ``Request`` is built from.
"""

from __future__ import annotations

from framework.http import wire
from framework.http.errors import HTTPError
from framework.routing.paths import normalize_target

# the headers check_head looks at (Connection sets them aside while parsing)
FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "expect"})

# target, path, query, host, body length (None: chunked), chunked, expects 100-continue
CheckedHead = tuple[str, str, str, str, int | None, bool, bool]


def check_head(
    version: str, framing: list[tuple[str, str, str]], url: list[bytes]
) -> int | CheckedHead:
    """Check a request head: ``version`` as httptools reports it, ``framing`` the
    ``(lower-cased name, name, value)`` headers among ``FRAMING_HEADERS`` in order, ``url``
    the target's pieces. Returns the status to reject the request with, or the checked
    values (a ``CheckedHead``)."""
    if version not in ("1.1", "1.0"):
        return 400 if version.startswith("0.") else 505
    host_value: str | None = None
    lengths: list[str] = []
    codings: list[str] = []
    expect = False
    for lower, _, value in framing:
        if lower == "host":
            if host_value is not None:
                return 400
            host_value = value
        elif lower == "content-length":
            lengths.append(value)
        elif lower == "transfer-encoding":
            codings.append(value)
        else:
            expect = value.strip().lower() == "100-continue"
    if host_value is None:
        if version == "1.1":
            return 400
        host = ""
    else:
        host = wire.host_name(host_value)  # type: ignore[assignment]
        if host is None:
            return 400
    length: int | None = 0
    chunked = False
    if codings:
        if lengths:
            return 400
        status = wire.check_transfer_encoding(codings, version)
        if status:
            return status
        chunked = True
        length = None
    elif lengths:
        if len(lengths) > 1:
            return 400
        length = wire.parse_content_length(lengths[0])
        if length is None:
            return 400
    target = (url[0] if len(url) == 1 else b"".join(url)).decode("latin-1")
    if target == "*":
        return 400  # asterisk-form: webserv answers no server-wide OPTIONS (nor does nginx)
    try:
        path, query = normalize_target(target)
    except HTTPError as exc:
        return exc.status
    if target[:1] != "/":
        # absolute-form: the target's authority replaces Host (RFC 9112 3.2.2, nginx)
        host_value = wire.authority_of(target)
        if host_value is None:
            return 400
        host = wire.host_name(host_value) or ""
    return target, path, query, host, length, chunked, expect
