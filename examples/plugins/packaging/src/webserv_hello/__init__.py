"""An installable webserv plugin: ``handler hello { name "you"; }`` answers "Hello, you!"."""

from urllib.parse import parse_qs

from framework import Handler, Request, Response


class Hello(Handler):
    """Greets ``name``, or the ``?name=`` of the query string when ``from_query`` is on."""

    name = "hello"
    methods = frozenset({"GET", "HEAD"})

    class Settings(Handler.Settings):
        name: str = "world"
        from_query: bool = False

    async def handle(self, request: Request, call_next) -> Response:
        if request.method not in ("GET", "HEAD"):
            return await call_next(request)
        who = self.settings.name
        if self.settings.from_query:
            who = parse_qs(request.query).get("name", [who])[0]
        return Response(200, f"Hello, {who}!\n", headers={"Content-Type": "text/plain"})
