"""``webserv validate-config CONFIG --dump``: like ``nginx -T``, the configuration with its
includes spliced in (each marked ``# configuration file PATH:``) and ``${VAR}``s expanded,
itself a valid config meaning the same; ``--format json``: the effective models (inherited
settings filled in), stable. Exit codes and stderr diagnostics as validate-config."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from framework.cli import main

MAIN = """\
# the main file
workers 1;
include conf.d/*.conf;
server {
    listen 127.0.0.1:${DUMP_PORT:-8080};   # the port
    root "${DUMP_ROOT:-www}";
    client_max_body_size 2m;
    include locations.part;
    location ~ \\.php$ {
        return 403;
    }
}
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "www").mkdir()
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "limits.conf").write_text("max_connections 100;\n")
    (tmp_path / "locations.part").write_text(
        "location /app/ {\n    location /app/api/ {\n        return 200 \"v=${DUMP_V:-a 'b'}\";\n"
        "    }\n}\n"
    )
    (tmp_path / "main.conf").write_text(MAIN)
    monkeypatch.chdir(tmp_path)
    for name in ("DUMP_PORT", "DUMP_ROOT", "DUMP_V"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def dump(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["validate-config", *args, "--dump"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_text_dump_splices_includes_marks_their_files_and_expands_variables(site, capsys):
    os.environ["DUMP_PORT"] = "9099"
    try:
        code, out, err = dump(capsys, "main.conf")
    finally:
        del os.environ["DUMP_PORT"]
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "# configuration file main.conf:"
    assert "# the main file" in lines
    assert lines.index("# configuration file conf.d/limits.conf:") + 1 == lines.index(
        "max_connections 100;"
    )
    assert "    listen 127.0.0.1:9099; # the port" in lines
    assert "    root www;" in lines
    assert "    # configuration file locations.part:" in lines
    assert "            return 200 'v=a \\'b\\'';" in lines
    # back in the main file for the rest of the server block
    tail = lines[lines.index("    # configuration file locations.part:") :]
    assert "    # configuration file main.conf:" in tail
    assert "    location ~ \\.php$ {" in tail
    assert not any(line.lstrip().startswith("include") for line in lines)


def test_the_text_dump_is_a_config_that_means_the_same(site, capsys):
    code, out, _ = dump(capsys, "main.conf")
    assert code == 0
    (site / "dumped.conf").write_text(out)
    _, original, _ = dump(capsys, "main.conf", "--format", "json")
    code, again, err = dump(capsys, "dumped.conf", "--format", "json")
    assert code == 0, err
    first, second = json.loads(original), json.loads(again)
    assert first["config"].pop("source").endswith("main.conf")
    assert second["config"].pop("source").endswith("dumped.conf")
    assert first["config"] == second["config"]


def test_json_dump_holds_the_effective_inherited_settings_and_is_stable(site, capsys):
    code, out, _ = dump(capsys, "main.conf", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["webserv_config_dump"] == 1
    assert data["source"] == str(site / "main.conf")
    config = data["config"]
    assert config["max_connections"] == 100 and config["user"] is None
    (server,) = config["servers"]
    assert server["listens"][0]["host"] == "127.0.0.1" and server["listens"][0]["port"] == 8080
    app = next(loc for loc in server["locations"] if loc["pattern"] == "/app/")
    (api,) = app["children"]
    # inherited from the server, resolved to absolute paths
    assert api["client_max_body_size"] == 2 * 1024 * 1024
    assert api["root"] == str(site / "www")
    assert api["return_"] == {"status": 200, "url": None, "text": "v=a 'b'"}
    assert sorted(app["allow_methods"]) == app["allow_methods"]  # sets come sorted
    assert '"span"' not in json.dumps(data)
    _, again, _ = dump(capsys, "main.conf", "--format", "json")
    assert again == out


def test_errors_dump_nothing_and_exit_1_with_the_diagnostics_on_stderr(site, capsys):
    (site / "bad.conf").write_text("server { listen 127.0.0.1:8080; nonsense; }\n")
    code, out, err = dump(capsys, "bad.conf")
    assert code == 1 and out == ""
    assert 'unknown directive "nonsense"' in err
    code, out, _ = dump(capsys, "bad.conf", "--format", "json")
    assert code == 1 and out == ""


def test_warnings_go_to_stderr_and_fail_only_with_strict(site, capsys):
    (site / "warn.conf").write_text("server { listen 127.0.0.1:8080; root missing; }\n")
    code, out, err = dump(capsys, "warn.conf")
    assert code == 0 and "root missing;" in out and "warning[missing-root]" in err
    code, out, _ = dump(capsys, "warn.conf", "--strict")
    assert code == 2 and "root missing;" in out


def test_an_unreadable_config_exits_3(site, capsys):
    code, out, _ = dump(capsys, "absent.conf")
    assert code == 3 and out == ""
