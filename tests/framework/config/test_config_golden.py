"""Golden files: the exact text ``validate-config`` prints for configs with several errors,
so message quality cannot regress silently.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/framework/config``
and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from framework.cli import main

GOLDEN = Path(__file__).parent / "golden"
# the list of installed handlers grows with plugins; keep the golden text independent of it
_INSTALLED = re.compile(r"installed handlers: .*")


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.conf")))
def test_validate_config_text_output_matches_the_golden_file(name, monkeypatch, capsys):
    monkeypatch.chdir(GOLDEN)  # file names in the output are relative, as the user typed them
    code = main(["validate-config", "--no-fs", f"{name}.conf"])
    output = _INSTALLED.sub("installed handlers: <installed>", capsys.readouterr().out)
    expected_path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_path.write_text(f"exit code {code}\n{output}")
    assert f"exit code {code}\n{output}" == expected_path.read_text()
