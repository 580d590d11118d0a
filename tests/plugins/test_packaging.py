"""The packaging example installed for real into a temporary venv: its handler is found
through the ``webserv.handlers`` entry point, without ``load_module``."""

from __future__ import annotations

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
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A venv that sees this interpreter's packages (webserv included) plus the installed
    example distribution; skipped when it cannot be built offline."""
    base = tmp_path_factory.mktemp("plugin-venv")
    source = base / "src"
    shutil.copytree(PACKAGING, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    venv = base / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
        timeout=60,
    )
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if install.returncode != 0:
        pytest.skip(f"cannot build the example distribution offline: {install.stderr[-500:]}")
    return python


def test_an_installed_distribution_registers_its_handler_by_entry_point(webserv, venv_python):
    srv = webserv(CONFIG, python=venv_python)
    r = srv.get("/")
    assert (r.status, r.body) == (200, b"Hello, venv!\n")
    assert srv.get("/q?name=entry%20point").body == b"Hello, entry point!\n"


def test_validate_config_knows_installed_handlers_only_where_installed(tmp_path, venv_python):
    config = tmp_path / "hello.conf"
    config.write_text(CONFIG.replace("{port}", "8080"))
    command = ["-m", "framework", "validate-config", "--no-fs", str(config)]
    inside = subprocess.run([venv_python, *command], capture_output=True, text=True, timeout=60)
    assert inside.returncode == 0, inside.stdout + inside.stderr
    outside = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=60)
    assert outside.returncode == 1 and 'unknown handler "hello"' in outside.stdout
    example = subprocess.run(
        [venv_python, "-m", "framework", "validate-config", str(PACKAGING / "hello.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert example.returncode == 0, example.stdout + example.stderr


def test_webserv_schema_includes_the_installed_plugins_settings(venv_python):
    proc = subprocess.run(
        [venv_python, "-m", "framework", "schema"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert '"hello"' in proc.stdout and '"from_query"' in proc.stdout
