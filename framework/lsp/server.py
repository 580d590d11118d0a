"""The pygls ``LanguageServer`` for webserv configs: LSP requests in, the config tooling's
answers out. Each feature's logic lives in its own module (``diagnostics``, ``completion``,
``hover``, ``definition``); this module converts between LSP and those modules' positions
(0-based lines, code-point columns) and registers the features."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from lark import Token
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument

import framework
from config_grammar.fmt import FormatError, format_text
from config_grammar.lexer import LexResult, token_span, tokenize
from config_grammar.tree import Span
from framework.config.directives import DIRECTIVES
from framework.config.models import Config
from framework.config.rules import rule_catalog
from framework.lsp import completion, cursor, definition, hover
from framework.lsp.diagnostics import Placed, validate_buffer
from framework.lsp.includers import find_includer
from framework.lsp.plugins import RegistryFactory
from framework.registry import HandlerRegistry

log = logging.getLogger("webserv.lsp")

DEBOUNCE_SECONDS = 0.15
"""How long an edit waits for the next one before the buffer is validated: a burst of
keystrokes is validated once, at its last version."""

_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}
_ITEM_KIND = {
    "directive": types.CompletionItemKind.Keyword,
    "value": types.CompletionItemKind.EnumMember,
    "setting": types.CompletionItemKind.Property,
}


_ANSWERED = object()


class ConfigProtocol(LanguageServerProtocol):
    """pygls's protocol, except that a request whose params do not fit the LSP types (a
    negative position) gets an InvalidParams error response instead of none at all."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcInvalidParams:
            if "id" not in data or "method" not in data:
                raise
            error = JsonRpcInvalidParams(f"invalid params for {data['method']}")
            self._send_response(data["id"], None, error.to_response_error())
            return _ANSWERED

    def handle_message(self, message: Any) -> None:
        if message is not _ANSWERED:
            super().handle_message(message)


class ConfigLanguageServer(LanguageServer):
    """The server and its per-document state: the pending validation of each document, the
    handlers its last validation knew (for completion), the file that includes it, and its
    tokens at its current version."""

    def __init__(self) -> None:
        super().__init__(
            "webserv",
            framework.__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
            protocol_cls=ConfigProtocol,
        )
        self.shutdown_requested = False
        self.registries = RegistryFactory()
        # the validation waiting out its debounce, per document (a newer change cancels it)
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.handlers: dict[str, HandlerRegistry] = {}
        self.includers: dict[str, Path | None] = {}
        self.lexed: dict[str, tuple[int | None, int, LexResult]] = {}

    def open_document(self, uri: str) -> TextDocument | None:
        """The open document ``uri``; None when the client has not opened it."""
        return self.workspace.text_documents.get(uri)

    def tokens(self, doc: TextDocument, line: int) -> LexResult:
        """The document's tokens up to the end of ``line`` at least (what the cursor on that
        line needs), lexed at most once per version and line range: a request near the top
        of a long buffer does not lex the rest of it."""
        end = cursor.offset_of(doc.source, line + 1, 0)
        cached = self.lexed.get(doc.uri)
        if cached is None or cached[0] != doc.version or cached[1] < end or doc.version is None:
            cached = (doc.version, end, tokenize(doc.source[:end], "<buffer>"))
            self.lexed[doc.uri] = cached
        return cached[2]

    def handler_registry(self, uri: str) -> HandlerRegistry:
        """The handlers the document's last validation knew (its own plugins included)."""
        return self.handlers.get(uri) or self.registries.new()


def document_file(doc: TextDocument) -> tuple[str, Path]:
    """The file name spans use for ``doc`` and the directory its relative paths resolve
    against (the working directory for an unsaved buffer)."""
    if doc.uri.startswith("file:") and doc.path:
        return doc.path, Path(doc.path).parent
    return doc.uri, Path.cwd()


def to_range(doc: TextDocument, span: Span | None) -> types.Range:
    """A 1-based, end-exclusive span as an LSP range in the client's position units."""
    if span is None:
        start = end = types.Position(line=0, character=0)
        return types.Range(start=start, end=end)
    lines = doc.lines
    codec = doc.position_codec
    first = types.Position(line=span.line - 1, character=span.col - 1)
    last = types.Position(line=span.end_line - 1, character=span.end_col - 1)
    return types.Range(
        start=codec.position_to_client_units(lines, first),
        end=codec.position_to_client_units(lines, last),
    )


