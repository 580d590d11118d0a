"""Validation of ``handler NAME { SETTING VALUE; ... }`` blocks against the handler's pydantic
``Settings`` model, with every pydantic error mapped back to the setting's span -- nested
settings blocks included -- and ``ConfigPath``, the settings type for a path relative to the
config file."""

from __future__ import annotations

import difflib
import os
import types
import typing
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ValidationError, ValidationInfo

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Directive, Span

_SEQUENCES = (list, set, frozenset, tuple)

BASE_DIR_KEY = "webserv_base_dir"
"""The key of the pydantic validation context that holds the directory relative
``ConfigPath`` values resolve against (``settings_context``)."""


def settings_context(base_dir: Path) -> dict[str, Any]:
    """The pydantic validation context a handler's settings are validated with."""
    return {BASE_DIR_KEY: base_dir}


def _not_empty(value: Any) -> Any:
    if isinstance(value, str) and not value:
        raise ValueError('empty path (write "." to mean the config file\'s directory)')
    return value


def _resolve_config_path(value: Path, info: ValidationInfo) -> Path:
    context = info.context if isinstance(info.context, dict) else {}
    base_dir = context.get(BASE_DIR_KEY)
    if base_dir is None:
        return value  # built from Python, not from a config file: as given
    return Path(os.path.normpath(Path(base_dir) / value))


class _ConfigPathMarker:
    """Marks ``ConfigPath`` in a field's annotation, so an unwritten setting's default is
    validated (resolved) too: pydantic does not validate defaults, and ``Field(
    validate_default=True)`` inside ``Annotated`` warns when used as ``list[ConfigPath]``."""


_CONFIG_PATH = _ConfigPathMarker()

ConfigPath = Annotated[
    Path, BeforeValidator(_not_empty), AfterValidator(_resolve_config_path), _CONFIG_PATH
]
"""A settings field type for a filesystem path: a relative path is resolved against the
config file's directory (``--prefix`` when given), as ``root`` and the other core directives
do, not against the working directory -- a written value and the field's default alike
(``template: ConfigPath = "page.html"``, also ``list[ConfigPath]``, ``ConfigPath | None``).
Settings built from Python (no config file) keep the path as given. An absolute path is
kept, so validating the value again changes nothing."""


def _has_config_path(annotation: Any) -> bool:
    """Whether ``annotation`` holds a ``ConfigPath`` anywhere (``list[ConfigPath] | None``)."""
    if typing.get_origin(annotation) is typing.Annotated:
        if any(m is _CONFIG_PATH for m in getattr(annotation, "__metadata__", ())):
            return True
    return any(_has_config_path(a) for a in typing.get_args(annotation))


def _field_has_config_path(field: Any) -> bool:
    # pydantic moves a field's own Annotated metadata to ``field.metadata``
    return any(m is _CONFIG_PATH for m in field.metadata) or _has_config_path(field.annotation)


def _key(name: str, field: Any) -> str:
    return field.alias if isinstance(field.alias, str) else name


def _fill_path_defaults(raw: dict[str, Any], model: Any, path: tuple[str, ...]) -> list[tuple]:
    """Put the default of each unwritten ``ConfigPath`` setting of ``model`` (nested
    settings blocks included) into ``raw``, so it is validated -- resolved against the
    config's directory -- like a written value. Returns the paths filled in."""
    filled: list[tuple] = []
    for name, field in getattr(model, "model_fields", {}).items():
        key = _key(name, field)
        sub = _unwrap(field.annotation)
        if key in raw:
            if _is_model(sub) and isinstance(raw[key], dict):
                filled += _fill_path_defaults(raw[key], sub, (*path, key))
            continue
        if not _field_has_config_path(field) and not (
            _is_model(sub) and _contains_config_path(sub)
        ):
            continue
        if field.default_factory is not None:
            default = field.default_factory()  # type: ignore[call-arg]
        elif field.is_required():
            continue
        else:
            default = field.default
        if isinstance(default, BaseModel):
            default = default.model_dump()
            filled += _fill_path_defaults(default, sub, (*path, key))
        elif _is_model(sub) and isinstance(default, dict):
            default = dict(default)
            filled += _fill_path_defaults(default, sub, (*path, key))
        if default is None:
            continue
        raw[key] = default
        filled.append((*path, key))
    return filled


