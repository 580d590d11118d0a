"""Lint rules shipped by plugins through the ``webserv.lint_rules`` entry point group: a real
package with a ``*.dist-info/entry_points.txt`` on PYTHONPATH, run by the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN = """
from framework.config.lint_context import LintRule, warn


def no_autoindex(model, ctx):
    for server, loc in ctx.scopes():
        for d in ctx.own(ctx.block_span(server, loc), "autoindex"):
            if loc.autoindex:
                yield warn("acme-no-autoindex", "autoindex is on", d, hint="turn it off")


def crash(model, ctx):
    raise RuntimeError("plugin bug")


def note(model, ctx):
    for server in model.servers:
        yield warn("acme-note", f"{len(server.locations)} locations", None, server.span,
                   severity="info")


GOOD = LintRule("acme-no-autoindex", "autoindex turned on", no_autoindex,
                help_uri="https://acme.example/lints#no-autoindex")
RULES = [
    GOOD,
    LintRule("acme-crash", "always fails", crash),
    LintRule("missing-root", "steals a built-in ID", no_autoindex),
    LintRule("acme-note", "counts locations", note, severity="info"),
    "not a rule",
]
"""

ENTRY_POINTS = """\
[webserv.lint_rules]
acme = acme_lints:RULES
broken = acme_missing_module:RULES
"""

CONFIG = """\
server {
    listen 127.0.0.1:8080;
    root /nonexistent-webserv-root;
    location /files/ { autoindex on; }
}
"""


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "acme_lints.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "acme_lints-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-lints\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (tmp_path / "site.conf").write_text(CONFIG)
    return tmp_path


def validate(plugin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(plugin_dir / "site"), *filter(None, [env.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", *args,
         str(plugin_dir / "site.conf")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def by_rule(result: subprocess.CompletedProcess[str]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    doc = json.loads(result.stdout)
    for d in doc["diagnostics"] if isinstance(doc, dict) else doc:
        found.setdefault(d["rule"], []).append(d)
    return found


def test_a_plugin_rule_runs_and_broken_plugins_are_reported_without_hiding_findings(plugin_dir):
    result = validate(plugin_dir, "--format", "json")
    found = by_rule(result)
    (finding,) = found["acme-no-autoindex"]
    assert finding["message"] == "autoindex is on" and finding["severity"] == "warning"
    # the built-in rule still runs (and the plugin's copy of its ID does not)
    assert [d["severity"] for d in found["missing-root"]] == ["warning"]
    problems = " | ".join(d["message"] for d in found["lint-plugin-error"])
    assert '"broken = acme_missing_module:RULES" cannot be loaded: ModuleNotFoundError' in problems
    assert 'defines rule "missing-root", the ID of a built-in rule' in problems
    assert (
        'rule "acme-crash" (acme = acme_lints:RULES) failed: RuntimeError: plugin bug' in problems
    )
    assert "provides 'not a rule'" in problems
    assert len(found["lint-plugin-error"]) == 4
    assert all(d["severity"] == "error" for d in found["lint-plugin-error"])
    assert result.returncode == 1


def test_an_info_finding_from_a_plugin_is_shown_as_info(plugin_dir):
    result = validate(plugin_dir)
    assert "info[acme-note]: 1 locations" in result.stdout + result.stderr


def test_the_catalog_lists_plugin_rules_with_their_docs_url(plugin_dir):
    code = (
        "from framework.config.rules import rule_catalog\n"
        "c = rule_catalog()\n"
        "print(c['acme-no-autoindex'].help_uri, c['acme-note'].severity,\n"
        "      c['missing-root'].summary, c['acme-crash'].help_uri.endswith('#acme-crash'))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(plugin_dir / "site"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    ).stdout.split()
    assert out[0] == "https://acme.example/lints#no-autoindex"
    assert out[1] == "info"
    assert "steals" not in " ".join(out)  # the built-in keeps its own entry
    assert out[-1] == "True"


JUNK_PLUGIN = """
from config_grammar.diagnostics import Diagnostic
from framework.config.lint_context import LintRule, warn


def junk(model, ctx):
    yield warn("acme-junk", "first real finding", None, model.servers[0].span)
    yield "not a diagnostic"
    yield Diagnostic("fatal", "acme-junk", "bad severity", None, None)
    yield Diagnostic("warning", "acme-junk", "bad span", "site.conf:1:1", None)
    yield warn("acme-junk", "second real finding", None, model.servers[0].span)


RULES = [LintRule("acme-junk", "yields junk among its findings", junk)]
"""


@pytest.mark.parametrize("broken_config", [False, True])
def test_a_plugin_yielding_non_diagnostics_is_reported_and_its_findings_kept(
    plugin_dir, broken_config
):
    site = plugin_dir / "site"
    (site / "junk_lints.py").write_text(textwrap.dedent(JUNK_PLUGIN))
    info = site / "junk_lints-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: junk-lints\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[webserv.lint_rules]\njunk = junk_lints:RULES\n")
    if broken_config:  # errors in the config: findings are sorted with the builder's
        (plugin_dir / "site.conf").write_text(CONFIG.replace("root ", "rooot ", 1))
    result = validate(plugin_dir, "--format", "json")
    assert "Traceback" not in result.stderr, result.stderr
    found = by_rule(result)
    assert [d["message"] for d in found["acme-junk"]] == [
        "first real finding",
        "second real finding",
    ]
    (problem,) = [d for d in found["lint-plugin-error"] if "acme-junk" in d["message"]]
    assert problem["message"] == (
        'lint plugin rule "acme-junk" (junk = junk_lints:RULES) yielded '
        "str 'not a diagnostic', not a Diagnostic (and 2 more such items): it is ignored"
    )
    # the other plugin's and the built-in rules' findings are all still there
    assert len(found["acme-no-autoindex"]) == 1
    assert ("unknown-directive" in found) == broken_config
    assert result.returncode == 1
