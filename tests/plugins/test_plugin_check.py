"""``Handler.check``: a plugin's semantic checks, run by ``validate-config`` (and ``run``)
after its settings validated, each finding on the line:col of the setting it is about.

Every test writes a real plugin module next to a config that loads it with ``load_module``
and runs the real CLI in a subprocess from another directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from framework.handler import Handler
from framework.registry import HandlerInvalid, HandlerRegistry

PLUGIN = """
from framework import ConfigPath, Handler, HandlerSettings
from pydantic import BaseModel


class Window(BaseModel):
    low: int = 1
    high: int = 10


class PageSettings(HandlerSettings):
    template: ConfigPath
    low: int = 1
    high: int = 10
    window: Window = Window()


class Page(Handler[PageSettings]):
    name = "page"

    @classmethod
    def check(cls, settings, ctx):
        if ctx.check_fs and not settings.template.is_file():
            yield ctx.error("template", f"no such file: {settings.template}", hint="create it")
        if settings.low > settings.high:
            yield ctx.warning("low", f"low {settings.low} is above high {settings.high}")
        if settings.window.low > settings.window.high:
            yield ctx.error("window.low", "the window is empty", rule="page-window")


class Broken(Handler):
    name = "broken"

    @classmethod
    def check(cls, settings, ctx):
        raise KeyError("a bug in the plugin")


class Liar(Handler):
    name = "liar"

    @classmethod
    def check(cls, settings, ctx):
        return ["not a diagnostic"]


class Mangler(Handler):
    name = "mangler"

    @classmethod
    def check(cls, settings, ctx):
        found = ctx.error(None, "fine so far")
        found.span = "line 3"  # a Diagnostic whose span is not a Span
        return [found]