def _contains_config_path(model: Any, seen: frozenset[type] = frozenset()) -> bool:
    if model in seen:
        return False
    for field in getattr(model, "model_fields", {}).values():
        sub = _unwrap(field.annotation)
        if _field_has_config_path(field):
            return True
        if _is_model(sub) and _contains_config_path(sub, seen | {model}):
            return True
    return False


def _unmark_filled(settings: BaseModel, filled: list[tuple]) -> None:
    """Defaults filled in by ``_fill_path_defaults`` stay "unset" (``model_fields_set``)."""
    for path in filled:
        owner: Any = settings
        for part in path[:-1]:
            owner = getattr(owner, _attr(owner, part), None)
        if isinstance(owner, BaseModel):
            owner.model_fields_set.discard(_attr(owner, path[-1]))


def _attr(model: BaseModel, key: str) -> str:
    for name, field in type(model).model_fields.items():
        if _key(name, field) == key:
            return name
    return key


def _unwrap(annotation: Any) -> Any:
    """``X | None`` / ``Optional[X]`` / ``Annotated[X, ...]`` -> ``X``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(options[0]) if len(options) == 1 else annotation
    return annotation


def _field_type(model: Any, name: str) -> Any:
    """The annotation of ``name`` in ``model`` (a pydantic model class), or None."""
    fields = getattr(model, "model_fields", None)
    if not isinstance(fields, dict) or name not in fields:
        return None
    return _unwrap(fields[name].annotation)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def setting_value(node: Directive, annotation: Any = None) -> Any:
    """One argument is a string (pydantic's lax mode coerces "42" to 42), several are a
    list, none is ``True`` (a flag), and a block is a nested mapping. A single argument for a
    list-typed setting is a one-element list."""
    if node.block is not None:
        sub = annotation if _is_model(annotation) else None
        return {c.name: setting_value(c, _field_type(sub, c.name)) for c in node.children}
    if not node.args:
        return True
    if len(node.args) == 1:
        if typing.get_origin(annotation) in _SEQUENCES or annotation in _SEQUENCES:
            return [node.args[0].value]
        return node.args[0].value
    return [arg.value for arg in node.args]


def _value_span(node: Directive) -> Span:
    if not node.args:
        return node.span
    first, last = node.args[0].span, node.args[-1].span
    return Span(first.file, first.line, first.col, last.end_line, last.end_col)


def _did_you_mean(name: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else None


class _SettingsBlock:
    """The settings written in one handler block, indexed by their path (``("inner",
    "depth")``) so a pydantic error location finds the directive it is about."""

    def __init__(self, handler: Directive, model: type[BaseModel]) -> None:
        self.handler = handler
        self.name = handler.args[0].value
        self.model = model
        self.nodes: dict[tuple[str, ...], Directive] = {}
        self.diagnostics: list[Diagnostic] = []
        self.defaults: set[tuple[str, ...]] = set()  # unwritten ConfigPath defaults filled in
        self.raw = self._collect(handler.children, (), model)

    def _collect(self, children: list[Directive], path: tuple[str, ...], model: Any) -> dict:
        raw: dict[str, Any] = {}
        for child in children:
            key = (*path, child.name)
            if key in self.nodes:
                self.diagnostics.append(
                    Diagnostic(
                        "error",
                        "duplicate-setting",
                        f'setting "{".".join(key)}" of handler "{self.name}" is duplicate',
                        child.name_span,
                        f"first set at {self.nodes[key].span}",
                        child.include_chain,
                    )
                )
                continue
            self.nodes[key] = child
            annotation = _field_type(model, child.name)
            if child.block is not None:
                sub = annotation if _is_model(annotation) else None
                raw[child.name] = self._collect(child.children, key, sub)
            else:
                raw[child.name] = setting_value(child, annotation)
        return raw

    def _model_at(self, path: tuple[str, ...]) -> Any:
        model: Any = self.model
        for name in path:
            model = _field_type(model, name)
            if not _is_model(model):
                return None
        return model

    def _closest(self, loc: tuple[Any, ...]) -> tuple[Directive | None, tuple[str, ...], Any]:
        """The deepest written directive on the error's path, that path, and what follows."""
        path: tuple[str, ...] = ()
        node = None
        rest: Any = None
        for i, part in enumerate(loc):
            key = (*path, str(part))
            if key not in self.nodes:
                rest = loc[i:]
                break
            path, node = key, self.nodes[key]
        return node, path, rest

    def report(self, exc: ValidationError) -> None:
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            where = ".".join(str(p) for p in loc)
            node, path, rest = self._closest(loc)
            default = next((d for d in self.defaults if loc[: len(d)] == d), None)
            if default is not None:  # never written: the plugin's default is wrong
                self._error(
                    "internal-error",
                    f'the default of setting "{".".join(default)}" of handler '
                    f'"{self.name}" is invalid: {err["msg"]}',
                    self.handler.args[0].span,
                    "this is a bug in the plugin, not in the configuration",
                    self.handler,
                )
                continue
            if err["type"] == "extra_forbidden" and node is not None and not rest:
                model = self._model_at(path[:-1])
                fields = list(getattr(model, "model_fields", {}) or {})
                hint = _did_you_mean(path[-1], fields) or (
                    "known settings: " + ", ".join(fields) if fields else "it takes no settings"
                )
                self._error("unknown-handler-setting",
                            f'unknown setting "{where}" for handler "{self.name}"',
                            node.name_span, hint, node)  # fmt: skip
            elif err["type"] == "missing" or node is None:
                parent = node if node is not None and node.block is not None else self.handler
                self._error(
                    "invalid-handler-setting",
                    f'missing setting "{where}" for handler "{self.name}"',
                    parent.span,
                    f"add `{loc[-1]} VALUE;` inside the {'block' if node else 'handler block'}",
                    parent,
                )
            else:
                span = _value_span(node)
                if rest and isinstance(rest[0], int) and 0 <= rest[0] < len(node.args):
                    span = node.args[rest[0]].span  # one item of a list
                if node.block is not None:
                    shown = "{ ... }"
                else:
                    shown = " ".join(a.value for a in node.args) if node.args else "(no value)"
                self._error(
                    "invalid-handler-setting",
                    f'invalid value "{shown}" for setting "{where}" of handler "{self.name}": '
                    f"{err['msg']}",
                    span,
                    None,
                    node,
                )

    def _error(
        self, rule: str, message: str, span: Span, hint: str | None, node: Directive
    ) -> None:
        self.diagnostics.append(Diagnostic("error", rule, message, span, hint, node.include_chain))


def validate_settings(
    handler: Directive,
    model: type[BaseModel],
    diagnostics: list[Diagnostic],
    base_dir: Path | None = None,
) -> BaseModel | None:
    """Build ``model`` from the block of ``handler``; append diagnostics and return None on
    any problem. ``base_dir``: where relative ``ConfigPath`` settings resolve."""
    block = _SettingsBlock(handler, model)
    context = settings_context(base_dir) if base_dir is not None else None
    filled = _fill_path_defaults(block.raw, model, ()) if base_dir is not None else []
    block.defaults = set(filled)
    try:
        settings = model.model_validate(block.raw, context=context)
    except ValidationError as exc:
        block.report(exc)
        settings = None
    if settings is not None:
        _unmark_filled(settings, filled)
    diagnostics.extend(block.diagnostics)
    return None if block.diagnostics else settings
