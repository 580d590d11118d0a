"""``framework`` ships ``py.typed`` (PEP 561), so a type checker reads a plugin's use of the
API (``self.settings.text``) from an installed webserv."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_package_holds_py_typed():
    assert resources.files("framework").joinpath("py.typed").is_file()


def test_a_non_editable_build_contains_py_typed(tmp_path):
    """What setuptools copies into an install (build_py: packages plus package-data) from
    a copy of the source tree, so the work tree gets no build/ or egg-info."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("config_grammar", "framework", "handlers"):
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    build = tmp_path / "lib"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, setuptools; sys.argv[0] = 'setup.py'; setuptools.setup()",
            "-q",
            "build_py",
            "--build-lib",
            str(build),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=source,
    )
    assert proc.returncode == 0, proc.stderr
    assert (build / "framework" / "handler.py").is_file()  # the build did run
    assert (build / "framework" / "py.typed").is_file()
