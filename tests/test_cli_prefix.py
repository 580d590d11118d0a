"""``--prefix DIR`` (like ``nginx -p``) for ``validate-config`` and ``run --check``: a conf.d
fragment's relative includes and paths resolve against DIR instead of the fragment's own
directory; a prefix that is not a directory is a usage error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from framework.cli import main

H5BP = Path(__file__).parent / "porting" / "h5bp"


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """prefix/snippets/answer.conf, prefix/www/, and the fragment prefix/conf.d/site.conf."""
    (tmp_path / "snippets").mkdir()
    (tmp_path / "www").mkdir()
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "snippets" / "answer.conf").write_text("location = /a { return 204; }\n")
    (tmp_path / "conf.d" / "site.conf").write_text(
        "server {\n    listen 8080;\n    root www;\n    include snippets/answer.conf;\n}\n"
    )
    return tmp_path


def validate(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["validate-config", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_fragment_validates_with_includes_and_root_from_the_prefix(layout, capsys):
    fragment = str(layout / "conf.d" / "site.conf")
    assert validate(capsys, "--prefix", str(layout), fragment)[:2] == (
        0,
        "no errors or warnings\n",
    )
    code, out, _ = validate(capsys, fragment)
    assert code == 1
    assert "error[include-not-found]" in out and "snippets/answer.conf" in out
    assert f'root directory "{layout / "conf.d" / "www"}" does not exist' in out


def test_the_prefix_is_relative_to_the_working_directory(layout, capsys, monkeypatch):
    monkeypatch.chdir(layout.parent)
    args = ("--prefix", layout.name, f"{layout.name}/conf.d/site.conf")
    code, out, _ = validate(capsys, "--format", "json", *args)
    assert (code, json.loads(out)) == (0, [])


def test_diagnostics_in_an_included_file_name_it_under_the_prefix(layout, capsys):
    (layout / "snippets" / "answer.conf").write_text("location = /a { retrun 204; }\n")
    fragment = str(layout / "conf.d" / "site.conf")
    code, out, _ = validate(capsys, "--format", "json", "--prefix", str(layout), fragment)
    (item,) = json.loads(out)
    assert code == 1 and item["rule"] == "unknown-directive"
    assert Path(item["file"]).resolve() == layout / "snippets" / "answer.conf"
    assert item["include_chain"][0]["file"] == fragment


def test_run_check_takes_the_prefix_too(layout, capsys):
    fragment = str(layout / "conf.d" / "site.conf")
    assert main(["run", "--check", "--prefix", str(layout), fragment]) == 0
    assert main(["run", "--check", fragment]) == 1
    assert "include-not-found" in capsys.readouterr().err


def test_dump_expands_includes_from_the_prefix(layout, capsys):
    fragment = str(layout / "conf.d" / "site.conf")
    code, out, _ = validate(capsys, "--dump", "--prefix", str(layout), fragment)
    assert code == 0
    assert "location = /a {" in out and "return 204;" in out


def test_a_bare_fragment_of_server_blocks_validates(tmp_path, capsys):
    path = tmp_path / "two-sites.conf"
    path.write_text(
        "server { listen 8080; server_name a.test; }\nserver { listen 8080; server_name b.test; }\n"
    )
    assert validate(capsys, "--prefix", str(tmp_path), str(path))[0] == 0
    assert validate(capsys, str(path))[0] == 0


def test_h5bp_conf_d_templates_find_their_includes_under_the_prefix(capsys):
    for name in ("no-ssl.default.conf", "no-ssl.example.com.conf"):
        fragment = str(H5BP / "conf.d" / name)
        code, out, _ = validate(capsys, "--format", "json", "--prefix", str(H5BP), fragment)
        items = json.loads(out)
        assert code != 3
        assert not [i for i in items if i["rule"] in ("include-not-found", "unreadable-file")]
        for item in items:  # findings in included files name real files under the prefix
            assert Path(item["file"]).resolve().is_relative_to(H5BP.resolve()), item
            assert Path(item["file"]).is_file(), item
    fragment = str(H5BP / "conf.d" / "no-ssl.example.com.conf")
    _, out, _ = validate(capsys, "--format", "json", fragment)
    assert any(i["rule"] == "include-not-found" for i in json.loads(out))


@pytest.mark.parametrize(
    ("command", "exit_code"), [(["validate-config"], 3), (["run"], 2), (["run", "--check"], 2)]
)
def test_a_prefix_that_is_not_a_directory_is_a_usage_error(tmp_path, capsys, command, exit_code):
    config = tmp_path / "site.conf"
    config.write_text("server { listen 8080; }\n")
    missing = tmp_path / "nowhere"
    assert main([*command, "--prefix", str(missing), str(config)]) == exit_code
    assert f"argument --prefix: no such directory: '{missing}'" in capsys.readouterr().err
    assert main([*command, "--prefix", str(config), str(config)]) == exit_code
    assert f"argument --prefix: not a directory: '{config}'" in capsys.readouterr().err
