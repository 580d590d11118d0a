"""The ``webserv`` command line: exit codes, output formats, fmt, schema, run dispatch."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest

import framework
from framework.cli import main

CLEAN = "server {\n    listen 127.0.0.1:8080;\n    root .;\n}\n"
BROKEN = "server {\n    listen 0;\n    autoindx on;\n}\n"
WARNS = "server {\n    listen 8080;\n    location /f { alias /tmp/; }\n}\n"


@pytest.fixture
def conf(tmp_path):
    def write(text: str, name: str = "site.conf") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def test_a_clean_config_exits_0(conf, capsys):
    assert main(["validate-config", conf(CLEAN)]) == 0
    assert capsys.readouterr().out == "no errors or warnings\n"


def test_errors_exit_1_and_are_all_printed_with_positions(conf, capsys):
    path = conf(BROKEN)
    assert main(["validate-config", path]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2:12: error[invalid-port]" in out
    assert f"{path}:3:5: error[unknown-directive]" in out
    assert out.rstrip().endswith("2 errors")


def test_warnings_exit_0_but_2_with_strict(conf, capsys):
    path = conf(WARNS)
    assert main(["validate-config", path]) == 0
    assert main(["validate-config", "--strict", path]) == 2
    assert "warning[alias-traversal]" in capsys.readouterr().out


def test_an_unreadable_or_missing_file_exits_3(tmp_path, capsys):
    assert main(["validate-config", str(tmp_path / "missing.conf")]) == 3
    assert main(["validate-config", str(tmp_path)]) == 3
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["validate-config"],
        ["validate-config", "x.conf", "--format", "xml"],
        ["validate-config", "--bogus", "x"],
    ],
)
def test_validate_config_usage_errors_exit_3(argv, capsys):
    assert main(argv) == 3
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["run", "--workers", "zero"], ["run", "a", "b"], ["frobnicate"], []]
)
def test_other_usage_errors_exit_2(argv):
    assert main(argv) == 2


def test_json_output_lists_every_diagnostic(conf, capsys):
    assert main(["validate-config", "--format", "json", conf(BROKEN)]) == 1
    items = json.loads(capsys.readouterr().out)
    assert [(d["rule"], d["line"], d["col"], d["severity"]) for d in items] == [
        ("invalid-port", 2, 12, "error"),
        ("unknown-directive", 3, 5, "error"),
    ]
    assert items[1]["hint"] == 'did you mean "autoindex"?'


def test_sarif_output_is_sarif_2_1_0(conf, capsys):
    assert main(["validate-config", "--format", "sarif", conf(BROKEN)]) == 1
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"invalid-port", "unknown-directive"}


def test_no_fs_skips_filesystem_checks(conf, capsys):
    path = conf("server {\n    root does/not/exist;\n}\n")
    assert main(["validate-config", "--strict", path]) == 2
    assert main(["validate-config", "--strict", "--no-fs", path]) == 0


def test_explain_prints_the_server_and_location(conf, capsys):
    path = conf("server {\n    listen 8080;\n    location /api/ { return 204; }\n}\n")
    assert (
        main(["validate-config", "--no-fs", path, "--explain", "http://localhost:8080/api/x"]) == 0
    )
    out = capsys.readouterr().out
    assert "location  /api/ at" in out and "return" in out


def test_validate_config_binds_nothing_and_writes_nothing(tmp_path, conf):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = conf(
            f"pid {tmp_path}/w.pid;\nerror_log {tmp_path}/e.log;\n"
            f"server {{\n  listen 127.0.0.1:{port};\n  root .;\n"
            f"  access_log {tmp_path}/a.log;\n"
            f"  location /u/ {{ upload_store {tmp_path}/up; }}\n}}\n"
        )
        before = sorted(p.name for p in tmp_path.iterdir())
        assert main(["validate-config", "--no-fs", path]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_fmt_check_diff_and_write(conf, capsys):
    path = conf("server{listen 8080;   root www;}\n")
    assert main(["fmt", "--check", path]) == 1
    assert main(["fmt", "--diff", path]) == 0
    diff = capsys.readouterr().out
    assert diff.startswith("---") and "+server {" in diff
    assert main(["fmt", path]) == 0
    formatted = capsys.readouterr().out
    assert Path(path).read_text() == "server{listen 8080;   root www;}\n"  # plain fmt prints only
    assert main(["fmt", "--write", path]) == 0
    assert Path(path).read_text() == formatted
    assert main(["fmt", "--check", path]) == 0


def test_fmt_of_a_file_with_syntax_errors_exits_1(conf, capsys):
    assert main(["fmt", conf("server {\n  root a;\n")]) == 1
    assert "error" in capsys.readouterr().err


def test_fmt_of_a_missing_file_exits_3(tmp_path):
    assert main(["fmt", str(tmp_path / "nope.conf")]) == 3


def test_schema_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert "listen" in schema["$defs"]["server"]["properties"]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"webserv {framework.__version__}"


def test_run_check_validates_and_exits(conf, capsys):
    assert main(["run", "--check", conf(CLEAN)]) == 0
    assert main(["run", "--check", conf(BROKEN)]) == 1
    assert "error[invalid-port]" in capsys.readouterr().err


def test_run_dispatches_to_the_server(conf, monkeypatch):
    seen = []
    fake = types.ModuleType("framework.server")
    fake.run_command = lambda args: seen.append(args) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "framework.server", fake)
    assert main(["run", conf(CLEAN), "--workers", "2"]) == 0
    assert main(["run"]) == 0
    assert (seen[0].config, seen[0].workers, seen[0].check) == (conf(CLEAN), 2, False)
    assert seen[1].config is None


def test_the_console_entry_point_runs_as_a_module(conf):
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", conf(BROKEN)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "error[unknown-directive]" in proc.stdout


def test_explain_of_a_broken_config_says_why_it_cannot(conf, capsys):
    assert main(["validate-config", conf(BROKEN), "--explain", "/"]) == 1
    assert "cannot explain /: the configuration has errors" in capsys.readouterr().out
