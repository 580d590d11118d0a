"""Configs are read as bytes, as nginx reads them: bytes that are not UTF-8 are ignored in
comments and reported where they are elsewhere; a binary file is one positioned error; long
lines and control bytes render as a short, aligned, printable excerpt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from config_grammar.diagnostics import Diagnostic, render_text
from config_grammar.parser import parse_file
from config_grammar.render import CONTEXT_COLUMNS, MAX_CARETS
from config_grammar.tree import Span
from framework.config.build import load_config

SERVER = b"server {\n    listen 8080;\n    root www;\n}\n"


def _write(tmp_path: Path, data: bytes, name: str = "x.conf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_latin1_bytes_in_comments_are_ignored_like_nginx(tmp_path):
    conf = _write(tmp_path, b"# caf\xe9 \xff\xfe\n" + SERVER.replace(b"{\n", b"{ # na\xefve\n", 1))
    result = load_config(conf, env={}, check_fs=False)
    assert result.diagnostics == [] and result.config is not None
    assert "\ufffd" in result.sources[str(conf)]  # shown as U+FFFD, never as a lone surrogate


def test_a_latin1_byte_in_a_string_is_one_error_at_its_column(tmp_path):
    conf = _write(tmp_path, SERVER + b'add_header X "caf\xe9 \xe8t\xe9";\n')
    (d,) = load_config(conf, env={}, check_fs=False).diagnostics
    assert (d.rule, d.span.line, d.span.col, d.span.end_col) == ("invalid-utf8", 5, 18, 19)
    assert d.message == "byte 0xE9 is not valid UTF-8" and "UTF-8" in d.hint


def test_consecutive_bad_bytes_are_one_span_and_the_statement_is_dropped(tmp_path):
    conf = _write(tmp_path, b"root /caf\xe9\xe8/x;\nindex a;\n")
    result = parse_file(conf)
    (d,) = result.diagnostics
    assert d.message == "bytes 0xE9 0xE8 are not valid UTF-8"
    assert (d.span.col, d.span.end_col) == (10, 12)
    assert [n.name for n in result.nodes] == ["index"]


def test_a_bad_byte_in_an_included_file_names_the_include(tmp_path):
    _write(tmp_path, b"root caf\xe9;\n", "inc.conf")
    conf = _write(tmp_path, b"include inc.conf;\n")
    (d,) = parse_file(conf).diagnostics
    assert d.rule == "invalid-utf8" and d.span.file.endswith("inc.conf")
    assert [str(s) for s in d.include_chain] == [f"{conf}:1:1"]


def test_a_binary_file_is_one_error_at_its_first_nul(tmp_path):
    conf = _write(tmp_path, b"\x7fELF\x02\x01\x01\x00\x00" + bytes(range(256)) * 50)
    (d,) = load_config(conf, env={}, check_fs=False).diagnostics
    assert (d.rule, d.span.line, d.span.col) == ("binary-file", 1, 8)


def test_an_included_binary_file_is_one_error_in_that_file(tmp_path):
    _write(tmp_path, b"\x00\x01\x02 garbage {{{ ;;; }}}", "blob.bin")
    conf = _write(tmp_path, b"include blob.bin;\n")
    (d,) = parse_file(conf).diagnostics
    assert d.rule == "binary-file" and d.span.file.endswith("blob.bin") and d.include_chain


def test_validate_config_on_a_binary_or_latin1_file_exits_1_with_printable_output(tmp_path):
    for data in (Path(sys.executable).read_bytes()[:65536], b'root "caf\xe9\x1b[2J";\n'):
        conf = _write(tmp_path, data)
        proc = subprocess.run(
            [sys.executable, "-m", "framework", "validate-config", str(conf)],
            capture_output=True,
            timeout=60,
        )
        out = proc.stdout.decode("utf-8")  # strict: no lone surrogate reached stdout
        assert proc.returncode == 1, proc.stderr
        assert b"Traceback" not in proc.stderr and "\x1b" not in out
        assert len(out) < 2000  # a window of the line, not the whole binary


def _render(line: str, col: int, end_col: int) -> list[str]:
    diag = Diagnostic("error", "syntax-error", "m", Span("f", 1, col, 1, end_col))
    return render_text([diag], {"f": line}).splitlines()


def test_a_long_line_shows_a_window_around_the_span_with_aligned_carets():
    line = "a" * 100_000 + " TARGET " + "b" * 100_000
    col = 100_002
    _, _, source, carets, *_ = _render(line, col, col + 6)
    assert len(source) < 2 * CONTEXT_COLUMNS + 30
    assert source.startswith("1 | ...") and source.endswith("...")
    start = carets.index("^")
    assert source[start : start + 6] == "TARGET" and carets[start:] == "^" * 6


def test_a_long_span_is_clipped_and_a_short_line_is_shown_whole():
    _, _, source, carets, *_ = _render("x" * 10_000, 1, 10_001)
    assert carets.count("^") == MAX_CARETS and len(source) < MAX_CARETS + CONTEXT_COLUMNS + 10
    _, _, source, carets, *_ = _render("root www;", 6, 9)
    assert source == "1 | root www;" and carets == "  |      ^^^"


def test_control_characters_in_a_source_line_render_as_one_replacement_each():
    _, _, source, carets, *_ = _render("a\x1b[2J\x07 bad;", 8, 11)
    assert "\x1b" not in source and "\x07" not in source
    assert source[carets.index("^") :].startswith("bad")


def test_a_huge_name_quoted_in_a_message_is_clipped_in_the_text_output():
    name = "c" * 1_000_000
    diag = Diagnostic("error", "unknown-directive", f'unknown directive "{name}"', None)
    head = render_text([diag], {}).splitlines()[0]
    assert len(head) < 120 and "c...c" in head and head.endswith('c"')
    assert head.startswith('error[unknown-directive]: unknown directive "cccc')


def test_a_long_path_quoted_in_a_message_is_not_clipped():
    path = "/srv/" + "deep/" * 100 + "x.conf"
    diag = Diagnostic("error", "missing-root", f'root directory "{path}" does not exist', None)
    assert path in render_text([diag], {})
