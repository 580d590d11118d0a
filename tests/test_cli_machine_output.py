"""``validate-config --format json|sarif``: a document on stdout whatever happens, fatal
errors included (exit 3 stays), every SARIF log valid against the official 2.1.0 schema, and
SARIF rules described from the rule catalog."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sarif_schema import assert_valid_sarif

from framework.cli import main
from framework.config.rules import rule_catalog

BROKEN = "server {\n    listen 0;\n    autoindx on;\n}\n"
WARNS = "server {\n    listen 8080;\n    location /f { alias /tmp/; }\n}\n"


def validate(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["validate-config", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def the_failure(log: dict[str, Any]) -> dict[str, Any]:
    """The one tool execution notification of an unsuccessful run."""
    (run,) = log["runs"]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    return notification


def notification_uri(notification: dict[str, Any]) -> str:
    (location,) = notification["locations"]
    return location["physicalLocation"]["artifactLocation"]["uri"]


# -- fatal errors --------------------------------------------------------------------------------


def fatal_inputs(tmp_path: Path) -> dict[str, str]:
    """Inputs validate-config cannot read at all, by what they are."""
    loop = tmp_path / "loop.conf"
    loop.symlink_to(loop)
    return {
        "missing": str(tmp_path / "missing.conf"),
        "directory": str(tmp_path),
        "device": "/dev/zero",
        "symlink loop": str(loop),
    }


@pytest.mark.parametrize("kind", ["missing", "directory", "device", "symlink loop"])
def test_an_unreadable_input_still_gets_a_valid_sarif_log_saying_why(tmp_path, capsys, kind):
    path = fatal_inputs(tmp_path)[kind]
    code, out, err = validate(capsys, "--format", "sarif", path)
    assert code == 3
    log = assert_valid_sarif(out)
    assert log["runs"][0]["results"] == []
    notification = the_failure(log)
    assert notification["descriptor"] == {"id": "unreadable-file", "index": 0}
    (descriptor,) = log["runs"][0]["tool"]["driver"]["notifications"]
    assert descriptor["id"] == "unreadable-file"
    assert descriptor["shortDescription"]["text"] == rule_catalog()["unreadable-file"].summary
    assert notification["message"]["text"].startswith(f"cannot read {path}: ")
    assert notification_uri(notification).endswith(Path(path).name)
    assert "cannot read" in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["missing", "directory", "device", "symlink loop"])
def test_an_unreadable_input_still_gets_a_json_list_with_the_error(tmp_path, capsys, kind):
    path = fatal_inputs(tmp_path)[kind]
    code, out, _ = validate(capsys, "--format", "json", path)
    assert code == 3
    (item,) = json.loads(out)
    assert item["file"] == path and item["line"] is None and item["col"] is None
    assert (item["severity"], item["rule"]) == ("error", "unreadable-file")
    assert item["message"].startswith(f"cannot read {path}: ")
    assert set(item) == {
        "file", "line", "col", "end_line", "end_col", "severity", "rule", "message", "hint",
        "notes", "include_chain",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("missing", "No such file or directory"),
        ("directory", "Is a directory"),
        ("device", "not a regular file"),
        ("symlink loop", "Too many levels of symbolic links"),
        ("fifo", "not a regular file"),
    ],
)
def test_text_output_of_a_fatal_error_is_one_stderr_line_of_one_format(
    tmp_path, capsys, kind, reason
):
    if kind == "fifo":  # never opened: a FIFO with no writer would block the open forever
        path = str(tmp_path / "pipe.conf")
        os.mkfifo(path)
    else:
        path = fatal_inputs(tmp_path)[kind]
    code, out, err = validate(capsys, path)
    assert (code, out) == (3, "")
    assert err == f"webserv: cannot read {path}: {reason}\n"


@pytest.mark.parametrize("problem", ["no such directory", "not a directory"])
@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_a_bad_prefix_is_a_document_and_exit_3(tmp_path, capsys, fmt, problem):
    config = tmp_path / "site.conf"
    config.write_text("server { listen 8080; }\n")
    prefix = tmp_path / "missing" if problem == "no such directory" else config
    code, out, err = validate(capsys, "--format", fmt, "--prefix", str(prefix), str(config))
    message = f"--prefix: {problem}: '{prefix}'"
    assert code == 3
    assert err == f"webserv validate-config: error: argument {message}\n"
    if fmt == "json":
        (item,) = json.loads(out)
        assert (item["rule"], item["message"], item["file"]) == ("invalid-prefix", message, None)
    else:
        notification = the_failure(assert_valid_sarif(out))
        assert notification["descriptor"]["id"] == "invalid-prefix"
        assert notification["message"]["text"] == message


def test_a_bad_prefix_in_text_format_prints_nothing_on_stdout(tmp_path, capsys):
    config = tmp_path / "site.conf"
    config.write_text("server { listen 8080; }\n")
    code, out, err = validate(capsys, "--prefix", str(tmp_path / "nope"), str(config))
    assert (code, out) == (3, "")
    assert "argument --prefix: no such directory" in err


def without_root_read_override() -> list[str]:
    """A command prefix under which this process's user cannot read a mode-000 file: root
    reads anything unless it gives up CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_permission_denied_is_a_document_and_exit_3(tmp_path, fmt):
    path = tmp_path / "secret.conf"
    path.write_text("server { listen 8080; }\n")
    path.chmod(0)
    cmd = [sys.executable, "-m", "framework", "validate-config", "--format", fmt, str(path)]
    proc = subprocess.run(
        [*without_root_read_override(), *cmd], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3, proc.stderr
    assert f"cannot read {path}: Permission denied" in proc.stderr
    if fmt == "json":
        (item,) = json.loads(proc.stdout)
        assert item["message"] == f"cannot read {path}: Permission denied"
    else:
        notification = the_failure(assert_valid_sarif(proc.stdout))
        assert notification_uri(notification) == f"file://{path}"


def test_binary_input_is_a_valid_document_whether_fatal_or_positioned(tmp_path, capsys):
    """Invalid UTF-8 is either fatal (exit 3, a tool notification) or an error at its
    position (exit 1, a result): both are valid SARIF that name the file."""
    path = tmp_path / "binary.conf"
    path.write_bytes(b"server { listen 8080; }\n# \xff\xfe\x00\x81 caf\xe9\n\x00\x01\x02;\n")
    code, out, err = validate(capsys, "--format", "sarif", str(path))
    log = assert_valid_sarif(out)
    assert "Traceback" not in err
    if code == 3:
        assert "binary.conf" in the_failure(log)["message"]["text"]
    else:
        assert code == 1
        results = log["runs"][0]["results"]
        assert results and all(r["locations"] for r in results if r["level"] == "error")
    code_json, out_json, _ = validate(capsys, "--format", "json", str(path))
    assert code_json == code
    assert any(item["severity"] == "error" for item in json.loads(out_json))


@pytest.mark.parametrize("url", ["ftp://x/", "http://host:99999/", "http:///x", "a b"])
def test_an_explain_url_that_does_not_parse_is_a_document_and_exit_3(tmp_path, capsys, url):
    path = tmp_path / "site.conf"
    path.write_text("server { listen 8080; }\n")
    code, out, err = validate(capsys, "--format", "sarif", "--explain", url, str(path))
    assert code == 3 and "--explain: invalid URL" in err
    notification = the_failure(assert_valid_sarif(out))
    assert notification["descriptor"]["id"] == "invalid-explain-url"
    assert notification["message"]["text"].startswith("--explain: invalid URL")
    code, out, _ = validate(capsys, "--format", "json", "--explain", url, str(path))
    (item,) = json.loads(out)
    assert code == 3 and item["rule"] == "invalid-explain-url" and item["file"] is None


def test_an_unreadable_include_is_not_fatal_and_stays_a_positioned_result(tmp_path, capsys):
    path = tmp_path / "site.conf"
    path.write_text("include missing.conf;\nserver { listen 8080; }\n")
    code, out, _ = validate(capsys, "--format", "sarif", str(path))
    log = assert_valid_sarif(out)
    (run,) = log["runs"]
    assert code == 1 and run["invocations"] == [{"executionSuccessful": True}]
    (result,) = run["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


# -- SARIF rules from the catalog ----------------------------------------------------------------


def test_sarif_rules_carry_the_catalog_description_and_help_link(tmp_path, capsys):
    path = tmp_path / "site.conf"
    path.write_text(BROKEN + WARNS)
    code, out, _ = validate(capsys, "--format", "sarif", str(path))
    assert code == 1
    log = assert_valid_sarif(out)
    (run,) = log["runs"]
    assert run["invocations"] == [{"executionSuccessful": True}]
    catalog = rule_catalog()
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} >= {"invalid-port", "unknown-directive", "alias-traversal"}
    for rule in rules:
        info = catalog.get(rule["id"])
        if info is None or not info.summary:
            assert "shortDescription" not in rule
        else:
            assert rule["shortDescription"] == {"text": info.summary}
        if info is not None and info.help_uri:
            assert rule["helpUri"] == info.help_uri
            assert info.help_uri in rule["help"]["text"]
        else:
            assert "helpUri" not in rule


def test_sarif_of_a_clean_config_is_valid_with_no_results(tmp_path, capsys):
    path = tmp_path / "site.conf"
    path.write_text("server { listen 127.0.0.1:8080; }\n")
    code, out, _ = validate(capsys, "--format", "sarif", str(path))
    log = assert_valid_sarif(out)
    assert code == 0 and log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True}]
