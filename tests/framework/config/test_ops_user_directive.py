"""``user NAME [GROUP];``: parsing (top level only, one or two names), its model (the group
defaults to the user's primary group at run time), and validate-config's checks: an account
or group this machine lacks is an error; CGI with ``user root`` is a warning."""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

import pytest

from framework.cli import main
from framework.config.build import load_config
from framework.privileges import Credentials, ignored_warning, log_files, resolve

SERVER = "server { listen 127.0.0.1:8080; root www; }\n"


def load(tmp_path: Path, text: str):
    (tmp_path / "www").mkdir(exist_ok=True)
    path = tmp_path / "c.conf"
    path.write_text(text)
    return load_config(path)


def validate(tmp_path: Path, text: str, capsys, *options: str) -> tuple[int, str]:
    (tmp_path / "www").mkdir(exist_ok=True)
    path = tmp_path / "c.conf"
    path.write_text(text)
    code = main(["validate-config", str(path), *options])
    return code, capsys.readouterr().out


def test_user_is_unset_by_default(tmp_path):
    assert load(tmp_path, SERVER).config.user is None


def test_user_with_and_without_a_group(tmp_path):
    user = load(tmp_path, "user nobody;\n" + SERVER).config.user
    assert (user.name, user.group) == ("nobody", None)
    assert user.span is not None and user.span.line == 1
    user = load(tmp_path, "user nobody nogroup;\n" + SERVER).config.user
    assert (user.name, user.group) == ("nobody", "nogroup")


def test_the_group_defaults_to_the_user_s_primary_group():
    root = pwd.getpwuid(0)
    from framework.config.directives_ops import RunAs

    assert resolve(RunAs(name=root.pw_name)) == Credentials(root.pw_name, 0, root.pw_gid)
    group = grp.getgrgid(root.pw_gid).gr_name
    assert resolve(RunAs(name=root.pw_name, group=group)).gid == root.pw_gid


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("user;\n", "invalid-arg-count"),
        ("user a b c;\n", "invalid-arg-count"),
        ("user 33;\n", "invalid-value"),
        ("user nobody 65534;\n", "invalid-value"),
        ('user "no body";\n', "invalid-value"),
        ("user nobody;\nuser nobody;\n", "duplicate-directive"),
    ],
)
def test_bad_user_directives_are_errors_at_their_argument(tmp_path, text, rule):
    result = load(tmp_path, text + SERVER)
    assert result.config is None
    assert rule in {d.rule for d in result.errors}


def test_user_is_a_top_level_directive(tmp_path):
    result = load(tmp_path, "server { listen 127.0.0.1:8080; root www; user nobody; }\n")
    assert result.config is None
    assert any("not allowed" in d.message for d in result.errors)


def test_an_unknown_user_or_group_is_an_error_in_validate_config(tmp_path, capsys):
    code, out = validate(tmp_path, "user no-such-user-x;\n" + SERVER, capsys)
    assert code == 1
    assert 'error[unknown-user]: unknown user "no-such-user-x"' in out and "c.conf:1:6" in out
    code, out = validate(tmp_path, "user nobody no-such-group-x;\n" + SERVER, capsys)
    assert code == 1 and 'unknown group "no-such-group-x"' in out and "c.conf:1:13" in out
    # --no-fs: another machine's accounts are not this one's business
    code, _ = validate(tmp_path, "user no-such-user-x;\n" + SERVER, capsys, "--no-fs")
    assert code == 0


def test_cgi_with_user_root_is_a_warning_and_an_unprivileged_user_is_not(tmp_path, capsys):
    root = pwd.getpwuid(0).pw_name
    cgi = "server { listen 127.0.0.1:8080; root www; location /cgi-bin/ { cgi .sh; } }\n"
    code, out = validate(tmp_path, f"user {root};\n" + cgi, capsys, "--strict")
    assert code == 2 and "warning[cgi-as-root]" in out
    code, out = validate(tmp_path, "user nobody;\n" + cgi, capsys, "--strict")
    assert code == 0, out


def test_user_while_not_root_gives_nginx_s_warning_text(tmp_path, monkeypatch):
    config = load(tmp_path, "user nobody;\n" + SERVER).config
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    warning = ignored_warning(config)
    assert warning is not None
    assert 'the "user" directive makes sense only if the master process runs with super-user' in (
        warning
    )
    assert f"ignored in {tmp_path / 'c.conf'}:1:1" in warning
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert ignored_warning(config) is None


def test_log_files_are_the_error_log_and_every_access_log(tmp_path):
    (tmp_path / "logs").mkdir()
    config = load(
        tmp_path,
        "error_log logs/e.log;\nserver { listen 127.0.0.1:8080; root www; access_log logs/a.log;"
        " location / { location /x { access_log logs/b.log; } } }\n",
    ).config
    assert sorted(log_files(config)) == [tmp_path / f"logs/{n}.log" for n in "abe"]
