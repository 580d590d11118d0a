"""A terminal handler: answers GET and HEAD with a fixed text, passes anything else on.

load_module greeting;
location /hello { handler greeting { text "hi there"; } }
"""

from framework import Handler, Request, Response


class Greeting(Handler):
    """Answers with a fixed text."""

    name = "greeting"
    methods = frozenset({"GET", "HEAD"})  # others: 405 + Allow when nothing else answers

    class Settings(Handler.Settings):
        text: str = "hello"
        content_type: str = "text/plain; charset=utf-8"

    async def handle(self, request: Request, call_next) -> Response:
        if request.method not in ("GET", "HEAD"):
            return await call_next(request)  # e.g. 405 from the end of the chain
        headers = {"Content-Type": self.settings.content_type}
        return Response(200, self.settings.text, headers=headers)
