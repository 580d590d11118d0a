"""``try_files FILE... =CODE|URI;``: its row of the directive table, its value parser and the
``LocationConfig`` field it fills. This module must not import ``framework.config.models``,
which mixes ``TryFilesFields`` in.

nginx does not inherit ``try_files`` into nested locations (nor from a server into its
locations): the value keeps where it was written (``written_at``), and the handler is enabled
only in the block that wrote it (``TryFiles.declared_in``)."""

from __future__ import annotations

from config_grammar.tree import Directive, Span
from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec, ParseContext, spec
from framework.config.values import ValueProblem, is_decimal


class TryFiles(Model):
    """``try_files FILE... =CODE|URI;``: the files to check in order (a trailing ``/``
    checks for a directory), then either ``code`` (answer with that status) or ``uri``
    (internal redirect)."""

    files: list[str]
    uri: str | None = None
    code: int | None = None
    # the directive's span and the include directives that led to it (outermost first)
    written_at: tuple[Span, ...] = ()

    def declared_in(self, block: Span | None) -> bool:
        """Whether the directive is written in the block at ``block`` (a location's span;
        None, the server context, always holds it) rather than inherited from outside it."""
        if block is None or not self.written_at:
            return True
        return any(_inside(place, block) for place in self.written_at)


def _inside(place: Span, block: Span) -> bool:
    if place.file != block.file:
        return False
    start, end = (place.line, place.col), (place.end_line, place.end_col)
    return (block.line, block.col) < start and end <= (block.end_line, block.end_col)


class TryFilesFields(Model):
    """The ``LocationConfig`` field of ``try_files``."""

    try_files: TryFiles | None = None


def _try_files(d: Directive, _: ParseContext) -> TryFiles:
    *files, last = d.args
    for arg in files:
        if not arg.value:
            raise ValueProblem(
                "invalid-value",
                'empty file name in "try_files" directive',
                arg.span,
                "each FILE is a URI path such as $uri, $uri/ or /index.html",
            )
    written_at = (*d.include_chain, d.span)
    names = [arg.value for arg in files]
    if last.value.startswith("="):
        code = last.value[1:]
        if not (is_decimal(code) and len(code) == 3 and 100 <= int(code) <= 599):
            raise ValueProblem(
                "invalid-status",
                f'invalid code "{last.value}" in "try_files" directive',
                last.span,
                "the last argument is =CODE with a status from 100 to 599 (e.g. =404), or a URI",
            )
        return TryFiles(files=names, code=int(code), written_at=written_at)
    if not last.value:
        raise ValueProblem(
            "invalid-value",
            'empty URI in "try_files" directive',
            last.span,
            "the last argument is =CODE (e.g. =404) or a URI such as /index.html",
        )
    return TryFiles(files=names, uri=last.value, written_at=written_at)


SPECS: list[DirectiveSpec] = [
    spec("try_files", "SL", "try_files FILE ... =CODE|URI;", min_args=2, max_args=None,
         parse=_try_files, scope="location", field="try_files",
         summary="serve the first FILE that exists, else answer =CODE or redirect to URI "
         "internally (not inherited)"),
]  # fmt: skip

__all__ = ["SPECS", "TryFiles", "TryFilesFields"]