"""


def validate(
    tmp_path: Path, config: str, *extra: str, files: dict[str, str] | None = None
) -> tuple[int, list[dict], str]:
    """Write ``conf/site.conf`` and the plugin next to it, run ``validate-config --format
    json`` from another directory; (exit code, diagnostics, stderr)."""
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "pageplugin.py").write_text(PLUGIN)
    for name, text in (files or {}).items():
        (conf / name).parent.mkdir(parents=True, exist_ok=True)
        (conf / name).write_text(text)
    (conf / "site.conf").write_text(config)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--format", "json", *extra,
         str(conf / "site.conf")],
        cwd=elsewhere, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def site(handler_block: str) -> str:
    return (
        "load_module pageplugin;\n"
        "server {\n"
        "    listen 127.0.0.1:8080;\n"
        "    location / {\n"
        f"{handler_block}"
        "    }\n"
        "}\n"
    )


def at(d: dict) -> tuple[int, int, int]:
    return d["line"], d["col"], d["end_col"]


def test_a_failed_check_is_an_error_on_the_value_of_its_setting(tmp_path):
    config = site("        handler page {\n            template tpl/page.html;\n        }\n")
    code, found, stderr = validate(tmp_path, config)
    assert code == 1, stderr
    [d] = found
    assert (d["severity"], d["rule"]) == ("error", "handler-check")
    assert at(d) == (6, 22, 35)  # `tpl/page.html`, resolved against the config's directory
    assert d["file"].endswith("conf/site.conf")
    assert d["message"] == f"no such file: {tmp_path / 'conf' / 'tpl' / 'page.html'}"
    assert d["hint"] == "create it"


def test_the_check_passes_once_the_file_exists_next_to_the_config(tmp_path):
    config = site("        handler page {\n            template tpl/page.html;\n        }\n")
    code, found, _ = validate(tmp_path, config, files={"tpl/page.html": "<p>hi</p>"})
    assert (code, found) == (0, [])


def test_no_fs_turns_off_the_checks_that_look_at_the_filesystem(tmp_path):
    config = site("        handler page {\n            template tpl/page.html;\n        }\n")
    code, found, _ = validate(tmp_path, config, "--no-fs")
    assert (code, found) == (0, [])


def test_a_warning_lands_on_its_setting_and_fails_only_strict(tmp_path):
    config = site(
        "        handler page {\n            template site.conf;\n            low 20;\n        }\n"
    )
    code, found, _ = validate(tmp_path, config)
    assert code == 0
    [d] = found
    assert (d["severity"], d["message"]) == ("warning", "low 20 is above high 10")
    assert at(d) == (7, 17, 19)
    strict_code, _, _ = validate(tmp_path, config, "--strict")
    assert strict_code == 2  # warnings under --strict


def test_a_nested_setting_is_found_inside_its_block_and_the_rule_id_is_the_plugins(tmp_path):
    config = site(
        "        handler page {\n"
        "            template site.conf;\n"
        "            window {\n"
        "                high 2;\n"
        "                low 5;\n"
        "            }\n"
        "        }\n"
    )
    code, found, _ = validate(tmp_path, config)
    assert code == 1
    [d] = found
    assert (d["rule"], d["message"]) == ("page-window", "the window is empty")
    assert at(d) == (9, 21, 22)


def test_a_finding_about_a_setting_left_to_its_default_lands_on_the_handler_name(tmp_path):
    # low 1 > high 0: `low` is not written, so the warning points at `page`
    config = site(
        "        handler page {\n            template site.conf;\n            high 0;\n        }\n"
    )
    code, found, _ = validate(tmp_path, config)
    assert code == 0
    [d] = found
    assert at(d) == (5, 17, 21)


def test_a_check_in_an_included_file_reports_there_with_the_include_chain(tmp_path):
    inner = "handler page {\n    template nowhere.html;\n}\n"
    config = site("        include parts/page.conf;\n")
    code, found, _ = validate(tmp_path, config, files={"parts/page.conf": inner})
    assert code == 1
    [d] = found
    assert d["file"].endswith("parts/page.conf") and at(d) == (2, 14, 26)
    assert [c["line"] for c in d["include_chain"]] == [5]


def test_every_written_handler_block_is_checked_once(tmp_path):
    # a server-level block is inherited by both locations, but written (and checked) once
    config = (
        "load_module pageplugin;\n"
        "server {\n"
        "    listen 127.0.0.1:8080;\n"
        "    handler page { template a.html; }\n"
        "    location /x/ { }\n"
        "    location /y/ { handler page { template b.html; } }\n"
        "}\n"
    )
    code, found, _ = validate(tmp_path, config)
    assert code == 1
    assert sorted((d["line"], d["message"].rsplit("/", 1)[1]) for d in found) == [
        (4, "a.html"),
        (6, "b.html"),
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("broken", "KeyError: 'a bug in the plugin'"),
        ("liar", "TypeError: it yielded str, not a Diagnostic"),
        ("mangler", "TypeError: it yielded a Diagnostic whose span is str, not a Span or None"),
    ],
)
def test_a_check_that_raises_is_one_internal_error_at_the_handler_line(tmp_path, name, reason):
    code, found, stderr = validate(tmp_path, site(f"        handler {name};\n"))
    assert code == 1
    assert "Traceback" not in stderr
    [d] = found
    assert d["rule"] == "internal-error"
    assert d["message"] == f'check() of handler "{name}" failed: {reason}'
    assert at(d) == (5, 17, 17 + len(name))
    assert "pageplugin" in d["hint"] and "not in the configuration" in d["hint"]


def test_a_check_error_makes_run_refuse_the_config_with_the_same_diagnostic(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "pageplugin.py").write_text(PLUGIN)
    (conf / "site.conf").write_text(
        site("        handler page {\n            template tpl/page.html;\n        }\n")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "run", str(conf / "site.conf")],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "site.conf:6:22: error[handler-check]: no such file:" in proc.stderr
    assert "listening" not in proc.stdout


def test_a_check_written_as_an_instance_method_is_refused_at_registration():
    class Wrong(Handler):
        name = "wrong_check"

        def check(self, settings, ctx):  # type: ignore[override]
            return ()

    with pytest.raises(HandlerInvalid, match=r"Wrong\.check must be a @classmethod") as info:
        HandlerRegistry().register(Wrong)
    assert info.value.names == ("wrong_check",)


WRONG_PLUGIN = """
from framework import Handler


class Plain(Handler):
    name = "plainchk"

    def check(self, settings, ctx):
        return ()


class Fine(Handler):
    name = "finechk"
"""


def test_an_instance_method_check_is_handler_invalid_once_without_cascade(tmp_path):
    """Its own rule at the load_module line, not handler-name-clash; its ``handler`` line
    is not reported again as unknown, and the module's valid handler still registers."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "wrongplugin.py").write_text(WRONG_PLUGIN)
    (conf / "site.conf").write_text(
        "load_module wrongplugin;\n"
        "server { location / { handler plainchk; } location /f/ { handler finechk; } }\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--format", "json",
         str(conf / "site.conf")],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    [d] = json.loads(proc.stdout)
    assert d["rule"] == "handler-invalid"
    assert d["message"] == "wrongplugin.Plain.check must be a @classmethod"
    assert (d["line"], d["col"]) == (1, 13)
