"""Directive names the parser knows, used only to spot a missing ``;`` or ``{``.

``listen 80`` followed on the next line by ``root www;`` is valid syntax (one directive with
three arguments), so the parser cannot see the missing ``;`` from the grammar alone. When a
directive's arguments continue on a new line that starts with one of these names, the parser
reports the missing ``;`` instead. Likewise ``location /`` followed by ``root www;`` on the
next line is a block directive (one of `BLOCK_DIRECTIVES`) missing its ``{``.

The names are not listed here: the one source of truth is the directive table
(``framework.config.directives.DIRECTIVES``). It is read on first use, so importing the parser
stays cheap and ``config_grammar`` never imports ``framework`` at import time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator


class _DirectiveNames(Collection[str]):
    """A read-only, lazily loaded view of the directive table's names (with ``block``: of the
    directives whose block is ``"required"``, ``"none"``...)."""

    def __init__(self, *, block: str | None = None) -> None:
        self._names: frozenset[str] | None = None
        self._block = block

    def _load(self) -> frozenset[str]:
        if self._names is None:
            from framework.config.directives import DIRECTIVES

            self._names = frozenset(
                name
                for name, spec in DIRECTIVES.items()
                if self._block is None or spec.block == self._block
            )
        return self._names

    def __contains__(self, name: object) -> bool:
        return name in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return f"KNOWN_DIRECTIVES({sorted(self._load())})"


KNOWN_DIRECTIVES: Collection[str] = _DirectiveNames()
"""Every core directive name (the keys of the directive table)."""

BLOCK_DIRECTIVES: Collection[str] = _DirectiveNames(block="required")
"""The directives that require a block (``http``, ``server``, ``location``, ``types``)."""

SIMPLE_DIRECTIVES: Collection[str] = _DirectiveNames(block="none")
"""The directives that never take a block (``root``, ``listen``...)."""
