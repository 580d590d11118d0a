"""The handler API that built-in handlers and plugins share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from framework.http.request import Request
from framework.http.response import Response

if TYPE_CHECKING:
    from framework.config.models import LocationConfig

CallNext = Callable[[Request], Awaitable[Response]]


class HandlerSettings(BaseModel):
    """Base of every handler's settings model: each field is a directive inside the
    ``handler NAME { ... }`` block. Unknown settings are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Handler:
    """A link in a location's handler chain.

    Subclasses set ``name`` (the NAME in ``handler NAME { ... }``), may define a nested
    ``Settings`` model, and implement ``handle``. Call ``await call_next(request)`` to pass
    the request on down the chain (and possibly wrap its response).
    """

    name: ClassVar[str | None] = None
    Settings: ClassVar[type[HandlerSettings]] = HandlerSettings

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        self.settings = settings
        self.location = location

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        return await call_next(request)

    async def startup(self) -> None:
        """Runs once per worker before it serves."""

    async def shutdown(self) -> None:
        """Runs once per worker when it stops."""
