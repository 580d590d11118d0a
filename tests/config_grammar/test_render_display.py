"""The text renderer on a terminal: control characters in messages cannot drive it, and the
carets line up under wide characters (CJK, emoji), which take two columns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from config_grammar.diagnostics import Diagnostic, render_text
from config_grammar.render import display_width
from config_grammar.tree import Span
from framework.config.build import load_config


def _rendered(tmp_path: Path, text: str) -> str:
    path = tmp_path / "t.conf"
    path.write_bytes(text.encode())
    result = load_config(path, env={}, check_fs=False)
    return render_text(result.diagnostics, result.sources)


def _caret_columns(block: str) -> tuple[int, int]:
    """Display columns (start, width) of the caret run on the excerpt's underline."""
    underline = next(line for line in block.splitlines() if line.rstrip().endswith("^"))
    body = underline.split("|", 1)[1]
    start = len(body) - len(body.lstrip(" "))
    return start, body.count("^")


def test_an_escape_sequence_in_a_directive_name_is_shown_escaped_in_the_message(tmp_path):
    out = _rendered(tmp_path, "server { listen 8080; bad\x1b[31mred\x07; }\n")
    assert 'unknown directive "bad\\x1b[31mred\\x07"' in out
    assert "\x1b" not in out and "\x07" not in out


def test_control_characters_in_hints_and_notes_are_escaped_too():
    diag = Diagnostic(
        "error",
        "x",
        "bell\x07",
        Span("f.conf", 1, 1, 1, 2),
        hint="clear\x1b[2J",
        notes=["nul\x00", "ok é 漢"],
    )
    out = render_text([diag], {"f.conf": "a;\n"})
    assert "bell\\x07" in out and "clear\\x1b[2J" in out and "nul\\x00" in out
    assert "ok é 漢" in out
    assert not any(c in out for c in "\x00\x07\x1b")


def test_the_cli_prints_no_raw_control_character_for_such_a_name(tmp_path):
    path = tmp_path / "esc.conf"
    path.write_bytes(b"server { listen 8080; bad\x1b[31mred\x07; }\n")
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--no-fs", str(path)],
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1
    assert b"\x1b" not in proc.stdout + proc.stderr and b"\x07" not in proc.stdout
    assert b'"bad\\x1b[31mred\\x07"' in proc.stdout


def test_carets_sit_under_the_name_after_cjk_and_emoji(tmp_path):
    source = 'server { listen 8080; add_header X "😀漢字"; rooot /a; }'
    out = _rendered(tmp_path, source + "\n")
    excerpt = next(line for line in out.splitlines() if line.startswith("1 | "))
    start, width = _caret_columns(out)
    name_column = display_width(excerpt[4 : excerpt.index("rooot")])
    assert (start - 1, width) == (name_column, 5)


def test_a_wide_name_is_underlined_across_its_full_display_width(tmp_path):
    out = _rendered(tmp_path, "server { listen 8080; 漢字名 x; }\n")
    assert 'unknown directive "漢字名"' in out
    start, width = _caret_columns(out)
    assert (start - 1, width) == (len("server { listen 8080; "), 6)


def test_display_width_counts_wide_characters_twice_and_combining_marks_not_at_all():
    assert display_width("abc") == 3
    assert display_width("漢字") == 4
    assert display_width("😀") == 2
    assert display_width("e\u0301") == 1
    assert display_width("ｱ") == 1  # halfwidth katakana
    assert display_width("Ａ") == 2  # fullwidth latin
