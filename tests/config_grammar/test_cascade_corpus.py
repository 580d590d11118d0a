"""One mistake, one diagnostic: every file in ``cascade/`` holds a single mistake, and
``validate-config`` (parser and builder: ``load_config(check_fs=False)``) must report exactly
the diagnostics its header names, no follow-on errors.

Header format (comment lines at the top of each case):

    # what the mistake is
    # expect: SEVERITY RULE [FILE:]LINE:COL MESSAGE
    # hint: HINT            (optional: checked when present)

FILE (relative to ``cascade/``) is given only when the diagnostic is in an included file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from config_grammar.diagnostics import Diagnostic
from framework.config.build import load_config

CORPUS = Path(__file__).with_name("cascade")
CASES = sorted(CORPUS.glob("*.conf"))


@dataclass
class Expected:
    diagnostic: str
    hint: str | None = None


def expectations(path: Path) -> list[Expected]:
    """The ``# expect:`` / ``# hint:`` lines of a case's header."""
    found: list[Expected] = []
    text = path.read_bytes().decode("utf-8", "replace")
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# expect: "):
            found.append(Expected(line.removeprefix("# expect: ")))
        elif line.startswith("# hint: "):
            found[-1].hint = line.removeprefix("# hint: ")
    return found


def describe(diag: Diagnostic, path: Path) -> str:
    """``SEVERITY RULE [FILE:]LINE:COL MESSAGE``, as in the headers."""
    assert diag.span is not None, diag
    where = f"{diag.span.line}:{diag.span.col}"
    if os.path.abspath(diag.span.file) != str(path):
        where = f"{os.path.relpath(diag.span.file, CORPUS)}:{where}"
    return f"{diag.severity} {diag.rule} {where} {diag.message}"


def test_the_corpus_holds_at_least_thirty_single_mistake_configs():
    assert len(CASES) >= 30
    assert all(len(expectations(case)) == 1 for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_a_single_mistake_gives_exactly_one_diagnostic(case: Path):
    result = load_config(case, env={}, check_fs=False)
    expected = expectations(case)
    assert [describe(d, case) for d in result.diagnostics] == [e.diagnostic for e in expected]
    for diag, want in zip(result.diagnostics, expected, strict=True):
        if want.hint is not None:
            assert diag.hint == want.hint
