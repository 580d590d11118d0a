"""Every rule ID the source can emit is in the rule catalog and documented in docs/rules.md,
so that a new rule cannot be forgotten (SARIF helpUri and the language server read both)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from framework.config.rules import rule_catalog, rule_url

ROOT = Path(__file__).resolve().parents[3]
KEBAB = re.compile(r"[a-z][a-z0-9_]*(?:-[a-z0-9_]+)+\Z")
# what a rule ID passed to a diagnostic call looks like, hyphen or not ("unsupported" was
# one): a log message passed to a logger's error() has spaces or "%"
WORD = re.compile(r"[a-z][a-z0-9_]*(?:-[a-z0-9_]+)*\Z")
# (callable name, position of the rule ID among its arguments)
RULE_ARGUMENT = {
    ("Diagnostic", 1), ("warn", 0), ("_warn", 0), ("error", 0), ("_error", 0), ("_error", 1),
    ("ValueProblem", 0), ("ExpansionProblem", 0), ("LintRule", 0), ("_problem", 0),
    ("ToolFailure", 0),
}  # fmt: skip


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def rule_ids_in(source: str) -> list[str]:
    """The rule IDs written in one module's source: a rule-ID argument of a diagnostic call
    (any lower-case word, hyphenated or not) or an upper-case constant holding kebab-case."""
    found = []
    for node in ast.walk(ast.parse(source)):
        values: list[ast.expr] = []
        shape = KEBAB
        if isinstance(node, ast.Call):
            name = _called(node)
            values += [a for i, a in enumerate(node.args) if (name, i) in RULE_ARGUMENT]
            values += [k.value for k in node.keywords if k.arg == "rule"]
            shape = WORD
        elif isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id.isupper() for t in node.targets
        ):
            values.append(node.value)  # NOT_IMPORTABLE = "app-not-importable"
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                if shape.match(value.value):
                    found.append(value.value)
    return found


def source_rule_ids() -> dict[str, str]:
    """Rule IDs written in the source -> where one is written."""
    found: dict[str, str] = {}
    for top in ("config_grammar", "framework", "handlers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            for rule_id in rule_ids_in(path.read_text(encoding="utf-8")):
                found.setdefault(rule_id, str(path.relative_to(ROOT)))
    return found


# upper-case constants that hold kebab-case text but are not rule IDs
NOT_RULES = {"latin-1", "utf-8", "http-on-tls"}


def test_the_scan_finds_rule_ids_of_every_kind():
    ids = source_rule_ids()
    kinds = ("missing-semicolon", "unknown-directive", "invalid-value", "missing-root")
    kinds += ("app-not-importable", "unterminated-variable", "lint-plugin-error")
    assert [rule_id for rule_id in kinds if rule_id not in ids] == []


def test_every_rule_id_in_the_source_is_kebab_case():
    # a one-word ID (the old "unsupported") is found by the scan and refused here
    loose = {rule_id: where for rule_id, where in source_rule_ids().items() if "-" not in rule_id}
    assert loose == {}


def test_the_scan_finds_one_word_rule_ids_but_not_log_messages():
    source = (
        'raise ValueProblem("unsupported", "x", span, "hint")\n'
        'log.error("cannot start: %s", err)\n'
        'self.error("invalid-location", "empty", span)\n'
        'LATIN = "latin"\n'
        'RULE = "app-not-importable"\n'
    )
    assert sorted(rule_ids_in(source)) == ["app-not-importable", "invalid-location", "unsupported"]


def test_every_rule_id_in_the_source_is_in_the_catalog():
    catalog = rule_catalog()
    missing = {
        rule_id: where
        for rule_id, where in source_rule_ids().items()
        if rule_id not in catalog and rule_id not in NOT_RULES
    }
    assert missing == {}, "add these to framework/config/rules.py and docs/rules.md"


def test_every_catalogued_rule_is_documented_with_an_anchor_and_its_url():
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    catalog = rule_catalog()
    assert sorted(set(catalog) - anchors) == []
    assert sorted(anchors - set(catalog)) == []  # no page for a rule that no longer exists
    for rule_id, info in catalog.items():
        assert info.id == rule_id and info.summary and info.severity in ("error", "warning", "info")
        assert info.help_uri == rule_url(rule_id)
        assert info.help_uri.startswith("https://") and info.help_uri.endswith(
            f"rules.md#{rule_id}"
        )
