"""``ConfigPath``: a plugin's path setting resolves against the config file's directory (or
``--prefix``), as ``root`` does, not against the working directory of the server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from config_grammar.parser import parse_file
from framework import ConfigPath, HandlerSettings
from framework.config.build import load_config
from framework.config.handler_settings import settings_context, validate_settings
from framework.testing import ServerProcess, free_port

PLUGIN = '''
from framework import ConfigPath, Handler, HandlerSettings, Response


class FileSettings(HandlerSettings):
    path: ConfigPath


class ServeFile(Handler[FileSettings]):
    """Answers every request with the file at ``path`` and the path it resolved to."""
    name = "serve_file"

    async def handle(self, request, call_next):
        path = self.settings.path
        return Response(200, f"{path}\\n".encode() + path.read_bytes())
'''


class Paths(HandlerSettings):
    path: ConfigPath
    other: ConfigPath | None = None


def test_a_relative_path_resolves_against_the_base_dir_of_the_validation_context(tmp_path):
    settings = Paths.model_validate(
        {"path": "data/../tpl/x.html"}, context=settings_context(tmp_path)
    )
    assert settings.path == tmp_path / "tpl" / "x.html"
    assert settings.other is None


def test_the_same_model_validates_against_each_call_own_base_dir(tmp_path):
    first = Paths.model_validate({"path": "x"}, context=settings_context(tmp_path / "a"))
    second = Paths.model_validate({"path": "x"}, context=settings_context(tmp_path / "b"))
    assert (first.path, second.path) == (tmp_path / "a" / "x", tmp_path / "b" / "x")
    # validating a resolved value again changes nothing (it is absolute now)
    again = Paths.model_validate(first.model_dump(), context=settings_context(tmp_path / "b"))
    assert again.path == tmp_path / "a" / "x"


def test_an_absolute_path_is_kept_and_settings_built_from_python_keep_the_path_as_given():
    assert Paths.model_validate({"path": "/srv/x"}, context=settings_context(Path("/etc"))).path
    assert Paths(path="rel/x").path == Path("rel/x")
    assert Paths(path="/srv/x").path == Path("/srv/x")


def test_an_empty_path_is_refused():
    with pytest.raises(ValidationError, match=r"empty path \(write \"\.\" to mean"):
        Paths.model_validate({"path": ""}, context=settings_context(Path("/etc")))


def test_the_json_schema_of_a_config_path_is_a_string():
    assert Paths.model_json_schema()["properties"]["path"]["type"] == "string"


def write_site(tmp_path: Path, block: str, port: int = 8080) -> Path:
    conf = tmp_path / "conf"
    (conf / "data").mkdir(parents=True)
    (conf / "data" / "page.txt").write_text("from the config dir\n")
    (conf / "servefile.py").write_text(PLUGIN)
    config = conf / "site.conf"
    config.write_text(
        "load_module servefile;\n"
        "server {\n"
        f"    listen 127.0.0.1:{port};\n"
        f"    location / {{ {block} }}\n"
        "}\n"
    )
    return config


def validate_json(config: Path, cwd: Path, *extra: str) -> tuple[int, list[dict]]:
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--format", "json", *extra,
         str(config)],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return proc.returncode, json.loads(proc.stdout)


def test_an_empty_path_setting_is_an_error_at_its_value(tmp_path):
    config = write_site(tmp_path, 'handler serve_file { path ""; }')
    code, found = validate_json(config, tmp_path)
    assert code == 1
    [d] = found
    assert d["rule"] == "invalid-handler-setting" and "empty path" in d["message"]
    line = config.read_text().splitlines()[3]
    assert (d["line"], d["col"]) == (4, line.index('""') + 1)


def test_prefix_is_the_base_of_relative_paths_when_given(tmp_path, isolated_registry):
    config = write_site(tmp_path, "handler serve_file { path data/page.txt; }")
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    (prefix / "servefile.py").write_text(PLUGIN)  # load_module looks there too
    for base, expected in [(None, config.parent), (prefix, prefix)]:
        result = load_config(config, prefix=base)
        assert result.errors == []
        assert result.config is not None
        [spec] = result.config.servers[0].locations[0].handlers
        assert spec.settings.path == expected / "data" / "page.txt"


def test_the_server_reads_the_path_relative_to_the_config_not_its_working_directory(tmp_path):
    port = free_port()
    config = write_site(tmp_path, "handler serve_file { path data/page.txt; }", port)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "data").mkdir(parents=True)
    (elsewhere / "data" / "page.txt").write_text("from the working directory\n")
    with ServerProcess(config_path=config, cwd=elsewhere, port=port) as server:
        result = server.get("/")
    assert result.status == 200
    page = config.parent / "data" / "page.txt"
    assert result.body == f"{page}\nfrom the config dir\n".encode()


class Defaults(HandlerSettings):
    class Inner(HandlerSettings):
        page: ConfigPath = "inner.html"
        depth: int = 1

    tpl: ConfigPath = "default.html"
    extra: list[ConfigPath] = ["a", "../b"]
    maybe: ConfigPath | None = "maybe.html"
    absent: ConfigPath | None = None
    inner: Inner = Inner()


DEFAULTS_PLUGIN = """
from framework import ConfigPath, Handler, HandlerSettings


