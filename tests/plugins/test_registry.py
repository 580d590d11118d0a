"""The handler registry: load_module, entry points, clashes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import framework.registry as registry_module
from framework import Handler, Response
from framework.registry import HandlerRegistry, ModuleLoadError, RegistryError

PLUGINS = '''
from framework import Handler, Response

class Base(Handler):
    """No name: a base class, not registered."""

class Greeting(Base):
    name = "greeting_t"
    async def handle(self, request, call_next):
        return Response(200, "hi")

class Loud(Greeting):
    name = "loud_t"

class Inherits(Loud):
    """Inherits a name without defining one: not registered a second time."""
'''


def test_load_module_registers_every_named_handler_defined_in_the_module(write_module):
    write_module("reg_plugins_a", PLUGINS)
    reg = HandlerRegistry()
    assert sorted(reg.load_module("reg_plugins_a", reserved=())) == ["greeting_t", "loud_t"]
    assert reg.get("greeting_t").__name__ == "Greeting"
    assert reg.names() == ["greeting_t", "loud_t"]
    assert "loud_t" in reg and "Base" not in reg


def test_load_module_skips_handlers_imported_from_other_modules(write_module):
    write_module("reg_plugins_b", PLUGINS)
    write_module("reg_plugins_c", "from reg_plugins_b import Greeting\n")
    reg = HandlerRegistry()
    assert reg.load_module("reg_plugins_c", reserved=()) == []
    assert reg.get("greeting_t") is None


def test_loading_the_same_module_twice_is_harmless(write_module):
    write_module("reg_plugins_d", PLUGINS)
    reg = HandlerRegistry()
    reg.load_module("reg_plugins_d", reserved=())
    assert sorted(reg.load_module("reg_plugins_d", reserved=())) == ["greeting_t", "loud_t"]


def test_a_name_taken_by_another_handler_is_an_error_naming_both(write_module):
    write_module("reg_plugins_e", PLUGINS)
    write_module("reg_plugins_f", PLUGINS)
    reg = HandlerRegistry()
    reg.load_module("reg_plugins_e", reserved=())
    with pytest.raises(RegistryError) as info:
        reg.load_module("reg_plugins_f", reserved=())
    message = str(info.value)
    assert "reg_plugins_f.Greeting" in message and "reg_plugins_e.Greeting" in message


def test_a_plugin_named_like_a_core_directive_is_refused(write_module):
    write_module(
        "reg_plugins_g",
        "from framework import Handler\nclass Root(Handler):\n    name = 'root'\n",
    )
    with pytest.raises(RegistryError, match='clashes with the core directive "root"'):
        HandlerRegistry().load_module("reg_plugins_g")  # default: the directive table


def test_core_directive_names_come_from_the_directive_table():
    names = registry_module.core_directive_names()
    assert {"root", "listen", "location", "handler", "load_module"} <= names


def test_a_missing_module_is_a_module_load_error_that_is_also_an_import_error():
    with pytest.raises(ModuleLoadError, match='no module named "no_such_plugin_xyz"'):
        HandlerRegistry().load_module("no_such_plugin_xyz")
    with pytest.raises(ImportError):
        HandlerRegistry().load_module("no_such_plugin_xyz.sub")


def test_a_module_that_fails_while_importing_reports_the_exception(write_module):
    write_module("reg_plugins_h", "raise ValueError('boom at import')\n")
    with pytest.raises(ModuleLoadError, match="raised ValueError: boom at import"):
        HandlerRegistry().load_module("reg_plugins_h")


def test_a_module_importing_a_missing_dependency_names_the_dependency(write_module):
    write_module("reg_plugins_i", "import no_such_dependency_xyz\n")
    with pytest.raises(ModuleLoadError, match="missing module.*no_such_dependency_xyz"):
        HandlerRegistry().load_module("reg_plugins_i")


def test_search_paths_make_a_module_next_to_the_config_importable(tmp_path):
    (tmp_path / "reg_plugins_j.py").write_text(PLUGINS)
    names = HandlerRegistry().load_module("reg_plugins_j", reserved=(), search_paths=[tmp_path])
    assert sorted(names) == ["greeting_t", "loud_t"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("name = 'Bad-Name'\n    async def handle(self, r, n): ...", "invalid handler name"),
        ("name = 'sync_t'\n    def handle(self, r, n): ...", "must be 'async def'"),
        ("name = 'settings_t'\n    Settings = dict", "Settings must subclass"),
    ],
)
def test_malformed_handler_classes_are_refused_with_a_reason(body, message):
    namespace: dict = {"Handler": Handler}
    exec(f"class Bad(Handler):\n    {body}\n", namespace)
    with pytest.raises(RegistryError, match=message):
        HandlerRegistry().register(namespace["Bad"])


def test_register_works_as_a_class_decorator():
    reg = HandlerRegistry()

    @reg.register
    class Ping(Handler):
        name = "ping_t"

        async def handle(self, request, call_next):
            return Response(200, "pong")

    assert reg.get("ping_t") is Ping


# -- entry points (importlib.metadata test doubles) -----------------------------------------
class Hello(Handler):
    name = "hello_ep"

    async def handle(self, request, call_next):
        return Response(200, "hello")


def fake_entry_point(name: str, target: object, value: str = "pkg.mod:Cls"):
    def load():
        if isinstance(target, Exception):
            raise target
        return target

    return SimpleNamespace(name=name, value=value, load=load)


def use_entry_points(monkeypatch, *eps):
    def entry_points(*, group):
        assert group == "webserv.handlers"
        return list(eps)

    monkeypatch.setattr(registry_module, "entry_points", entry_points)


def test_entry_points_of_installed_distributions_are_registered_once(monkeypatch):
    use_entry_points(monkeypatch, fake_entry_point("hello_ep", Hello))
    reg = HandlerRegistry()
    assert reg.load_entry_points() == ["hello_ep"]
    assert reg.get("hello_ep") is Hello
    assert reg.load_entry_points() == []  # read once per process


def test_broken_entry_points_are_reported_and_the_good_ones_still_registered(monkeypatch):
    use_entry_points(
        monkeypatch,
        fake_entry_point("hello_ep", Hello),
        fake_entry_point("greet", Hello, "pkg.mod:Hello"),
        fake_entry_point("gone", ModuleNotFoundError("No module named 'pkg'")),
        fake_entry_point("notahandler", object),
    )
    reg = HandlerRegistry()
    with pytest.raises(RegistryError) as info:
        reg.load_entry_points()
    message = str(info.value)
    assert 'entry point "greet = pkg.mod:Hello" names a handler called "hello_ep"' in message
    assert "gone" in message and "No module named 'pkg'" in message
    assert "notahandler" in message and "not a Handler subclass" in message
    assert reg.get("hello_ep") is Hello
    with pytest.raises(RegistryError):  # a reload reports it again
        reg.load_entry_points()


def test_an_entry_point_clashing_with_a_loaded_module_is_an_error(monkeypatch, write_module):
    write_module(
        "reg_plugins_k", "from framework import Handler\nclass H(Handler):\n    name = 'hello_ep'\n"
    )
    use_entry_points(monkeypatch, fake_entry_point("hello_ep", Hello))
    reg = HandlerRegistry()
    reg.load_module("reg_plugins_k")
    with pytest.raises(RegistryError, match="already registered by reg_plugins_k.H"):
        reg.load_entry_points()
