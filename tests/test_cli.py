"""The ``webserv`` command line: exit codes, output formats, fmt, schema, run dispatch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest
from sarif_schema import assert_valid_sarif

import framework
from framework.cli import main

CLEAN = "server {\n    listen 127.0.0.1:8080;\n}\n"
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
    sarif = assert_valid_sarif(capsys.readouterr().out)
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


# -- side-effect freedom, proven with audit hooks in a fresh interpreter ------------------------

_AUDIT = r"""
import os, sys
seen = []
WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
WATCHED = {"socket.bind", "socket.connect", "os.mkdir", "os.remove", "os.rename", "os.replace",
           "os.rmdir", "os.chmod", "os.truncate", "os.symlink", "os.link", "os.fork",
           "os.forkpty", "os.posix_spawn", "os.exec", "os.system", "subprocess.Popen",
           "os.kill", "os.killpg"}
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & WRITES:
            seen.append(f"open {path} {mode} {flags}")
    elif event in WATCHED:
        seen.append(f"{event} {args!r}")
from framework.cli import main  # importing the CLI itself may cache bytecode; running it not
sys.dont_write_bytecode = False
sys.addaudithook(hook)
code = main(sys.argv[1:])
sys.stdout.flush()
print("SIDE EFFECTS:", seen, file=sys.stderr)
sys.exit(code)
"""

_PLUGIN = """
from framework import Handler, Response

class Audited(Handler):
    name = "audited_greeting"

    class Settings(Handler.Settings):
        text: str = "hi"

    async def handle(self, request, call_next):
        return Response(200, self.settings.text)
"""


@pytest.fixture(scope="module")
def pycache_prefix(tmp_path_factory) -> str:
    """Where the audited interpreters cache the bytecode of their own start-up."""
    return str(tmp_path_factory.mktemp("pycache"))


@pytest.mark.parametrize(
    "options", [[], ["--no-fs"], ["--format", "sarif", "--explain", "/hello"], ["--strict"]]
)
def test_validate_config_opens_nothing_for_writing_binds_nothing_and_spawns_nothing(
    tmp_path, pycache_prefix, options
):
    (tmp_path / "audited_plugin.py").write_text(_PLUGIN)
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "conf.d" / "limits.conf").write_text("client_max_body_size 2m;\n")
    config = tmp_path / "site.conf"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config.write_text(
            "load_module audited_plugin;\npid run/webserv.pid;\nerror_log logs/error.log;\n"
            f"server {{\n  listen 127.0.0.1:{port};\n  root www;\n  access_log logs/a.log;\n"
            "  include conf.d/*.conf;\n  location /hello { handler audited_greeting; }\n"
            "  location /up/ { upload_store uploads; }\n"
            "  location /cgi/ { cgi .py python3; cgi .sh; }\n}\n"
        )
        before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        # bytecode caching stays on (a plugin import would write one), but the caches of the
        # interpreter's own start-up go outside the source tree
        env["PYTHONPYCACHEPREFIX"] = pycache_prefix
        proc = subprocess.run(
            [sys.executable, "-c", _AUDIT, "validate-config", str(config), *options],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )
    assert proc.returncode in (0, 2), proc.stderr
    assert "SIDE EFFECTS: []" in proc.stderr, proc.stderr
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert after == before  # no __pycache__ next to the plugin, no log, pid or upload dir


# -- usage errors and exit codes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://h:99999/", "http://h:port/", "ftp://h/", "", "/a b", "http:///x"]
)
def test_an_explain_url_no_client_could_send_is_a_usage_error(conf, capsys, url):
    assert main(["validate-config", conf(CLEAN), "--explain", url]) == 3
    err = capsys.readouterr().err
    assert "--explain: invalid URL" in err and "Traceback" not in err


def test_explain_shows_why_a_request_is_refused_without_repeating_the_status(conf, capsys):
    assert main(["validate-config", "--no-fs", conf(CLEAN), "--explain", "/%00"]) == 0
    out = capsys.readouterr().out
    assert "request   rejected with 400: " in out and "400: 400" not in out


def test_run_check_of_an_unreadable_file_exits_1_like_run(tmp_path, capsys):
    assert main(["run", "--check", str(tmp_path / "missing.conf")]) == 1
    assert "error[unreadable-file]" in capsys.readouterr().err


def test_run_check_reports_warnings_but_still_passes(conf, capsys):
    assert main(["run", "--check", conf(WARNS)]) == 0
    assert "warning[alias-traversal]" in capsys.readouterr().err


# -- fmt -----------------------------------------------------------------------------------------

MESSY = """# top comment
workers   2 ;   # trailing comment
server{listen 8080;
  # inside
      location /a/ {root "www dir";index a.html   b.html;}
}
"""


def test_fmt_write_is_idempotent_and_keeps_every_comment(conf, capsys):
    path = Path(conf(MESSY))
    assert main(["fmt", "--check", str(path)]) == 1
    assert main(["fmt", "--write", str(path)]) == 0
    once = path.read_text()
    assert main(["fmt", "--write", str(path)]) == 0
    assert path.read_text() == once
    assert main(["fmt", "--check", str(path)]) == 0
    for comment in ("# top comment", "# trailing comment", "# inside"):
        assert comment in once
    assert main(["fmt", "--diff", str(path)]) == 0
    assert capsys.readouterr().out == ""  # nothing left to change


def _without_spans(value):
    if isinstance(value, dict):
        return {k: _without_spans(v) for k, v in value.items() if k != "span"}
    if isinstance(value, list):
        return [_without_spans(v) for v in value]
    return value


def test_fmt_output_means_the_same_config(conf):
    from framework.config.build import load_config

    path = Path(conf(MESSY))
    before = load_config(path, check_fs=False, env={}).config
    assert main(["fmt", "--write", str(path)]) == 0
    after = load_config(path, check_fs=False, env={}).config
    assert before is not None and after is not None
    assert _without_spans(after.model_dump()) == _without_spans(before.model_dump())


# -- schema --------------------------------------------------------------------------------------


def test_schema_output_validates_a_config_shaped_document(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    location = {"args": ["/"], "block": {"autoindex": ["on"], "handler": [{"name": "static"}]}}
    good = {"workers": ["2"], "server": [{"listen": [["8080"]], "location": [location]}]}
    bad = {"server": [{"lisen": [["8080"]]}]}
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors(bad)) != []


def test_output_into_a_closed_pipe_is_not_a_traceback(conf):
    proc = subprocess.Popen(
        [sys.executable, "-m", "framework", "validate-config", "--format", "json", conf(BROKEN)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before anything is written
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert b"Traceback" not in err


def test_a_device_is_not_read_as_a_config(capsys):
    assert main(["validate-config", "/dev/zero"]) == 3  # would never end
    assert main(["run", "--check", "/dev/zero"]) == 1
    assert "not a regular file" in capsys.readouterr().err


def test_fmt_write_keeps_the_file_mode_and_leaves_no_temp_file(conf, tmp_path):
    path = Path(conf(MESSY))
    path.chmod(0o640)
    assert main(["fmt", "--write", str(path)]) == 0
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_fmt_write_that_fails_leaves_the_original_intact(conf, tmp_path, monkeypatch, capsys):
    path = Path(conf(MESSY))

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    assert main(["fmt", "--write", str(path)]) == 3
    assert "cannot write" in capsys.readouterr().err
    assert path.read_text() == MESSY
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