def server_position(doc: TextDocument, position: types.Position) -> tuple[int, int]:
    """An LSP position as (0-based line, code-point column)."""
    converted = doc.position_codec.position_from_client_units(doc.lines, position)
    return converted.line, converted.character


def lsp_diagnostic(
    ls: ConfigLanguageServer, doc: TextDocument, placed: Placed, help_uris: dict[str, str]
) -> types.Diagnostic:
    """One finding as an LSP diagnostic: the rule ID as its code, the rule's docs as its link.
    A finding in an included file links to its place there: in the client's units when that
    file is open, else in code points (the server cannot know the file's UTF-16 columns
    without reading it)."""
    d = placed.diagnostic
    href = help_uris.get(d.rule)
    related = None
    if placed.origin is not None:
        origin = placed.origin
        uri = from_fs_path(os.path.abspath(origin.file)) or origin.file
        included = ls.open_document(uri)
        if included is not None:
            where = to_range(included, origin)
        else:
            where = types.Range(
                start=types.Position(line=origin.line - 1, character=origin.col - 1),
                end=types.Position(line=origin.end_line - 1, character=origin.end_col - 1),
            )
        location = types.Location(uri=uri, range=where)
        related = [types.DiagnosticRelatedInformation(location=location, message=d.message)]
    return types.Diagnostic(
        range=to_range(doc, placed.span),
        message=placed.message,
        severity=_SEVERITY.get(d.severity, types.DiagnosticSeverity.Error),
        code=d.rule,
        code_description=types.CodeDescription(href=href) if href else None,
        source="webserv",
        related_information=related,
    )


def _help_uris() -> dict[str, str]:
    try:
        return {rule: info.help_uri for rule, info in rule_catalog().items() if info.help_uri}
    except Exception:  # a broken plugin rule must not stop the diagnostics
        log.exception("cannot read the rule catalog")
        return {}


def schedule_validation(ls: ConfigLanguageServer, uri: str, delay: float) -> None:
    """Validate ``uri`` after ``delay`` seconds, replacing a validation still waiting."""
    waiting = ls.pending.pop(uri, None)
    if waiting is not None:
        waiting.cancel()
    task = asyncio.ensure_future(_validate_later(ls, uri, delay))
    task.add_done_callback(_log_failure)
    ls.pending[uri] = task


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("validation failed", exc_info=task.exception())


async def _validate_later(ls: ConfigLanguageServer, uri: str, delay: float) -> None:
    await asyncio.sleep(delay)
    doc = ls.open_document(uri)
    if doc is None:
        return
    version = doc.version
    filename, base_dir = document_file(doc)
    includer = _includer(ls, doc)
    registry = ls.registries.new()
    # on the loop, like the rest of the server: the debounce above means at most one
    # validation per pause in typing, so a request waits for one validation, never a queue
    placed = validate_buffer(doc.source, filename, base_dir, registry, includer)
    current = ls.open_document(uri)
    if current is None or current.version != version:
        return  # closed, or changed meanwhile: that change scheduled its own validation
    ls.handlers[uri] = registry
    help_uris = _help_uris()
    found = [lsp_diagnostic(ls, current, p, help_uris) for p in placed]
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=version)
    )
    if ls.pending.get(uri) is asyncio.current_task():
        del ls.pending[uri]


