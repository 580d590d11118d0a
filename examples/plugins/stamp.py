"""A wrapping handler: lets the rest of the chain answer, then adds a header.

load_module stamp;
location /files/ { handler stamp { value 42; } }   # then the static handler serves
"""

from framework import Handler, Request, Response


class Stamp(Handler):
    """Adds ``header: value`` to the response that comes back up the chain."""

    name = "stamp"

    class Settings(Handler.Settings):
        value: str
        header: str = "X-Stamp"

    async def handle(self, request: Request, call_next) -> Response:
        response = await call_next(request)
        response.headers[self.settings.header] = self.settings.value
        return response
