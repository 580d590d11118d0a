"""The handler API that built-in handlers and plugins share.

A handler is one link of a location's chain. It either answers (a *terminal* handler returns
a ``Response``) or passes the request on with ``await call_next(request)`` and may change the
response it gets back (a *wrapping* handler)::

    class Stamp(Handler):
        name = "stamp"

        class Settings(Handler.Settings):
            value: str

        async def handle(self, request, call_next):
            response = await call_next(request)
            response.headers["X-Stamp"] = self.settings.value
            return response

A path setting typed ``ConfigPath`` is resolved against the config file's directory (its
default too: ``template: ConfigPath = "page.html"``), and a handler may check its settings
further when the configuration is validated (``check``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict

from config_grammar.diagnostics import Diagnostic
from framework.config.handler_settings import ConfigPath as ConfigPath
from framework.config.plugin_checks import CheckContext as CheckContext
from framework.http.request import Request
from framework.http.response import Response

if TYPE_CHECKING:
    from framework.config.models import LocationConfig

CallNext = Callable[[Request], Awaitable[Response]]
"""``await call_next(request)`` runs the rest of the chain and returns its response."""


class HandlerSettings(BaseModel):
    """Base of every handler's settings model: each field is a setting inside the
    ``handler NAME { ... }`` block (``text "hi";``). Unknown settings are errors, values
    arrive from the config as strings and are converted by pydantic (``"42"`` -> ``42``,
    ``"on"`` -> ``True``); numbers given from Python are accepted for ``str`` fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


SettingsT = TypeVar("SettingsT", bound=HandlerSettings)


class Handler(Generic[SettingsT]):
    """A link in a location's handler chain.

    Subclasses set ``name`` (the NAME in ``handler NAME { ... }``), may define a nested
    ``Settings`` model (subclass of ``Handler.Settings``), and implement ``handle``.
    ``Handler`` is generic in its settings, so a type checker knows ``self.settings``::

        class GreetingSettings(HandlerSettings):
            text: str = "hello"

        class Greeting(Handler[GreetingSettings]):   # Settings is taken from the parameter
            name = "greeting"

    ``call_next`` returns a ``Response`` for every outcome of the rest of the chain: a 404
    from the static handler, an ``HTTPError`` raised further down or a failing handler (500)
    arrive as responses a wrapper can decorate; ``error_page`` is applied after the chain
    and keeps their headers. ``on_response`` sees every final response of the location,
    including those decided before the chain runs (405 from ``allow_methods``, 413).

    One instance is built per location (and per worker) when the configuration is
    loaded, with the validated settings and the location's effective configuration;
    ``startup``/``shutdown`` run with the worker. An exception raised by ``handle``
    becomes a 500 response (logged with its traceback); raise ``HTTPError`` for another
    status. An exception raised by ``startup`` or ``__init__`` (``SystemExit`` included)
    stops ``webserv run`` (exit 1) with one line naming the handler and its ``handler NAME``
    line; on reload the running configuration is kept.

    Validation has two steps: pydantic validates ``Settings`` (types, required settings,
    field validators), then the optional classmethod ``check(settings, ctx)`` makes the
    checks a model cannot (a file exists, ranges across settings). It runs wherever the
    config is validated -- ``validate-config``, ``run``, reload -- and yields diagnostics
    that ``ctx`` places on the setting's value::

        @classmethod
        def check(cls, settings, ctx):
            if ctx.check_fs and not settings.template.is_file():   # a ConfigPath
                yield ctx.error("template", f"no such file: {settings.template}")
            if settings.low > settings.high:
                yield ctx.warning("low", "low is above high", hint="swap them")

    See ``CheckContext`` for ``ctx`` (``check_fs`` is False under ``--no-fs``). A check that
    raises is reported as an internal error of the plugin at its ``handler`` line.
    """

    name: ClassVar[str | None] = None
    Settings: ClassVar[type[HandlerSettings]] = HandlerSettings
    methods: frozenset[str] | None = frozenset({"GET", "HEAD"})
    """The methods this handler answers (GET and HEAD unless it says otherwise): when
    nothing in the chain answers a request, a method that no handler of the chain lists
    gets 405 with ``Allow`` instead of 404. A handler that answers every method its
    location allows sets it per instance (``self.methods = location.allow_methods``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Settings" in cls.__dict__:
            return
        for base in getattr(cls, "__orig_bases__", ()):
            args = get_args(base)
            if args and isinstance(args[0], type) and issubclass(args[0], HandlerSettings):
                cls.Settings = args[0]
                return

    def __init__(self, settings: SettingsT, location: LocationConfig) -> None:
        self.settings: SettingsT = settings
        self.location = location

    @classmethod
    def check(cls, settings: SettingsT, ctx: CheckContext) -> Iterable[Diagnostic]:
        """Optional semantic checks of validated ``settings`` (see the class docstring);
        yield ``ctx.error(setting, message)`` / ``ctx.warning(...)``. None by default."""
        return ()

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        """Answer ``request`` or pass it on with ``await call_next(request)``."""
        return await call_next(request)

    async def on_response(self, request: Request, response: Response) -> None:
        """Optional: sees (and may change in place) every final response of the location,
        before ``error_page`` applies: what the chain answered and what was decided before
        it ran (405 from ``allow_methods``, 413 for a body too large). An add-a-header
        handler (CORS, security headers) implements only this. Not called when not
        overridden, so it costs nothing by default."""

    async def startup(self) -> None:
        """Runs once per worker before it serves."""

    async def shutdown(self) -> None:
        """Runs once per worker when it stops."""

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} {self.name!r} {self.settings!r}>"
