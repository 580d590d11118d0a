"""Answers with the parsed request as JSON: a debugging aid and a way to compare webserv's
parser with another server's (differential testing).

    load_module echo_json;
    location /echo { handler echo_json { max_body 64k; } allow_methods GET HEAD POST PUT; }

The body is streamed (``async for``), only the first ``max_body`` bytes are kept; it is
returned as text when it is valid UTF-8, else base64. ``body.length`` is the full size.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated
from urllib.parse import parse_qsl

from pydantic import BeforeValidator

from framework import Handler, Request, Response

_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(value: object) -> object:
    """``"64k"`` -> 65536; numbers and anything else go to pydantic unchanged."""
    if isinstance(value, str) and value[-1:].lower() in _UNITS and value[:-1].isdigit():
        return int(value[:-1]) * _UNITS[value[-1].lower()]
    return value


Size = Annotated[int, BeforeValidator(parse_size)]


class EchoJson(Handler):
    """Returns method, target, path, query, headers, client, server and body as JSON."""

    name = "echo_json"

    class Settings(Handler.Settings):
        max_body: Size = 64 * 1024  # bytes of the body echoed back (the rest is counted)
        indent: int = 2

    async def handle(self, request: Request, call_next) -> Response:
        limit = self.settings.max_body
        kept = bytearray()
        length = 0
        async for chunk in request.body:
            length += len(chunk)
            if len(kept) < limit:
                kept += chunk[: limit - len(kept)]
        document = {
            "method": request.method,
            "target": request.target,
            "path": request.path,
            "query": request.query,
            "args": parse_qsl(request.query, keep_blank_values=True),
            "http_version": request.http_version,
            "headers": request.headers.items(),
            "client": list(request.client),
            "server": list(request.server),
            "body": encode_body(bytes(kept), length),
        }
        text = json.dumps(document, indent=self.settings.indent or None, ensure_ascii=False)
        return Response(
            200,
            text + "\n",
            headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
        )


def encode_body(data: bytes, length: int) -> dict[str, object]:
    """The echoed body: UTF-8 text when it decodes, else base64."""
    truncated = len(data) < length
    try:
        # a multi-byte character cut by truncation is not a reason for base64
        text = data.decode("utf-8") if not truncated else _decode_prefix(data)
        return {"length": length, "truncated": truncated, "encoding": "text", "data": text}
    except UnicodeDecodeError:
        encoded = base64.b64encode(data).decode("ascii")
        return {"length": length, "truncated": truncated, "encoding": "base64", "data": encoded}


def _decode_prefix(data: bytes) -> str:
    error: UnicodeDecodeError | None = None
    for cut in range(4):  # a UTF-8 character is at most 4 bytes
        try:
            return data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError as exc:
            error = exc
    assert error is not None
    raise error
