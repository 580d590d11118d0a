"""validate-config imports each ``asgi``/``wsgi`` target in a child process and checks that
it is an app of the directive's interface; errors point at the target with a hint."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from config_grammar.diagnostics import Diagnostic
from framework.config.app_probe import AppProbe, probe_apps
from framework.config.build import LoadResult, load_config

APPS = {
    "star.py": """
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        async def hello(request):
            return PlainTextResponse("hi")

        app = Starlette(routes=[Route("/", hello)])

        async def raw(scope, receive, send):
            pass

        def sync_three(scope, receive, send):
            pass

        class Legacy:  # ASGI 2: the class is called with the scope
            def __init__(self, scope):
                self.scope = scope

            async def __call__(self, receive, send):
                pass

        def legacy(scope):
            async def instance(receive, send):
                pass
            return instance

        settings = {"debug": True}
    """,
    "flaskapp.py": """
        import flask

        print("importing flaskapp")  # must not confuse the check
        app = flask.Flask(__name__)

        def create_app():
            return app

        def broken_factory():
            raise ValueError("no database")

        def wrong_factory():
            return 42
    """,
    "boom.py": "raise RuntimeError('boom at import')\n",
    "needs_dep.py": "import not_installed_anywhere\n",
    "quits.py": "import os\nos._exit(3)\n",
    "counted.py": """
        import os
        with open(os.environ["WEBSERV_TEST_COUNTER"], "a") as f:
            f.write("imported\\n")

        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"hi"]
    """,
    "sleeper.py": "import time\ntime.sleep(60)\n",
}


@pytest.fixture
def apps(tmp_path: Path) -> Path:
    directory = tmp_path / "apps"
    directory.mkdir()
    for name, text in APPS.items():
        (directory / name).write_text(textwrap.dedent(text))
    return directory


def load(tmp_path: Path, body: str, *, check_fs: bool = True, user: bool = False) -> LoadResult:
    path = tmp_path / "webserv.conf"
    top = "user nobody;\n" if user else ""
    path.write_text(f"{top}server {{\n    listen 127.0.0.1:8080;\n{body}}}\n")
    return load_config(path, check_fs=check_fs, env={})


def app_findings(result: LoadResult) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.rule.startswith("app-")]


def only(result: LoadResult) -> Diagnostic:
    (found,) = app_findings(result)
    return found


def test_a_starlette_app_and_a_flask_app_in_their_directives_are_clean(tmp_path, apps):
    result = load(
        tmp_path,
        "    asgi_app_dir apps;\n"
        "    location /api/ { asgi star:app; }\n"
        "    location /raw/ { asgi star:raw; }\n"
        "    location /flask/ { wsgi flaskapp:app; }\n"
        "    location /made/ { wsgi flaskapp:create_app(); }\n",
    )
    assert app_findings(result) == [] and result.config is not None


def test_asgi_2_apps_are_accepted_a_class_and_a_function(tmp_path, apps):
    result = load(
        tmp_path,
        "    asgi_app_dir apps;\n"
        "    location /a/ { asgi star:Legacy; }\n"
        "    location /b/ { asgi star:legacy; }\n",
    )
    assert app_findings(result) == []


def test_a_missing_module_without_app_dir_asks_whether_asgi_app_dir_is_set(tmp_path, apps):
    found = only(load(tmp_path, "    location / { asgi star:app; }\n"))
    assert (found.severity, found.rule) == ("error", "app-not-importable")
    assert (found.span.line, found.span.col) == (3, 23)
    assert "ModuleNotFoundError: No module named 'star'" in found.message
    assert found.hint is not None and found.hint.startswith("is asgi_app_dir set?")


def test_a_missing_module_in_the_app_dir_names_the_directory(tmp_path, apps):
    found = only(load(tmp_path, "    asgi_app_dir apps;\n    location / { asgi nothere:app; }\n"))
    assert found.hint == f'is asgi_app_dir right? no "nothere.py" or "nothere/" package in "{apps}"'


def test_a_misspelt_attribute_suggests_the_app(tmp_path, apps):
    found = only(load(tmp_path, "    asgi_app_dir apps;\n    location / { asgi star:ap; }\n"))
    assert found.message == "cannot load asgi \"star:ap\": module 'star' has no attribute 'ap'"
    assert found.hint == 'did you mean "star:app"?'


def test_an_import_that_raises_reports_the_exceptions_last_line(tmp_path, apps):
    result = load(
        tmp_path,
        "    asgi_app_dir apps;\n"
        "    location /a/ { asgi boom:app; }\n"
        "    location /b/ { asgi needs_dep:app; }\n"
        "    location /c/ { asgi quits:app; }\n",
    )
    boom, dep, quits = app_findings(result)
    assert boom.message.endswith("RuntimeError: boom at import")
    assert f'cd "{apps}" && python -c "import boom"' in (boom.hint or "")
    # a module the app imports is missing: not a config mistake about the app's own module
    assert dep.message.endswith("No module named 'not_installed_anywhere'")
    assert "asgi_app_dir" not in (dep.hint or "")
    assert quits.rule == "app-not-importable" and "ends the process" in (quits.hint or "")
    assert result.config is None


def test_a_wsgi_app_under_asgi_and_an_asgi_app_under_wsgi_name_the_right_directive(tmp_path, apps):
    result = load(
        tmp_path,
        "    asgi_app_dir apps;\n"
        "    location /a/ { asgi flaskapp:app; }\n"
        "    location /b/ { wsgi star:app; }\n",
    )
    flask, starlette = app_findings(result)
    assert flask.rule == "app-wrong-interface" and flask.severity == "error"
    assert flask.message.endswith("it is a WSGI app")
    assert flask.hint == 'write "wsgi flaskapp:app;" (the wsgi directive serves it)'
    assert starlette.message.endswith("it is an ASGI 3 app")
    assert starlette.hint == 'write "asgi star:app;" (the asgi directive serves it)'


def test_objects_that_are_no_app_at_all(tmp_path, apps):
    result = load(
        tmp_path,
        "    asgi_app_dir apps;\n"
        "    location /a/ { asgi star:settings; }\n"
        "    location /b/ { asgi star:sync_three; }\n",
    )
    data, sync = app_findings(result)
    assert "it is not callable (a 'dict' object)" in data.message
    assert "it takes (scope, receive, send) but is not async" in sync.message


def test_factories_are_called_in_the_child(tmp_path, apps):
    result = load(
        tmp_path,
        "    asgi_app_dir apps;\n"
        "    location /a/ { wsgi flaskapp:broken_factory(); }\n"
        "    location /b/ { wsgi flaskapp:wrong_factory(); }\n",
    )
    broken, wrong = app_findings(result)
    assert broken.message.endswith("ValueError: no database")
    assert "called once per worker" in (broken.hint or "")
    assert wrong.rule == "app-wrong-interface" and "'int' object" in wrong.message
    assert wrong.hint == "wrong_factory() must return the app object"


def test_validation_imports_nothing_here_and_writes_no_bytecode(tmp_path, apps, monkeypatch):
    monkeypatch.setenv("WEBSERV_TEST_COUNTER", str(tmp_path / "imports.txt"))
    result = load(
        tmp_path,
        "    asgi_app_dir apps;\n"
        "    location /a/ { wsgi counted:app; }\n"
        "    location /b/ { asgi star:app; }\n",
    )
    assert app_findings(result) == []
    assert "counted" not in sys.modules and "star" not in sys.modules
    assert str(apps) not in sys.path
    assert not (apps / "__pycache__").exists()


def test_one_import_per_distinct_target_however_many_locations_use_it(tmp_path, apps, monkeypatch):
    counter = tmp_path / "imports.txt"
    monkeypatch.setenv("WEBSERV_TEST_COUNTER", str(counter))
    locations = "".join(
        f"    location /{i}/ {{ wsgi counted:app; location /{i}/x/ {{ }} }}\n" for i in range(12)
    )
    result = load(tmp_path, "    asgi_app_dir apps;\n" + locations)
    assert app_findings(result) == []
    assert counter.read_text() == "imported\n"


def test_each_written_directive_gets_its_own_error_from_one_import(tmp_path, apps):
    result = load(
        tmp_path,
        "    asgi_app_dir apps;\n"
        "    location /a/ { asgi boom:app; location /a/b/ { } }\n"
        "    location /c/ { asgi boom:app; }\n",
    )
    assert [(d.span.line, d.rule) for d in app_findings(result)] == [
        (4, "app-not-importable"),
        (5, "app-not-importable"),
    ]


def test_no_fs_skips_the_import(tmp_path, apps):
    result = load(tmp_path, "    location / { asgi nowhere:app; }\n", check_fs=False)
    assert app_findings(result) == [] and result.config is not None


def test_an_import_that_hangs_is_given_up_as_a_warning_and_its_process_killed(apps):
    probe = AppProbe("asgi", "sleeper", "app", False, apps)
    result = probe_apps([probe], timeout=0.5)[probe]
    assert (result.ok, result.stage) == (False, "timeout")
    assert result.error == "importing took longer than 0.5s"


def test_validate_config_prints_the_caret_and_exits_1(tmp_path, apps):
    conf = tmp_path / "site.conf"
    conf.write_text("server {\n    asgi_app_dir apps;\n    location / { asgi flaskapp:app; }\n}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{conf}:3:23: error[app-wrong-interface]: asgi")
    assert lines[3] == "  |" + " " * 23 + "^" * len("flaskapp:app")
    assert 'hint: write "wsgi flaskapp:app;"' in proc.stdout
    assert "importing flaskapp" not in proc.stdout  # the app's print stays in the child


def test_a_module_this_process_already_imported_is_not_probed_again(tmp_path, apps):
    # a single-process server reloading keeps serving the module it imported: a child
    # importing the file anew would check other code (and stall the event loop)
    assert "json" in sys.modules
    result = load(tmp_path, "    location / { wsgi json:loads; }\n")
    assert app_findings(result) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="user applies only when started as root")
def test_with_user_the_import_runs_as_that_account_when_it_can_run_python(tmp_path, apps):
    # the child drops to the user the workers will run as; where that account cannot even
    # start this interpreter (a venv under /root), it runs as root rather than fail
    for path in (tmp_path, apps, *apps.iterdir()):
        path.chmod(0o755)
    result = load(
        tmp_path, "    asgi_app_dir apps;\n    location / { asgi star:app; }\n", user=True
    )
    assert app_findings(result) == [] and result.config is not None


def test_an_import_slower_than_the_check_waits_is_a_warning_not_an_error(
    tmp_path, apps, monkeypatch
):
    from framework.config import app_probe

    monkeypatch.setattr(app_probe, "PROBE_TIMEOUT", 0.5)
    result = load(tmp_path, "    asgi_app_dir apps;\n    location / { asgi sleeper:app; }\n")
    found = only(result)
    assert (found.severity, found.rule) == ("warning", "app-import-timeout")
    assert found.message == 'could not check asgi "sleeper:app": importing took longer than 0.5s'
    assert result.config is not None
