"""``config_grammar``, ``framework`` and ``handlers`` are webserv's own import names: a plugin
package that takes one is refused at its ``load_module`` with a diagnostic that says it is
shadowed (not a misleading "no module named"), and one that hides webserv's own package from
the current directory is reported too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from framework.registry import (
    RESERVED_PACKAGES,
    HandlerRegistry,
    ModuleLoadError,
    ReservedModuleError,
)

PLUGIN = """
from framework import Handler, Response


class Mine(Handler):
    name = "mine_reserved_t"

    async def handle(self, request, call_next):
        return Response(200, "mine")
"""


@pytest.fixture(autouse=True)
def own_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_module appends its search paths to sys.path: keep them from leaking between
    tests (a "framework" package left on it would be found by the next one)."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def write_package(base: Path, name: str, modules: dict[str, str]) -> Path:
    package = base / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for module, text in modules.items():
        (package / f"{module}.py").write_text(text)
    return package


def validate(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_the_reserved_names_are_webservs_three_packages():
    assert RESERVED_PACKAGES == {"config_grammar", "framework", "handlers"}


@pytest.mark.parametrize("name", ["handlers", "framework", "config_grammar"])
def test_load_module_of_a_reserved_package_name_says_it_is_shadowed(tmp_path, name):
    package = write_package(tmp_path, name, {"mine_reserved_t": PLUGIN})
    with pytest.raises(ReservedModuleError) as caught:
        HandlerRegistry().load_module(f"{name}.mine_reserved_t", search_paths=[tmp_path])
    message = str(caught.value)
    assert f'"{name}" is the import name of webserv\'s own package' in message
    assert '"config_grammar", "framework", "handlers"' in message
    assert f'"{package}" is shadowed by it' in message
    assert "no module named" not in message
    assert "rename the plugin package" in ReservedModuleError.hint


def test_a_plugin_that_imports_its_own_package_named_handlers_is_told_why(tmp_path):
    write_package(tmp_path, "handlers", {"util_reserved_t": "X = 1\n"})
    (tmp_path / "mine_reserved_u.py").write_text("from handlers.util_reserved_t import X\n")
    with pytest.raises(ReservedModuleError, match='it imports "handlers.util_reserved_t", but'):
        HandlerRegistry().load_module("mine_reserved_u", search_paths=[tmp_path])


def test_a_plain_import_error_of_webservs_own_api_is_not_called_shadowing(tmp_path):
    (tmp_path / "mine_reserved_v.py").write_text("from framework import Handlr\n")
    with pytest.raises(ModuleLoadError) as caught:
        HandlerRegistry().load_module("mine_reserved_v", search_paths=[tmp_path])
    assert not isinstance(caught.value, ReservedModuleError)
    assert "raised ImportError: cannot import name 'Handlr'" in str(caught.value)


def test_validate_config_points_at_the_load_module_and_suggests_renaming(tmp_path):
    site = tmp_path / "site"
    package = write_package(site, "handlers", {"mine": PLUGIN})
    config = site / "site.conf"
    config.write_text(
        "load_module handlers.mine;\n"
        "server {\n    listen 127.0.0.1:8081;\n    location /m { handler mine_reserved_t; }\n}\n"
    )
    proc = validate(config, cwd=tmp_path)  # the site directory is not the current one
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert f'{config}:1:13: error[load-module-failed]: cannot load module "handlers.mine": ' in out
    assert f'"{package}" is shadowed by it and never imported' in out
    assert "1 | load_module handlers.mine;\n  |             ^^^^^^^^^^^^^" in out
    assert "= hint: rename the plugin package: config_grammar, framework, handlers are" in out
    assert "Traceback" not in proc.stderr


def test_a_handlers_package_in_the_current_directory_hiding_the_built_ins_is_reported(tmp_path):
    package = write_package(tmp_path, "handlers", {"mine": PLUGIN})
    config = tmp_path / "site.conf"
    config.write_text("server {\n    listen 127.0.0.1:8081;\n    root www;\n}\n")
    (tmp_path / "www").mkdir()
    proc = validate(config, cwd=tmp_path)  # python -m puts the current directory first
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        f'error[shadowed-package]: webserv\'s own "handlers" package was imported from '
        f'"{package}" instead'
    ) in proc.stdout
    assert "Traceback" not in proc.stderr
