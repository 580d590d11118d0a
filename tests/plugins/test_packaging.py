"""The packaging example installed for real (pip, into a directory on PYTHONPATH): its
handler is found through the ``webserv.handlers`` entry point, without ``load_module``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "examples" / "plugins" / "packaging"

CONFIG = """server {
    listen 127.0.0.1:{port};
    location / { handler hello { name "venv"; } }
    location /q { handler hello { from_query on; } }
}
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example distribution really installed (by pip, with its dist-info and entry
    point) into a directory of its own; skipped when it cannot be built here."""
    base = tmp_path_factory.mktemp("plugin-site")
    source = base / "src"
    shutil.copytree(PACKAGING, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = base / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if install.returncode != 0:
        pytest.skip(f"cannot build the example distribution: {install.stderr[-500:]}")
    return target


def _env_with(site: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return env


def test_an_installed_distribution_registers_its_handler_by_entry_point(webserv, plugin_site):
    srv = webserv(CONFIG, pythonpath=[plugin_site])
    r = srv.get("/")
    assert (r.status, r.body) == (200, b"Hello, venv!\n")
    assert srv.get("/q?name=entry%20point").body == b"Hello, entry point!\n"


def test_validate_config_knows_installed_handlers_only_where_installed(tmp_path, plugin_site):
    config = tmp_path / "hello.conf"
    config.write_text(CONFIG.replace("{port}", "8080"))
    command = ["-m", "framework", "validate-config", "--no-fs", str(config)]
    inside = subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env_with(plugin_site),
    )
    assert inside.returncode == 0, inside.stdout + inside.stderr
    outside = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=60)
    assert outside.returncode == 1 and 'unknown handler "hello"' in outside.stdout
    example = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", str(PACKAGING / "hello.conf")],
        env=_env_with(plugin_site),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert example.returncode == 0, example.stdout + example.stderr


def test_webserv_schema_includes_the_installed_plugins_settings(plugin_site):
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "schema"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env_with(plugin_site),
    )
    assert proc.returncode == 0, proc.stderr
    assert '"hello"' in proc.stdout and '"from_query"' in proc.stdout
