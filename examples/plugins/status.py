"""Connection and request counters, like nginx's ``stub_status``.

    load_module status;
    location = /status { handler status; }                 # JSON
    location = /status.txt { handler status { format text; } }

Counters are kept per worker process (``framework.stats``), so with ``workers > 1`` each
answer describes the worker that served it: the JSON says so (``"scope": "worker"``) and
carries that worker's ``pid``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Literal

from framework import Handler, Request, Response
from framework.stats import stats


class Status(Handler):
    """Serves this worker's counters as JSON or in nginx's stub_status text format."""

    name = "status"
    methods = frozenset({"GET", "HEAD"})

    class Settings(Handler.Settings):
        format: Literal["json", "text"] = "json"

    def __init__(self, settings, location) -> None:
        super().__init__(settings, location)
        self.started = time.monotonic()

    async def startup(self) -> None:
        self.started = time.monotonic()  # the worker's own start

    async def handle(self, request: Request, call_next) -> Response:
        if request.method not in ("GET", "HEAD"):
            return await call_next(request)
        counters = stats.snapshot()
        headers = {"Cache-Control": "no-store"}
        if self.settings.format == "text":
            headers["Content-Type"] = "text/plain; charset=utf-8"
            return Response(200, stub_status_text(counters), headers=headers)
        document = {
            "scope": "worker",
            "pid": os.getpid(),
            "uptime": round(time.monotonic() - self.started, 3),
            "connections": {
                key: counters[key]
                for key in ("active", "accepted", "handled", "reading", "writing", "waiting")
            },
            "requests": counters["requests"],
        }
        headers["Content-Type"] = "application/json"
        return Response(200, json.dumps(document) + "\n", headers=headers)


def stub_status_text(c: dict[str, int]) -> str:
    """nginx's stub_status layout, so existing scrapers can read it."""
    return (
        f"Active connections: {c['active']} \n"
        "server accepts handled requests\n"
        f" {c['accepted']} {c['handled']} {c['requests']} \n"
        f"Reading: {c['reading']} Writing: {c['writing']} Waiting: {c['waiting']} \n"
    )
