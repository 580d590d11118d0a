"""``render_json`` and ``render_sarif`` beyond the plain diagnostics list: a fatal
``ToolFailure``, and rule descriptions from a catalog handed in by the caller (config_grammar
imports nothing from framework)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest
from sarif_schema import assert_valid_sarif

from config_grammar.diagnostics import Diagnostic
from config_grammar.render_machine import ToolFailure, render_json, render_sarif
from config_grammar.tree import Span


@dataclass(frozen=True)
class Doc:
    summary: str
    help_uri: str


DIAGS = [
    Diagnostic("error", "documented", "m1", Span("a.conf", 1, 1, 1, 2)),
    Diagnostic("warning", "undocumented", "m2", Span("a.conf", 2, 1, 2, 2)),
    Diagnostic("info", "summary-only", "m3", Span("a.conf", 3, 1, 3, 2)),
    Diagnostic("error", "documented", "m4", Span("a.conf", 4, 1, 4, 2)),
]
CATALOG = {
    "documented": Doc("a rule with docs.", "https://example.org/rules#documented"),
    "summary-only": Doc("a rule without a page", ""),
}


def rules_by_id(log: dict) -> dict[str, dict]:
    return {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}


def test_sarif_rules_take_description_and_help_link_from_the_catalog():
    log = assert_valid_sarif(render_sarif(DIAGS, rules=CATALOG))
    rules = rules_by_id(log)
    assert rules["documented"] == {
        "id": "documented",
        "defaultConfiguration": {"level": "error"},
        "shortDescription": {"text": "a rule with docs."},
        "helpUri": "https://example.org/rules#documented",
        "help": {"text": "a rule with docs. Documentation: https://example.org/rules#documented"},
    }
    assert rules["summary-only"] == {
        "id": "summary-only",
        "defaultConfiguration": {"level": "note"},
        "shortDescription": {"text": "a rule without a page"},
    }


def test_a_rule_missing_from_the_catalog_renders_without_descriptions():
    log = assert_valid_sarif(render_sarif(DIAGS, rules=CATALOG))
    assert rules_by_id(log)["undocumented"] == {
        "id": "undocumented",
        "defaultConfiguration": {"level": "warning"},
    }
    assert rules_by_id(assert_valid_sarif(render_sarif(DIAGS)))["documented"] == {
        "id": "documented",
        "defaultConfiguration": {"level": "error"},
    }


def test_each_rule_is_described_once_and_results_point_at_it():
    log = assert_valid_sarif(render_sarif(DIAGS, rules=CATALOG))
    run = log["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert ids == ["documented", "undocumented", "summary-only"]
    assert [ids[r["ruleIndex"]] for r in run["results"]] == [d.rule for d in DIAGS]
    assert [r["level"] for r in run["results"]] == ["error", "warning", "note", "error"]


def test_a_successful_run_says_so_in_its_invocation():
    log = assert_valid_sarif(render_sarif([]))
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True}]


@pytest.mark.parametrize(
    ("file", "uri"),
    [("my dir/x.conf", "my%20dir/x.conf"), ("/etc/w s.conf", "file:///etc/w%20s.conf")],
)
def test_a_failure_is_an_unsuccessful_invocation_with_a_notification(file, uri):
    failure = ToolFailure("unreadable-file", f"cannot read {file}: Permission denied", file)
    log = assert_valid_sarif(render_sarif([], rules=CATALOG, failure=failure))
    (run,) = log["runs"]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []
    assert run["tool"]["driver"]["notifications"] == [
        {"id": "unreadable-file", "defaultConfiguration": {"level": "error"}}
    ]
    assert run["invocations"] == [
        {
            "executionSuccessful": False,
            "toolExecutionNotifications": [
                {
                    "level": "error",
                    "message": {"text": f"cannot read {file}: Permission denied"},
                    "descriptor": {"id": "unreadable-file", "index": 0},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
                }
            ],
        }
    ]


def test_a_failure_without_a_file_has_no_location_and_keeps_other_results():
    failure = ToolFailure("invalid-explain-url", "--explain: invalid URL 'x y'")
    log = assert_valid_sarif(render_sarif(DIAGS[:1], failure=failure))
    (run,) = log["runs"]
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert "locations" not in notification
    (descriptor,) = run["tool"]["driver"]["notifications"]
    assert descriptor["id"] == "invalid-explain-url"
    assert [r["ruleId"] for r in run["results"]] == ["documented"]


def test_json_appends_the_failure_as_one_more_error_item_with_its_file():
    failure = ToolFailure("unreadable-file", "cannot read x.conf: Is a directory", "x.conf")
    items = json.loads(render_json(DIAGS[:1], failure))
    assert [i["rule"] for i in items] == ["documented", "unreadable-file"]
    assert items[1] == {
        "file": "x.conf",
        "line": None,
        "col": None,
        "end_line": None,
        "end_col": None,
        "severity": "error",
        "rule": "unreadable-file",
        "message": "cannot read x.conf: Is a directory",
        "hint": None,
        "notes": [],
        "include_chain": [],
    }
    assert json.loads(render_json(DIAGS[:1])) == items[:1]


def test_config_grammar_rendering_imports_nothing_from_framework():
    code = (
        "import sys, config_grammar.render_machine, config_grammar.diagnostics\n"
        "print(sorted(m for m in sys.modules if m == 'framework' or m.startswith('framework.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"
