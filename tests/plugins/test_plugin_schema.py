"""``webserv schema CONFIG``: the schema includes the handlers CONFIG's ``load_module`` lines
register (found next to the config, as ``validate-config`` finds them); a module that cannot
load gives its diagnostics on stderr and exit 1. Real CLI subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PLUGIN = '''
from framework import ConfigPath, Handler, HandlerSettings


class BannerSettings(HandlerSettings):
    text: str
    template: ConfigPath | None = None


class Banner(Handler[BannerSettings]):
    """Adds a banner."""
    name = "banner"
'''


def schema(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "framework", "schema", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def site(tmp_path: Path, config: str) -> Path:
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "bannerplugin.py").write_text(PLUGIN)
    (conf / "site.conf").write_text(config)
    (tmp_path / "elsewhere").mkdir(exist_ok=True)
    return conf / "site.conf"


def test_the_handlers_of_the_configs_load_module_lines_are_in_the_schema(tmp_path):
    config = site(tmp_path, "load_module bannerplugin;\nserver { listen 8080; }\n")
    proc = schema(tmp_path / "elsewhere", str(config))
    assert proc.returncode == 0, proc.stderr
    defs = json.loads(proc.stdout)["$defs"]
    banner = defs["handler.banner"]
    assert banner["required"] == ["text"]
    assert set(banner["properties"]) == {"text", "template"}
    names = [v["properties"]["name"]["const"] for v in defs["handler"]["oneOf"]]
    assert "banner" in names and "static" in names
    variant = next(
        v for v in defs["handler"]["oneOf"] if v["properties"]["name"]["const"] == "banner"
    )
    assert variant["description"] == "Adds a banner."


def test_without_config_the_plugin_is_not_in_the_schema(tmp_path):
    site(tmp_path, "load_module bannerplugin;\n")
    proc = schema(tmp_path / "conf")  # even from the plugin's directory
    assert proc.returncode == 0
    assert "handler.banner" not in json.loads(proc.stdout)["$defs"]


def test_other_mistakes_in_the_config_do_not_withhold_the_schema(tmp_path):
    config = site(tmp_path, "load_module bannerplugin;\nsendfile on;\nserver { listen x; }\n")
    proc = schema(tmp_path / "elsewhere", str(config))
    assert proc.returncode == 0
    assert "handler.banner" in json.loads(proc.stdout)["$defs"]
    assert proc.stderr == ""


def test_a_module_that_cannot_load_gives_its_diagnostics_on_stderr_and_exit_1(tmp_path):
    config = site(tmp_path, "load_module bannerplugin;\nload_module no_such_plugin;\n")
    proc = schema(tmp_path / "elsewhere", str(config))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "site.conf:2:13: error[load-module-failed]" in proc.stderr
    assert 'cannot load module "no_such_plugin"' in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_clash_with_a_core_directive_is_reported_too(tmp_path):
    config = site(tmp_path, "load_module clashplugin;\n")
    clash = "from framework import Handler\nclass Root(Handler):\n    name = 'root'\n"
    (config.parent / "clashplugin.py").write_text(clash)
    proc = schema(tmp_path / "elsewhere", str(config))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "error[handler-name-clash]" in proc.stderr and '"root"' in proc.stderr


def test_an_unreadable_config_gives_its_diagnostic_and_exit_1(tmp_path):
    proc = schema(tmp_path, str(tmp_path / "missing.conf"))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "error[unreadable-file]: cannot read" in proc.stderr


def test_loading_the_plugin_writes_no_bytecode_next_to_it(tmp_path):
    config = site(tmp_path, "load_module bannerplugin;\n")
    assert schema(tmp_path / "elsewhere", str(config)).returncode == 0
    assert not (config.parent / "__pycache__").exists()


OPAQUE_PLUGIN = '''
from pydantic import ConfigDict
from framework import ConfigPath, Handler, HandlerSettings


class Opaque:
    pass


class WeirdSettings(HandlerSettings):
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", frozen=True)
    template: ConfigPath = "t.html"
    hook: Opaque | None = None


class Weird(Handler[WeirdSettings]):
    """Has a setting of a type with no JSON schema."""
    name = "weird"
'''


def test_settings_with_no_json_schema_are_permissive_with_a_note_not_a_crash(tmp_path):
    config = site(tmp_path, "load_module weirdplugin;\nload_module bannerplugin;\n")
    (config.parent / "weirdplugin.py").write_text(OPAQUE_PLUGIN)
    proc = schema(tmp_path / "elsewhere", str(config))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    [note] = proc.stderr.splitlines()
    assert note.startswith('webserv schema: note: handler "weird": its settings have no JSON')
    assert "PydanticInvalidForJsonSchema" in note
    defs = json.loads(proc.stdout)["$defs"]
    weird = defs["handler.weird"]
    assert set(weird) == {"description"}  # no constraint: any settings validate
    assert weird["description"].startswith("no JSON schema for these settings")
    names = [v["properties"]["name"]["const"] for v in defs["handler"]["oneOf"]]
    assert {"weird", "banner", "static"} <= set(names)
    assert defs["handler.banner"]["required"] == ["text"]  # the others are unaffected


def test_prefix_is_where_the_configs_modules_are_found(tmp_path):
    """``schema --prefix DIR`` loads CONFIG's modules as ``validate-config --prefix`` does."""
    config = site(tmp_path, "load_module bannerplugin;\n")
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    (config.parent / "bannerplugin.py").rename(prefix / "bannerplugin.py")
    without = schema(tmp_path / "elsewhere", str(config))
    assert without.returncode == 1 and "error[load-module-failed]" in without.stderr
    proc = schema(tmp_path / "elsewhere", "--prefix", str(prefix), str(config))
    assert proc.returncode == 0, proc.stderr
    assert "handler.banner" in json.loads(proc.stdout)["$defs"]
    bad = schema(tmp_path / "elsewhere", "--prefix", str(tmp_path / "nope"), str(config))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_malformed_handler_class_withholds_the_schema(tmp_path):
    config = site(tmp_path, "load_module syncplugin;\n")
    sync = "from framework import Handler\nclass S(Handler):\n    name = 's'\n"
    sync += "    def handle(self, request, call_next):\n        return None\n"
    (config.parent / "syncplugin.py").write_text(sync)
    proc = schema(tmp_path / "elsewhere", str(config))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "error[handler-invalid]" in proc.stderr and "must be 'async def'" in proc.stderr
