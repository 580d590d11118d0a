"""A handler's own semantic checks (``Handler.check``), run after its settings validated.

``check(settings, ctx)`` yields ``Diagnostic`` values built with ``ctx.error`` /
``ctx.warning``, which place them on the setting they are about. A check that raises, or
yields something that is not a ``Diagnostic``, becomes one ``internal-error`` at the
``handler NAME`` line naming the handler: a plugin bug never shows as a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from config_grammar.diagnostics import Diagnostic, Severity
from config_grammar.tree import Directive, Span

if TYPE_CHECKING:
    from framework.handler import Handler

CHECK_RULE = "handler-check"
"""The rule ID of a finding a handler's ``check`` reports (unless it names its own)."""


class CheckContext:
    """What a handler's ``check`` gets besides its settings.

    ``handler`` is the handler name, ``base_dir`` the directory relative paths resolve
    against (the config file's, or ``--prefix``), ``check_fs`` False under
    ``validate-config --no-fs`` (skip checks that look at the filesystem then).
    ``error(setting, message)`` and ``warning(...)`` build a diagnostic located at the
    value of ``setting`` (``"name"``, or ``"outer.inner"`` inside a nested block), or at
    the ``handler NAME`` line when the setting is not written (its default applies) or
    ``setting`` is None.
    """

    def __init__(self, directive: Directive, *, base_dir: Path, check_fs: bool) -> None:
        self.handler: str = directive.args[0].value
        self.base_dir = base_dir
        self.check_fs = check_fs
        self._directive = directive

    @property
    def span(self) -> Span:
        """Where the handler is enabled: the NAME of ``handler NAME``."""
        return self._directive.args[0].span

    def span_of(self, setting: str | None) -> Span:
        """The span of the value of ``setting`` as written, else the handler's ``span``."""
        node = self._setting(setting)
        if node is None:
            return self.span
        if not node.args:
            return node.name_span
        first, last = node.args[0].span, node.args[-1].span
        return Span(first.file, first.line, first.col, last.end_line, last.end_col)

    def error(
        self,
        setting: str | None,
        message: str,
        *,
        hint: str | None = None,
        rule: str = CHECK_RULE,
    ) -> Diagnostic:
        """An error about ``setting`` (fails ``validate-config`` and refuses ``run``)."""
        return self._diagnostic("error", setting, message, hint, rule)

    def warning(
        self,
        setting: str | None,
        message: str,
        *,
        hint: str | None = None,
        rule: str = CHECK_RULE,
    ) -> Diagnostic:
        """A warning about ``setting`` (fails ``validate-config --strict`` only)."""
        return self._diagnostic("warning", setting, message, hint, rule)

    def _diagnostic(
        self, severity: Severity, setting: str | None, message: str, hint: str | None, rule: str
    ) -> Diagnostic:
        node = self._setting(setting) or self._directive
        return Diagnostic(severity, rule, message, self.span_of(setting), hint, node.include_chain)

    def _setting(self, setting: str | None) -> Directive | None:
        if not setting:
            return None
        node: Directive | None = self._directive
        for part in setting.split("."):
            children = node.children if node is not None and node.block is not None else []
            node = next((c for c in children if c.name == part), None)
            if node is None:
                return None
        return node


def one_line_reason(exc: BaseException) -> str:
    """``Type: message`` on one line, for a plugin's exception in a one-line report: the
    lines of a multi-line message are joined by " / "."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {' / '.join(lines)}" if lines else type(exc).__name__


def run_check(
    cls: type[Handler[Any]],
    settings: Any,
    directive: Directive,
    *,
    base_dir: Path,
    check_fs: bool,
) -> list[Diagnostic]:
    """The diagnostics ``cls.check`` reports for the handler block ``directive``."""
    from framework.config.lint_plugins import invalid_finding
    from framework.handler import Handler

    if getattr(cls.check, "__func__", None) is getattr(Handler.check, "__func__", None):
        return []  # not overridden
    ctx = CheckContext(directive, base_dir=base_dir, check_fs=check_fs)
    try:
        found = list(cls.check(settings, ctx) or ())
        for item in found:
            if not isinstance(item, Diagnostic):
                raise TypeError(f"it yielded {type(item).__name__}, not a Diagnostic")
            problem = invalid_finding(item)  # the check lint plugins' findings pass too
            if problem is not None:
                raise TypeError(f"it yielded {problem}")
    except Exception as exc:  # noqa: BLE001 - a plugin bug is a diagnostic, never a traceback
        reason = one_line_reason(exc)
        return [
            Diagnostic(
                "error",
                "internal-error",
                f'check() of handler "{ctx.handler}" failed: {reason}',
                ctx.span,
                f"this is a bug in the plugin ({cls.__module__}.{cls.__qualname__}), "
                "not in the configuration",
                directive.include_chain,
            )
        ]
    return found
