"""Validation of ``handler NAME { SETTING VALUE; ... }`` blocks against the handler's pydantic
``Settings`` model, with every pydantic error mapped back to the setting's span."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Directive, Span


def setting_value(node: Directive) -> Any:
    """One argument is a string (pydantic's lax mode coerces "42" to 42), several are a
    list, none is ``True`` (a flag), and a block is a nested mapping."""
    if node.block is not None:
        return {child.name: setting_value(child) for child in node.children}
    if not node.args:
        return True
    if len(node.args) == 1:
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


def validate_settings(
    handler: Directive, model: type[BaseModel], diagnostics: list[Diagnostic]
) -> BaseModel | None:
    """Build ``model`` from the block of ``handler``; append diagnostics and return None on
    any problem."""
    name = handler.args[0].value
    nodes: dict[str, Directive] = {}
    raw: dict[str, Any] = {}
    ok = True
    for child in handler.children:
        if child.name in nodes:
            diagnostics.append(
                Diagnostic(
                    "error",
                    "duplicate-setting",
                    f'setting "{child.name}" of handler "{name}" is duplicate',
                    child.name_span,
                    f"first set at {nodes[child.name].span}",
                    child.include_chain,
                )
            )
            ok = False
            continue
        nodes[child.name] = child
        raw[child.name] = setting_value(child)
    try:
        settings = model.model_validate(raw)
    except ValidationError as exc:
        fields = list(model.model_fields)
        for err in exc.errors():
            loc = err.get("loc", ())
            key = str(loc[0]) if loc else ""
            node = nodes.get(key)
            if err["type"] == "extra_forbidden" and node is not None:
                hint = _did_you_mean(key, fields) or (
                    "known settings: " + ", ".join(fields) if fields else "it takes no settings"
                )
                diagnostics.append(
                    Diagnostic(
                        "error",
                        "unknown-handler-setting",
                        f'unknown setting "{key}" for handler "{name}"',
                        node.name_span,
                        hint,
                        node.include_chain,
                    )
                )
            elif err["type"] == "missing" or node is None:
                where = ".".join(str(p) for p in loc)
                diagnostics.append(
                    Diagnostic(
                        "error",
                        "invalid-handler-setting",
                        f'missing setting "{where}" for handler "{name}"',
                        handler.span,
                        f"add `{where} VALUE;` inside the handler block",
                        handler.include_chain,
                    )
                )
            else:
                shown = " ".join(a.value for a in node.args) if node.args else "(flag)"
                where = ".".join(str(p) for p in loc)
                diagnostics.append(
                    Diagnostic(
                        "error",
                        "invalid-handler-setting",
                        f'invalid value "{shown}" for setting "{where}" of handler "{name}": '
                        f"{err['msg']}",
                        _value_span(node),
                        None,
                        node.include_chain,
                    )
                )
        return None
    return settings if ok else None
