"""The pygls ``LanguageServer`` for webserv configs: LSP requests in, the config tooling's
answers out. Each feature's logic lives in its own module (``diagnostics``, ``completion``,
``hover``, ``definition``); this module converts between LSP and those modules' positions
(0-based lines, code-point columns) and registers the features."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from lark import Token
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument

import framework
from config_grammar.fmt import FormatError, format_text
from config_grammar.lexer import token_span
from config_grammar.tree import Span
from framework.config.directives import DIRECTIVES
from framework.config.models import Config
from framework.config.rules import rule_catalog
from framework.lsp import completion, cursor, definition, hover
from framework.lsp.diagnostics import Placed, validate_buffer

log = logging.getLogger("webserv.lsp")

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


class ConfigLanguageServer(LanguageServer):
    """The server, plus whether the client asked it to shut down (for the exit code)."""

    def __init__(self) -> None:
        super().__init__(
            "webserv",
            framework.__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
        )
        self.shutdown_requested = False


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
    doc: TextDocument, placed: Placed, help_uris: dict[str, str]
) -> types.Diagnostic:
    """One finding as an LSP diagnostic: the rule ID as its code, the rule's docs as its link."""
    d = placed.diagnostic
    href = help_uris.get(d.rule)
    related = None
    if placed.origin is not None:
        origin = placed.origin
        location = types.Location(
            uri=from_fs_path(os.path.abspath(origin.file)) or origin.file,
            range=types.Range(
                start=types.Position(line=origin.line - 1, character=origin.col - 1),
                end=types.Position(line=origin.end_line - 1, character=origin.end_col - 1),
            ),
        )
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


def publish(ls: ConfigLanguageServer, uri: str) -> None:
    """Validate the buffer of ``uri`` and publish what was found in it."""
    doc = ls.workspace.get_text_document(uri)
    filename, base_dir = document_file(doc)
    help_uris = _help_uris()
    found = [
        lsp_diagnostic(doc, p, help_uris) for p in validate_buffer(doc.source, filename, base_dir)
    ]
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=doc.version)
    )


def build_server() -> ConfigLanguageServer:
    """A language server with every feature registered."""
    import handlers  # noqa: F401  (registers the built-in handlers, for handler completion)
    from framework.registry import registry

    server = ConfigLanguageServer()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: ConfigLanguageServer, _: None) -> None:
        ls.shutdown_requested = True

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ConfigLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        publish(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ConfigLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        publish(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ConfigLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        publish(ls, params.text_document.uri)  # an included file may have changed

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ConfigLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" "])
    )
    def complete(ls: ConfigLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        line, col = server_position(doc, params.position)
        where = cursor.cursor_at(doc.source, line, col)
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
        doc = ls.workspace.get_text_document(params.text_document.uri)
        line, col = server_position(doc, params.position)
        found = cursor.token_at(doc.source, line, col)
        if found is None or found[1]:  # only a directive name has docs
            return None
        token, _ = found
        row = DIRECTIVES.get(token.value)
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
        doc = ls.workspace.get_text_document(params.text_document.uri)
        line, col = server_position(doc, params.position)
        found = cursor.token_at(doc.source, line, col)
        if found is None or not found[1]:
            return None
        token, before = found
        filename, base_dir = document_file(doc)
        value = cursor.unquote(token)
        if before[0].value == "include":
            paths = definition.include_targets(value, base_dir)
        elif before[0].value == "error_page" and len(before) >= 2:
            config = _built_config(doc, filename, base_dir)
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
        doc = ls.workspace.get_text_document(params.text_document.uri)
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


def _built_config(doc: TextDocument, filename: str, base_dir: Path) -> Config | None:
    """The config the buffer builds (without filesystem checks); None when it has errors."""
    from config_grammar.parser import parse_text
    from framework.config.build import build_config

    try:
        parsed = parse_text(doc.source, filename, base_dir=base_dir)
        config, _ = build_config(
            parsed.nodes, base_dir=base_dir, check_fs=False, diagnostics=list(parsed.diagnostics)
        )
    except Exception:
        log.exception("cannot build the config for go-to-definition")
        return None
    return config