def _includer(ls: ConfigLanguageServer, doc: TextDocument) -> tuple[Path, str] | None:
    """The file that includes ``doc`` and its text (its buffer when open), looked for once
    per open or save."""
    if not doc.path:
        return None
    if doc.uri not in ls.includers:
        others = [
            (Path(d.path), d.source)
            for d in list(ls.workspace.text_documents.values())
            if d.uri != doc.uri and d.path
        ]
        ls.includers[doc.uri] = find_includer(Path(doc.path), others)
    path = ls.includers[doc.uri]
    if path is None:
        return None
    opened = ls.open_document(from_fs_path(str(path)) or "")
    if opened is not None:
        return path, opened.source
    try:
        return path, path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def build_server() -> ConfigLanguageServer:
    """A language server with every feature registered."""
    server = ConfigLanguageServer()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: ConfigLanguageServer, _: None) -> None:
        ls.shutdown_requested = True

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ConfigLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.includers.pop(params.text_document.uri, None)
        schedule_validation(ls, params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ConfigLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        schedule_validation(ls, params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ConfigLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.includers.pop(params.text_document.uri, None)  # the includes may have changed
        schedule_validation(ls, params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ConfigLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        waiting = ls.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        for state in (ls.handlers, ls.includers, ls.lexed):
            state.pop(uri, None)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" "])
    )
    def complete(ls: ConfigLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        doc = ls.open_document(params.text_document.uri)
        if doc is None:
            return types.CompletionList(is_incomplete=False, items=[])
        line, col = server_position(doc, params.position)
        where = cursor.cursor_at(doc.source, line, col, ls.tokens(doc, line))
        registry = ls.handler_registry(doc.uri)
        found = completion.suggestions(where, registry) if where is not None else []
        items = [
            types.CompletionItem(
                label=s.label,
                kind=_ITEM_KIND[s.kind],
                detail=s.detail or None,
                documentation=s.documentation or None,
            )
            for s in found
        ]
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: ConfigLanguageServer, params: types.HoverParams) -> types.Hover | None:
        doc = ls.open_document(params.text_document.uri)
        if doc is None:
            return None
        line, col = server_position(doc, params.position)
        found = cursor.token_at(doc.source, line, col, ls.tokens(doc, line))
        if found is None or found[1]:  # only a directive name has docs
            return None
        token, _ = found
        row = DIRECTIVES.get(cursor.unquote(token))  # "root" names root too
        if row is None:
            return None
        content = types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=hover.hover_markdown(row)
        )
        return types.Hover(contents=content, range=_token_range(doc, token))

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def goto_definition(
        ls: ConfigLanguageServer, params: types.DefinitionParams
    ) -> list[types.Location] | None:
        doc = ls.open_document(params.text_document.uri)
        if doc is None:
            return None
        line, col = server_position(doc, params.position)
        found = cursor.token_at(doc.source, line, col, ls.tokens(doc, line))
        if found is None or not found[1]:
            return None
        token, before = found
        filename, base_dir = document_file(doc)
        value = cursor.unquote(token)
        if cursor.unquote(before[0]) == "include":
            paths = definition.include_targets(value, base_dir)
        elif cursor.unquote(before[0]) == "error_page" and len(before) >= 2:
            config = _built_config(ls, doc, filename, base_dir)
            if config is None:
                return None
            paths = definition.error_page_targets(config, value, filename, line + 1)
        else:
            return None
        start = types.Position(line=0, character=0)
        top = types.Range(start=start, end=start)
        return [
            types.Location(uri=from_fs_path(str(p.absolute())) or str(p), range=top) for p in paths
        ]

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(
        ls: ConfigLanguageServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        doc = ls.open_document(params.text_document.uri)
        if doc is None:
            return None
        try:
            formatted = format_text(doc.source, document_file(doc)[0])
        except FormatError:
            return None  # the diagnostics already say why
        if formatted == doc.source:
            return []
        return [types.TextEdit(range=_whole(doc), new_text=formatted)]

    return server


def _token_range(doc: TextDocument, token: Token) -> types.Range:
    return to_range(doc, token_span("", token))


def _whole(doc: TextDocument) -> types.Range:
    text = doc.source
    last_line = text.count("\n")
    tail = text[text.rfind("\n") + 1 :]
    end = types.Position(line=last_line, character=doc.position_codec.client_num_units(tail))
    return types.Range(start=types.Position(line=0, character=0), end=end)


def _built_config(
    ls: ConfigLanguageServer, doc: TextDocument, filename: str, base_dir: Path
) -> Config | None:
    """The config the buffer builds (without filesystem checks); None when it has errors."""
    from config_grammar.parser import parse_text
    from framework.config.build import build_config
    from framework.lsp.diagnostics import without_unfinished_load_modules

    try:
        parsed = parse_text(doc.source, filename, base_dir=base_dir)
        config, _ = build_config(
            without_unfinished_load_modules(parsed.nodes, parsed.diagnostics),
            base_dir=base_dir,
            check_fs=False,
            registry=ls.registries.new(),
            diagnostics=list(parsed.diagnostics),
        )
    except Exception:
        log.exception("cannot build the config for go-to-definition")
        return None
    return config
