"""``handler NAME { ... }`` blocks are validated against the plugin's Settings, with errors at
the right line (through ``webserv validate-config``, as a user runs it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"


def validate(tmp_path: Path, config: str, *modules: str) -> tuple[int, list[dict]]:
    """Run ``webserv validate-config --format json`` on ``config`` written next to copies
    of the named example plugin modules."""
    for name in modules:
        shutil.copy(EXAMPLES / f"{name}.py", tmp_path)
    path = tmp_path / "test.conf"
    path.write_text(config)
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    return proc.returncode, json.loads(proc.stdout or "[]")


def only_error(diagnostics: list[dict]) -> dict:
    errors = [d for d in diagnostics if d["severity"] == "error"]
    assert len(errors) == 1, errors
    return errors[0]


def test_an_unknown_setting_is_reported_at_its_line_with_did_you_mean(tmp_path):
    rc, diags = validate(
        tmp_path,
        "load_module greeting;\n"
        "server {\n"
        "    listen 127.0.0.1:8080;\n"
        "    location /hello {\n"
        '        handler greeting { txet "hi"; }\n'
        "    }\n"
        "}\n",
        "greeting",
    )
    error = only_error(diags)
    assert rc == 1
    assert (error["rule"], error["line"], error["col"]) == ("unknown-handler-setting", 5, 28)
    assert '"txet"' in error["message"] and 'did you mean "text"' in error["hint"]


def test_a_value_of_the_wrong_type_is_reported_at_the_value(tmp_path):
    rc, diags = validate(
        tmp_path,
        "load_module sessions;\n"
        "server {\n"
        "    listen 127.0.0.1:8080;\n"
        "    location /visits {\n"
        "        handler sessions {\n"
        "            max_age 30m;\n"
        "            max_sessions lots;\n"
        "        }\n"
        "        handler visits;\n"
        "    }\n"
        "}\n",
        "sessions",
    )
    error = only_error(diags)
    assert rc == 1
    assert (error["rule"], error["line"], error["col"]) == ("invalid-handler-setting", 7, 26)
    assert '"lots"' in error["message"] and "max_sessions" in error["message"]


def test_a_missing_required_setting_is_reported_at_the_handler(tmp_path):
    rc, diags = validate(
        tmp_path,
        "load_module stamp;\nserver {\n    listen 127.0.0.1:8080;\n"
        "    location / { handler stamp; }\n}\n",
        "stamp",
    )
    error = only_error(diags)
    assert rc == 1 and error["line"] == 4 and '"value"' in error["message"]


def test_an_unknown_handler_lists_the_installed_ones_plugins_included(tmp_path):
    rc, diags = validate(
        tmp_path,
        "load_module greeting;\nload_module stamp;\nserver {\n    listen 127.0.0.1:8080;\n"
        "    location / { handler greetings; }\n}\n",
        "greeting",
        "stamp",
    )
    error = only_error(diags)
    assert rc == 1
    assert (error["rule"], error["line"]) == ("unknown-handler", 5)
    assert 'did you mean "greeting"' in error["hint"]
    assert "greeting" in error["hint"] and "stamp" in error["hint"]


def test_spec_settings_value_42_is_accepted_as_a_string(tmp_path):
    rc, diags = validate(
        tmp_path,
        "load_module stamp;\nserver {\n    listen 127.0.0.1:8080;\n"
        "    location /files/ { handler stamp { value 42; } }\n}\n",
        "stamp",
    )
    assert rc == 0, diags


def test_a_plugin_named_like_a_core_directive_is_an_error_at_its_load_module(tmp_path):
    (tmp_path / "clash.py").write_text(
        "from framework import Handler\n\nclass Listen(Handler):\n    name = 'listen'\n"
    )
    rc, diags = validate(
        tmp_path, "# plugins\nload_module clash;\nserver { listen 127.0.0.1:8080; }\n"
    )
    error = only_error(diags)
    assert rc == 1 and error["line"] == 2
    assert 'clashes with the core directive "listen"' in error["message"]


def test_a_module_that_cannot_be_imported_is_an_error_at_its_load_module(tmp_path):
    rc, diags = validate(
        tmp_path, "server { listen 127.0.0.1:8080; }\nload_module no_such_plugin_xyz;\n"
    )
    error = only_error(diags)
    assert rc == 1 and error["line"] == 2 and "no_such_plugin_xyz" in error["message"]


def test_every_example_plugin_config_passes_validate_config():
    configs = sorted(EXAMPLES.glob("*.conf"))
    assert len(configs) >= 5
    for config in configs:
        proc = subprocess.run(
            [sys.executable, "-m", "framework", "validate-config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, (config.name, proc.stdout, proc.stderr)