class S(HandlerSettings):
    tpl: ConfigPath = "default.html"


class N(Handler[S]):
    name = "nonechk"

    @classmethod
    def check(cls, settings, ctx):
        if ctx.check_fs and not settings.tpl.is_file():
            yield ctx.error("tpl", f"no such file: {settings.tpl}")
"""


def test_config_path_defaults_resolve_like_written_values(tmp_path):
    """pydantic does not validate defaults: an unwritten ConfigPath setting (plain, in a
    list, optional, in a nested settings model) is resolved all the same, and stays unset."""
    config = tmp_path / "x.conf"
    config.write_text("handler nonechk { inner { depth 2; } }\n")
    [directive] = parse_file(config).nodes
    found: list = []
    settings = validate_settings(directive, Defaults, found, tmp_path)
    assert found == []
    assert isinstance(settings, Defaults)
    assert settings.tpl == tmp_path / "default.html"
    assert settings.extra == [tmp_path / "a", tmp_path.parent / "b"]
    assert settings.maybe == tmp_path / "maybe.html"
    assert settings.absent is None
    assert (settings.inner.page, settings.inner.depth) == (tmp_path / "inner.html", 2)
    assert settings.model_fields_set == {"inner"}
    assert settings.inner.model_fields_set == {"depth"}
    assert Defaults().tpl == "default.html"  # from Python (no config file): as given


def test_a_default_path_resolves_against_the_config_dir_with_or_without_a_block(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "nonechk.py").write_text(DEFAULTS_PLUGIN)
    for block in ("handler nonechk;", "handler nonechk { }"):
        config = conf / "site.conf"
        config.write_text(f"load_module nonechk;\nserver {{ location / {{ {block} }} }}\n")
        code, found = validate_json(config, tmp_path)
        assert code == 1, found
        [d] = found
        assert d["rule"] == "handler-check"
        assert d["message"] == f"no such file: {conf / 'default.html'}"
        (conf / "default.html").write_text("x")
        assert validate_json(config, tmp_path) == (0, [])
        (conf / "default.html").unlink()


def test_an_invalid_path_default_is_a_plugin_bug_at_the_handler_line(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "nonechk.py").write_text(DEFAULTS_PLUGIN.replace('"default.html"', '""'))
    config = conf / "site.conf"
    config.write_text("load_module nonechk;\nserver { location / { handler nonechk; } }\n")
    code, found = validate_json(config, tmp_path)
    assert code == 1
    [d] = found
    assert d["rule"] == "internal-error"
    assert d["message"].startswith('the default of setting "tpl" of handler "nonechk" is invalid')
    assert (d["line"], d["col"]) == (2, config.read_text().splitlines()[1].index("nonechk") + 1)
