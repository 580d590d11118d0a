"""Diagnostic renderers: text (golden snapshot), JSON fields, SARIF 2.1.0 structure."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from sarif_schema import assert_valid_sarif

from config_grammar.diagnostics import (
    Diagnostic,
    render_json,
    render_sarif,
    render_text,
    summary,
)
from config_grammar.parser import parse_file
from config_grammar.tree import Span

GOLDEN = Path(__file__).with_name("golden")


@pytest.fixture
def golden_result(monkeypatch):
    monkeypatch.chdir(GOLDEN)  # file names in the snapshot are relative
    return parse_file("multi_error.conf", env={})


def test_text_output_for_a_config_with_several_errors_matches_the_golden_file(golden_result):
    text = render_text(golden_result.diagnostics, golden_result.sources)
    assert text == (GOLDEN / "multi_error.txt").read_text()


def test_colored_text_is_the_plain_text_plus_ansi_codes(golden_result):
    plain = render_text(golden_result.diagnostics, golden_result.sources)
    colored = render_text(golden_result.diagnostics, golden_result.sources, color=True)
    assert "\x1b[" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == plain


def test_text_shows_hint_notes_and_include_chain_innermost_first():
    inner = Span("site.conf", 12, 5, 12, 10)
    diag = Diagnostic(
        "error",
        "unknown-directive",
        'unknown directive "lisen"',
        inner,
        hint='did you mean "listen"?',
        notes=["extra note"],
        include_chain=(Span("webserv.conf", 3, 1, 3, 20), Span("mid.conf", 7, 1, 7, 20)),
    )
    sources = {"site.conf": "\n" * 11 + "    lisen 8080;\n"}
    assert render_text([diag], sources) == (
        'site.conf:12:5: error[unknown-directive]: unknown directive "lisen"\n'
        "   |\n"
        "12 |     lisen 8080;\n"
        "   |     ^^^^^\n"
        '   = hint: did you mean "listen"?\n'
        "   = note: extra note\n"
        "   = note: included from mid.conf:7:1\n"
        "   = note: included from webserv.conf:3:1\n"
        "\n"
        "1 error\n"
    )


def test_text_without_span_or_source_still_renders_the_message():
    diags = [
        Diagnostic("warning", "x", "no location"),
        Diagnostic("error", "y", "unknown file", Span("gone.conf", 1, 1, 1, 2)),
    ]
    out = render_text(diags, {})
    assert "warning[x]: no location" in out
    assert "gone.conf:1:1: error[y]: unknown file" in out
    assert out.endswith("1 error, 1 warning\n")


def test_multiline_span_underlines_to_the_end_of_its_first_line():
    diag = Diagnostic("error", "r", "m", Span("f", 1, 3, 2, 2))
    assert "  | " + "  ^^^" in render_text([diag], {"f": 'ab"cd\ne"\n'})


@pytest.mark.parametrize(
    ("severities", "text"),
    [
        ([], "no errors or warnings"),
        (["error"], "1 error"),
        (["warning"] * 2, "2 warnings"),
        (["error", "error", "warning"], "2 errors, 1 warning"),
    ],
)
def test_summary_line_counts_errors_and_warnings(severities, text):
    assert summary([Diagnostic(s, "r", "m") for s in severities]) == text


def test_json_has_one_object_per_diagnostic_with_every_field(golden_result):
    items = json.loads(render_json(golden_result.diagnostics))
    assert len(items) == len(golden_result.diagnostics) == 7
    first = items[0]
    assert first == {
        "file": "multi_error.conf",
        "line": 3,
        "col": 16,
        "end_line": 3,
        "end_col": 17,
        "severity": "error",
        "rule": "missing-semicolon",
        "message": 'directive "listen" is not terminated by ";"',
        "hint": 'add ";" at the end of the directive',
        "notes": [],
        "include_chain": [],
    }
    assert {i["severity"] for i in items} == {"error", "info"}


def test_json_include_chain_lists_spans_outermost_first():
    chain = (Span("a.conf", 1, 1, 1, 9), Span("b.conf", 2, 1, 2, 9))
    (item,) = json.loads(
        render_json(
            [Diagnostic("error", "r", "m", Span("c.conf", 1, 1, 1, 2), include_chain=chain)]
        )
    )
    assert [(s["file"], s["line"]) for s in item["include_chain"]] == [("a.conf", 1), ("b.conf", 2)]


def test_sarif_log_has_the_required_2_1_0_structure(golden_result):
    log = assert_valid_sarif(render_sarif(golden_result.diagnostics))
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "webserv"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    assert set(rule_ids) == {d.rule for d in golden_result.diagnostics}
    assert len(run["results"]) == 7
    for result, diag in zip(run["results"], golden_result.diagnostics, strict=True):
        assert result["ruleId"] == diag.rule
        assert rule_ids[result["ruleIndex"]] == diag.rule
        assert result["level"] == {"info": "note"}.get(diag.severity, diag.severity)
        assert result["message"]["text"].startswith(diag.message)
        (loc,) = result["locations"]
        region = loc["physicalLocation"]["region"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "multi_error.conf"
        assert (region["startLine"], region["startColumn"]) == (diag.span.line, diag.span.col)
        assert (region["endLine"], region["endColumn"]) == (diag.span.end_line, diag.span.end_col)


def test_sarif_uris_are_percent_encoded_and_absolute_paths_become_file_uris():
    absolute = os.path.abspath("x.conf")
    diags = [
        Diagnostic("error", "r", "m", Span("my conf/a.conf", 1, 1, 1, 2)),
        Diagnostic("error", "r", "m", Span(absolute, 1, 1, 1, 2)),
    ]
    results = assert_valid_sarif(render_sarif(diags))["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris[0] == "my%20conf/a.conf"
    assert uris[1].startswith("file:///") and uris[1].endswith("/x.conf")


def test_sarif_include_chain_becomes_related_locations():
    diag = Diagnostic(
        "error", "r", "m", Span("c.conf", 1, 1, 1, 2), include_chain=(Span("a.conf", 4, 1, 4, 9),)
    )
    (result,) = assert_valid_sarif(render_sarif([diag]))["runs"][0]["results"]
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["region"]["startLine"] == 4
